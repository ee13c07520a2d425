"""A local store of online bars that is kept fresh incrementally (``research data download/update``).

A store is a folder: one Parquet file of contract bars per symbol (``load_bars(FOLDER)`` reads it
like any folder) and ``manifest.json`` recording where the bars come from (source, symbols,
timeframe, exchange, start, adjustment, overlap) and what each file holds.

Update, per symbol (:func:`update_store`):

1. Read the stored file (validated). No file yet: download from the manifest's ``start``.
2. Fetch from the ``overlap``-th last stored bar to ``end`` (default: the last complete bar),
   bypassing the download cache.
3. Check the overlap: the source must give the same bars at the stored timestamps (prices and
   volume equal to ``rtol=1e-9``). A difference is *revised history* (a late correction, or a
   dividend that re-scales adjusted prices): the symbol is reported in one line and its file
   left as it is, unless ``rewrite=True`` asks to download its whole history again.
4. Append only the bars after the last stored one, validate the whole series again
   (:func:`data_loaders.validate_bars`) and replace the file atomically (temporary file +
   ``os.replace``): a kill at any moment leaves the previous file or the new one, never a mix.

Resumable: every symbol's state is its own file, written whole; the manifest is written first,
before any download, so ``update`` after a killed ``download`` fetches what is missing.

Timestamps are those of the sources: yfinance daily bars are labelled by session date at 00:00
UTC, intraday and ccxt bars by their UTC open time. Only complete bars are stored.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_loaders.atomic import atomic_write, atomic_write_text
from data_loaders.errors import ConfigError, ParameterError, ResearchError, did_you_mean

__all__ = [
    "MANIFEST",
    "SOURCES",
    "StoreSpec",
    "SymbolUpdate",
    "UpdateReport",
    "download_store",
    "update_store",
    "read_store",
    "read_manifest",
    "is_store",
    "fetch_bars",
    "symbol_file",
]

MANIFEST = "manifest.json"
#: online sources a store can follow, with their default timeframe
SOURCES = {"yfinance": "1d", "ccxt": "1h"}
_COLUMNS = ["open", "high", "low", "close", "volume"]
_RTOL = 1e-9

Fetch = Callable[["StoreSpec", str, "pd.Timestamp | None", "pd.Timestamp | None"], pd.DataFrame]


@dataclass(frozen=True)
class StoreSpec:
    """What a store follows (the manifest's ``spec``).

    Attributes:
        source: ``"yfinance"`` or ``"ccxt"``.
        symbols: tickers (``AAPL``) or unified market symbols (``BTC/USDT``).
        timeframe: yfinance interval or ccxt timeframe (``1d``, ``1h`` ...).
        exchange: the ccxt exchange id (None for yfinance).
        start: first bar to download (ISO text; None: the source's default history).
        adjust: yfinance only: scale OHLC by the adjusted close (a dividend then revises the
            stored history; ``False`` keeps raw prices, which an incremental store prefers).
        overlap: stored bars fetched again and compared on each update (>= 1).
    """

    source: str
    symbols: tuple[str, ...]
    timeframe: str
    exchange: str | None = None
    start: str | None = None
    adjust: bool = True
    overlap: int = 3

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ParameterError(
                f"store source must be one of {', '.join(SOURCES)}, got {self.source!r}"
                f"{did_you_mean(self.source, SOURCES)}"
            )
        if self.source == "ccxt" and not self.exchange:
            raise ParameterError("a ccxt store needs an exchange (ccxt:EXCHANGE:SYMBOL)")
        if not self.symbols:
            raise ParameterError("a store needs at least one symbol")
        if int(self.overlap) < 1:
            raise ParameterError(f"`overlap` must be >= 1 bar, got {self.overlap!r}")

    @property
    def label(self) -> str:
        """``yfinance`` or ``ccxt:EXCHANGE``."""
        return self.source if self.exchange is None else f"{self.source}:{self.exchange}"


@dataclass(frozen=True)
class SymbolUpdate:
    """The outcome of one symbol's update.

    ``status``: ``created`` (first download), ``appended``, ``up-to-date``, ``revised`` (the
    overlap differs; nothing written), ``rewritten`` (revised, downloaded again on request) or
    ``failed`` (the source failed; nothing written). ``message`` is one line.
    """

    symbol: str
    file: str
    status: str
    new_bars: int
    last: str | None
    message: str


@dataclass(frozen=True)
class UpdateReport:
    """Every symbol's :class:`SymbolUpdate`; ``ok`` when none was revised or failed."""

    folder: str
    updates: tuple[SymbolUpdate, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return all(u.status not in ("revised", "failed") for u in self.updates)

    def to_dict(self) -> dict[str, Any]:
        return {"folder": self.folder, "ok": self.ok, "updates": [asdict(u) for u in self.updates]}

    def to_text(self) -> str:
        return "\n".join(u.message for u in self.updates)


def symbol_file(symbol: str) -> str:
    """File name of a symbol: ``BTC/USDT`` -> ``BTC-USDT.parquet`` (path separators and other
    characters unsafe in file names become ``-``)."""
    return re.sub(r"[^A-Za-z0-9^=._-]", "-", symbol) + ".parquet"


# ------------------------------------------------------------------------------------------
# fetching
# ------------------------------------------------------------------------------------------
def _last_complete(spec: StoreSpec) -> pd.Timestamp:
    """yfinance: end (exclusive) of the last complete bar, now floored to the bar (daily and
    coarser: midnight UTC, so today's session is not stored before it is over)."""
    from data_loaders.sources._yfinance import INTERVALS

    step = INTERVALS.get(spec.timeframe, pd.Timedelta(days=1))
    now = pd.Timestamp.now(tz="UTC")
    return now.floor("D") if step >= pd.Timedelta(days=1) else now.floor(step)


def fetch_bars(
    spec: StoreSpec, symbol: str, start: pd.Timestamp | None, end: pd.Timestamp | None
) -> pd.DataFrame:
    """Bars of ``symbol`` in ``[start, end)`` from the spec's source, never from the cache."""
    if spec.source == "yfinance":
        from data_loaders.sources._yfinance import load_yfinance

        return load_yfinance(
            symbol,
            start=start,
            end=end if end is not None else _last_complete(spec),
            interval=spec.timeframe,
            adjust=spec.adjust,
            cache=False,
        )
    from data_loaders.sources._ccxt import load_ccxt

    return load_ccxt(
        spec.exchange or "", symbol, timeframe=spec.timeframe, start=start, end=end, cache=False
    )


# ------------------------------------------------------------------------------------------
# manifest
# ------------------------------------------------------------------------------------------
def is_store(path: str | os.PathLike) -> bool:
    """True when ``path`` is a store folder (it holds a ``manifest.json``): a caller that loads
    ``path`` can then :func:`update_store` it first."""
    return (Path(path) / MANIFEST).is_file()


def read_manifest(folder: str | os.PathLike) -> tuple[StoreSpec, dict[str, Any]]:
    """``(spec, files)`` of a store; ConfigError naming the folder when it is not one."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise ConfigError(
            f"{folder}: not a data store (no {MANIFEST}); create one with "
            "`research data download SOURCE --to FOLDER`"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        raw = dict(data["spec"])
        raw["symbols"] = tuple(raw["symbols"])
        spec = StoreSpec(**raw)
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{path}: unreadable store manifest ({type(exc).__name__}: {exc})"
        ) from None
    return spec, dict(data.get("files") or {})


def _write_manifest(folder: Path, spec: StoreSpec, files: dict[str, Any]) -> None:
    data = {"version": 1, "spec": {**asdict(spec), "symbols": list(spec.symbols)}, "files": files}
    atomic_write_text(folder / MANIFEST, json.dumps(data, indent=2) + "\n")


# ------------------------------------------------------------------------------------------
# one symbol
# ------------------------------------------------------------------------------------------
def _write_bars(path: Path, bars: pd.DataFrame) -> None:
    atomic_write(path, lambda tmp: bars.to_parquet(tmp))


def _first_difference(stored: pd.DataFrame, fetched: pd.DataFrame) -> tuple[str, int] | None:
    """One line naming the first overlap bar that differs, and how many differ; None if equal."""
    missing = stored.index.difference(fetched.index)
    if len(missing):
        return f"the source no longer has the stored bar at {missing[0]}", len(missing)
    a = stored[_COLUMNS].to_numpy(np.float64)
    b = fetched.loc[stored.index, _COLUMNS].to_numpy(np.float64)
    bad = ~np.isclose(a, b, rtol=_RTOL, atol=0.0)
    if not bad.any():
        return None
    row, col = np.argwhere(bad)[0]
    return (
        f"stored {_COLUMNS[col]} at {stored.index[row]} is {a[row, col]!r}, the source now gives "
        f"{b[row, col]!r}",
        int(bad.any(axis=1).sum()),
    )


def _update_symbol(
    folder: Path,
    spec: StoreSpec,
    symbol: str,
    end: pd.Timestamp | None,
    rewrite: bool,
    fetch: Fetch,
) -> SymbolUpdate:
    from data_loaders.sources._online import OnlineSourceError
    from data_loaders.sources._parquet import load_parquet
    from data_loaders.validation import validate_bars

    name = symbol_file(symbol)
    path = folder / name

    def outcome(status: str, n: int, last: Any, text: str) -> SymbolUpdate:
        last_s = None if last is None else str(last)
        return SymbolUpdate(symbol, name, status, n, last_s, f"{path}: {status}: {text}")

    try:
        if not path.exists():
            bars = fetch(spec, symbol, _ts(spec.start), end)
            _write_bars(path, bars)
            return outcome(
                "created", len(bars), bars.index[-1], f"{len(bars)} bars to {bars.index[-1]}"
            )
        stored = load_parquet(path, adjust=False, symbol=symbol)
        tail = stored.iloc[-min(int(spec.overlap), len(stored)) :]
        last = stored.index[-1]
        if end is not None and tail.index[0] >= end:
            return outcome("up-to-date", 0, last, f"last bar {last}, nothing before end {end}")
        fetched = fetch(spec, symbol, tail.index[0], end)
        diff = _first_difference(tail, fetched)
        if diff is not None:
            text, n_bad = diff
            if not rewrite:
                return outcome(
                    "revised",
                    0,
                    last,
                    f"revised history: {text} ({n_bad} of {len(tail)} overlap bars differ); "
                    "nothing written (run `research data update --rewrite` to download it again)",
                )
            bars = fetch(spec, symbol, _ts(spec.start), end)
            _write_bars(path, bars)
            return outcome(
                "rewritten", len(bars), bars.index[-1], f"{text}; {len(bars)} bars downloaded again"
            )
        new = fetched.loc[fetched.index > last]
        if new.empty:
            return outcome("up-to-date", 0, last, f"last bar {last}")
        combined = pd.concat([stored, new[stored.columns]])
        combined = validate_bars(
            combined, source=f"{path} + {spec.label}:{symbol}", adjust=False, symbol=symbol
        )
        _write_bars(path, combined)
        return outcome(
            "appended", len(new), combined.index[-1], f"{len(new)} new bars to {combined.index[-1]}"
        )
    except OnlineSourceError as exc:
        return outcome("failed", 0, None, f"{exc}; nothing written")


def _ts(text: str | None) -> pd.Timestamp | None:
    if text is None:
        return None
    ts = pd.Timestamp(text)
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


# ------------------------------------------------------------------------------------------
# the store
# ------------------------------------------------------------------------------------------
def update_store(
    folder: str | os.PathLike,
    *,
    end: Any = None,
    rewrite: bool = False,
    symbols: Sequence[str] | None = None,
    fetch: Fetch | None = None,
) -> UpdateReport:
    """Bring every symbol of the store at ``folder`` up to ``end`` (see the module docstring).

    Args:
        folder: a store made by :func:`download_store`.
        end: exclusive end of the bars to add (date-like); None: the last complete bar.
        rewrite: download a symbol's whole history again when its overlap was revised.
        symbols: update only these (default: all of the manifest).
        fetch: ``fetch(spec, symbol, start, end) -> bars``; default :func:`fetch_bars`.

    Returns:
        :class:`UpdateReport` (one :class:`SymbolUpdate` per symbol, in manifest order). A
        revised or failed symbol does not stop the others.

    Raises:
        ConfigError: ``folder`` has no readable manifest, or ``symbols`` names an unknown one.
        DataValidationError: a stored file is invalid, or new bars break the bars contract
            (the file is left as it was).
    """
    folder = Path(folder)
    spec, files = read_manifest(folder)
    chosen = list(spec.symbols if symbols is None else symbols)
    for sym in chosen:
        if sym not in spec.symbols:
            raise ConfigError(
                f"{folder}: symbol {sym!r} is not in the store{did_you_mean(sym, spec.symbols)}"
            )
    end_ts = _ts(None if end is None else str(pd.Timestamp(end)))
    updates = []
    for sym in chosen:
        result = _update_symbol(folder, spec, sym, end_ts, rewrite, fetch or fetch_bars)
        updates.append(result)
        if result.status not in ("revised", "failed"):
            files[sym] = {"file": result.file, "last": result.last}
            _write_manifest(folder, spec, files)
    return UpdateReport(str(folder), tuple(updates))


def download_store(
    spec: StoreSpec, folder: str | os.PathLike, *, end: Any = None, fetch: Fetch | None = None
) -> UpdateReport:
    """Create (or resume) the store ``folder`` for ``spec`` and download every symbol.

    The manifest is written before any download. A folder that already holds a store of the
    same spec is resumed (missing symbols downloaded, others updated); a different spec is
    refused (ConfigError), so two sources never mix in one folder.
    """
    folder = Path(folder)
    if (folder / MANIFEST).exists():
        old, _ = read_manifest(folder)
        if old != spec:
            raise ConfigError(
                f"{folder}: holds a store of {old.label} {','.join(old.symbols)} "
                f"({old.timeframe}); choose another folder or `research data update {folder}`"
            )
    elif folder.exists() and any(folder.glob("*.parquet")):
        raise ConfigError(f"{folder}: has Parquet files but no {MANIFEST}; choose an empty folder")
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / MANIFEST).exists():
        _write_manifest(folder, spec, {})
    return update_store(folder, end=end, fetch=fetch)


def read_store(folder: str | os.PathLike) -> dict[str, pd.DataFrame]:
    """The stored bars by symbol (the manifest's spelling, e.g. ``BTC/USDT``), validated.

    Raises:
        ResearchError: a symbol of the manifest has no file yet (run ``update``).
    """
    from data_loaders.sources._parquet import load_parquet

    folder = Path(folder)
    spec, _ = read_manifest(folder)
    out = {}
    for sym in spec.symbols:
        path = folder / symbol_file(sym)
        if not path.exists():
            raise ResearchError(
                f"{path}: {sym} not downloaded yet; run `research data update {folder}`"
            )
        out[sym] = load_parquet(path, adjust=False, symbol=sym)
    return out
