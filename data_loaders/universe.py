"""Universes: several symbols, each on its own calendar, aligned on the union of timestamps.

A universe is a ``dict[symbol, bars]`` (the bars contract of :mod:`data_loaders.validation`),
each frame on its own calendar. :func:`align_universe` aligns them on the **union** of their
timestamps and records an availability mask: ``available[t, j]`` is True where symbol ``j`` has
a bar at union timestamp ``t``. Field panels hold ``NaN`` where a symbol has no bar; nothing is
forward-filled, so a consumer can never trade or earn a return on a bar a symbol lacks. A symbol
listed later or delisted earlier simply has ``NaN`` before its first or after its last bar
(:attr:`Universe.first_bar`, :attr:`Universe.last_bar`). A window of a universe
(:func:`data_loaders.bars.slice_bars`) may hold a symbol without any bar in it (an empty frame):
its column is never available and its life is empty (``first_bar = n``, ``last_bar = -1``).

**Close-only data.** Sources that give closes only (such as the ``sp500_20`` sample) are bars
with ``open = high = low = close``, ``volume = 0`` and ``attrs["close_only"] = True`` (see
:func:`close_only_bars`). Their opens are not real prices: :func:`require_fields` refuses, in one
line, a consumer that needs opens, highs, lows or volumes on such data, and the portfolio
engine then fills at the close or the next close instead of the next open.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data_loaders.errors import DataValidationError, did_you_mean

__all__ = [
    "FIELDS",
    "Universe",
    "align_universe",
    "close_only_bars",
    "is_close_only",
    "require_fields",
]

#: bar fields a universe carries as ``(n_bars, n_symbols)`` panels
FIELDS: tuple[str, ...] = ("open", "high", "low", "close", "volume")


def is_close_only(bars: pd.DataFrame) -> bool:
    """True when ``bars`` carry closes only (``attrs["close_only"]``; opens are not prices)."""
    return bool(bars.attrs.get("close_only", False))


def close_only_bars(close: pd.Series, *, symbol: str, source: str) -> pd.DataFrame:
    """Contract bars from a close series: ``open = high = low = close``, ``volume = 0``.

    ``attrs["close_only"]`` is set so that :func:`require_fields` refuses a consumer that reads
    opens, highs, lows or volumes. Missing closes (NaN) are dropped: the symbol has no bar there.

    Raises:
        DataValidationError: a close is not finite and > 0, or the index is not a strictly
            increasing tz-aware DatetimeIndex.
    """
    close = close.dropna().astype("float64")
    where = f"{source}: symbol {symbol!r}"
    _check_index(close.index, where)
    bad = np.flatnonzero(~(np.isfinite(close.to_numpy()) & (close.to_numpy() > 0)))
    if len(bad):
        raise DataValidationError(
            f"{where}: close {float(close.iloc[bad[0]])!r} at {close.index[bad[0]]} "
            "(rule: prices must be finite and > 0)"
        )
    values = close.to_numpy()
    frame = pd.DataFrame(
        {"open": values, "high": values, "low": values, "close": values, "volume": 0.0},
        index=close.index.rename("time"),
    )
    frame.attrs.update(
        source=source, symbol=symbol, adjusted=True, close_only=True, repairs=(), frequency=None
    )
    return frame


def _check_index(index: pd.Index, where: str) -> None:
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise DataValidationError(
            f"{where}: index must be a tz-aware DatetimeIndex (rule: bars contract), "
            f"got {type(index).__name__}"
        )
    if len(index) > 1 and not (index[1:] > index[:-1]).all():
        pos = int(np.flatnonzero(~(index[1:] > index[:-1]))[0]) + 1
        raise DataValidationError(
            f"{where}: timestamp {index[pos]} at row {pos + 1} does not follow {index[pos - 1]} "
            "(rule: strictly increasing, no duplicates)"
        )


@dataclass(frozen=True, eq=False)
class Universe:
    """Symbols aligned on the union of their timestamps.

    Attributes:
        index: union of every symbol's timestamps (UTC, strictly increasing), length ``n``.
        symbols: symbol names in column order, length ``m``.
        panels: field -> float64 array ``(n, m)``, ``NaN`` where the symbol has no bar.
        available: bool ``(n, m)``, True where the symbol has a bar at that timestamp.
        close_only: bool ``(m,)``, True for symbols whose data carry closes only.
        source: where the bars came from (for messages).
    """

    index: pd.DatetimeIndex
    symbols: tuple[str, ...]
    panels: Mapping[str, np.ndarray]
    available: np.ndarray
    close_only: np.ndarray
    source: str = "universe"

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_bars, n_symbols)`` of the union calendar."""
        return self.available.shape

    @property
    def any_close_only(self) -> bool:
        return bool(self.close_only.any())

    @property
    def first_bar(self) -> np.ndarray:
        """Per symbol, the union position of its first bar (int64 ``(m,)``; ``n`` for a
        symbol without a bar)."""
        n = self.available.shape[0]
        first = np.argmax(self.available, axis=0)
        return np.where(self.available.any(axis=0), first, n).astype(np.int64)

    @property
    def last_bar(self) -> np.ndarray:
        """Per symbol, the union position of its last bar (int64 ``(m,)``; ``-1`` for a symbol
        without a bar)."""
        n = self.available.shape[0]
        last = n - 1 - np.argmax(self.available[::-1], axis=0)
        return np.where(self.available.any(axis=0), last, -1).astype(np.int64)

    def frame(self, field: str = "close") -> pd.DataFrame:
        """One field as a DataFrame (union index x symbols), ``NaN`` where a symbol has no bar."""
        if field not in self.panels:
            raise DataValidationError(
                f"{self.source}: unknown field {field!r}{did_you_mean(field, self.panels)}"
            )
        return pd.DataFrame(self.panels[field], index=self.index, columns=list(self.symbols))

    def bars(self, symbol: str) -> pd.DataFrame:
        """The symbol's bars on its own calendar (the rows where it is available)."""
        if symbol not in self.symbols:
            raise DataValidationError(
                f"{self.source}: unknown symbol {symbol!r}{did_you_mean(symbol, self.symbols)}"
            )
        j = self.symbols.index(symbol)
        rows = self.available[:, j]
        data = {f: self.panels[f][rows, j] for f in self.panels}
        frame = pd.DataFrame(data, index=self.index[rows])
        frame.attrs.update(symbol=symbol, source=self.source, close_only=bool(self.close_only[j]))
        return frame

    def to_dict(self) -> dict[str, pd.DataFrame]:
        """Back to ``dict[symbol, bars]``, each on its own calendar."""
        return {s: self.bars(s) for s in self.symbols}

    def take(self, rows: slice | np.ndarray) -> Universe:
        """The universe restricted to some union rows (a slice or positions), e.g. a fold."""
        return Universe(
            index=self.index[rows],
            symbols=self.symbols,
            panels={f: p[rows] for f, p in self.panels.items()},
            available=self.available[rows],
            close_only=self.close_only,
            source=self.source,
        )


def align_universe(
    bars: Mapping[str, pd.DataFrame] | Universe,
    *,
    fields: Iterable[str] = FIELDS,
    source: str = "universe",
) -> Universe:
    """Align ``dict[symbol, bars]`` on the union of their timestamps (see module docstring).

    Args:
        bars: symbol -> contract bars, each on its own calendar (a :class:`Universe` is
            returned as is).
        fields: the columns to carry as panels (``close`` is always carried).
        source: a label for messages.

    Raises:
        DataValidationError: an empty universe, a frame without a tz-aware increasing index, a
            missing column, or no bar at all (one symbol without bars is an empty column, see
            the module docstring; every symbol without one is refused).
    """
    if isinstance(bars, Universe):
        return bars
    if not isinstance(bars, Mapping) or not bars:
        raise DataValidationError(
            f"{source}: a universe is a non-empty dict of symbol -> bars, got {type(bars).__name__}"
        )
    fields = tuple(dict.fromkeys(("close", *fields)))
    symbols = tuple(str(s) for s in bars)
    frames = list(bars.values())
    for sym, frame in zip(symbols, frames, strict=True):
        where = f"{source}: symbol {sym!r}"
        if not isinstance(frame, pd.DataFrame):
            raise DataValidationError(
                f"{where}: bars must be a DataFrame, got {type(frame).__name__}"
            )
        _check_index(frame.index, where)
        missing = [f for f in fields if f not in frame.columns]
        if missing:
            raise DataValidationError(
                f"{where}: missing column(s) {missing} (rule: bars need {', '.join(fields)})"
            )
    if all(frame.empty for frame in frames):
        raise DataValidationError(f"{source}: no bars (rule: a universe needs bars)")
    index = frames[0].index
    for frame in frames[1:]:
        if not frame.index.equals(index):
            index = index.union(frame.index)
    index = pd.DatetimeIndex(index).tz_convert("UTC")
    n, m = len(index), len(symbols)
    panels = {f: np.full((n, m), np.nan) for f in fields}
    available = np.zeros((n, m), dtype=bool)
    for j, frame in enumerate(frames):
        rows = index.get_indexer(frame.index.tz_convert("UTC"))
        available[rows, j] = True
        for f in fields:
            panels[f][rows, j] = frame[f].to_numpy(dtype=np.float64)
    close_only = np.array([is_close_only(f) for f in frames], dtype=bool)
    return Universe(index.rename("time"), symbols, panels, available, close_only, source)


def require_fields(universe: Universe, fields: Iterable[str], *, who: str) -> None:
    """Refuse, in one line, a consumer that reads non-close fields of close-only symbols.

    Raises:
        DataValidationError: naming the consumer (``who``), the field and the close-only symbols.
    """
    needs = [f for f in fields if f != "close"]
    if not needs or not universe.any_close_only:
        return
    syms = [s for s, c in zip(universe.symbols, universe.close_only, strict=True) if c]
    shown = ", ".join(syms[:5]) + (f" and {len(syms) - 5} more" if len(syms) > 5 else "")
    raise DataValidationError(
        f"{who} reads {needs[0]!r} but {universe.source} is close-only for {shown} "
        "(rule: close-only data has no opens, highs, lows or volumes); use a close-only "
        "strategy and fill='close' or 'next_close'"
    )
