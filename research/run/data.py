"""The bars of an experiment: ``data:`` section in, one frame or a dict of frames out.

:func:`load_experiment_data` reads ``data.source`` (relative paths: the working directory first,
then the spec's folder), keeps ``data.symbols``, resamples (``data.resample``) and cuts
``data.start`` / ``data.end`` (inclusive, UTC; a bare end date keeps that whole day). Bars per
year: :func:`research.spec.build.experiment_bars_per_year`.

Several symbols keep their own calendars (``dict[symbol, bars]``, nothing forward-filled): the
run's reference calendar is the union of their timestamps (:func:`data_loaders.bars.bars_index`),
its folds are cut on that union, and a symbol listed later or delisted earlier enters or leaves
where its bars start or end (the books of :mod:`research.optimize._book` never trade or earn on a
bar a symbol lacks; ``per_symbol`` searches see the symbol's own bars, see
:mod:`research.run.universe`). A symbol left without a bar by ``data.start`` / ``data.end`` is
refused, naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from data_loaders.bars import bars_index
from data_loaders.errors import ConfigError, DataTooShortError, did_you_mean

__all__ = ["load_experiment_data", "resolve_source"]


def load_experiment_data(exp: Any) -> pd.DataFrame | dict[str, pd.DataFrame]:
    """The bars of an experiment's ``data`` section (see the module docstring).

    Returns one DataFrame, or a dict of DataFrames (each on its own calendar) for several
    symbols.

    Raises:
        ConfigError: an unknown symbol. DataValidationError: bad data (from ``data_loaders``).
        DataTooShortError: nothing left after the ``start``/``end`` cut, or a symbol without a
            bar there.
    """
    from data_loaders import load_bars, resample_bars

    d = exp.data
    bars = load_bars(resolve_source(exp), tz=d.tz, adjust=d.adjust)
    if d.symbols:
        bars = _pick_symbols(bars, d.symbols, d.source, f"{exp.path or '<spec>'}: data.symbols")
    if isinstance(bars, Mapping) and len(bars) == 1:
        bars = next(iter(bars.values()))
    if d.resample:
        bars = resample_bars(bars, d.resample, key="data.resample")
    return _cut(bars, d.start, d.end, d.source)


def resolve_source(exp: Any) -> str:
    """``data.source`` as given, or beside the spec file when only found there."""
    from data_loaders.sources import list_sources

    src = exp.data.source
    schemes = {f"{s.scheme.lower()}:" for s in list_sources().values() if s.scheme}
    if src.lower().startswith(tuple(schemes)) or Path(src).exists() or exp.path is None:
        return src
    beside = Path(exp.path).parent / src
    return str(beside) if beside.exists() else src


def _pick_symbols(bars: Any, symbols: tuple[str, ...], source: str, where: str) -> Any:
    if isinstance(bars, Mapping):
        for i, sym in enumerate(symbols):
            if sym not in bars:
                raise ConfigError(
                    f"{where}[{i}]: symbol {sym!r} is not in {source}"
                    f"{did_you_mean(sym, list(bars))} (it has {sorted(bars)})"
                )
        return {s: bars[s] for s in symbols}
    have = bars.attrs.get("symbol")
    if len(symbols) > 1 or (have and symbols[0] != have):
        raise ConfigError(
            f"{where}: {source} holds one symbol ({have or 'unnamed'}), got symbols {list(symbols)}"
        )
    return bars


def _ts(text: str, end: bool) -> pd.Timestamp:
    ts = pd.Timestamp(text)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    if end and len(str(text)) <= 10:  # a bare date: the whole day is in
        ts = ts + pd.Timedelta(days=1) - pd.Timedelta(1, unit="ns")
    return ts


def _cut(bars: Any, start: str | None, end: str | None, source: str) -> Any:
    if start is None and end is None:
        return bars
    a = _ts(start, False) if start else None
    b = _ts(end, True) if end else None

    def cut(df: pd.DataFrame) -> pd.DataFrame:
        sub = df.loc[a:b]
        sub.attrs = dict(df.attrs)
        return sub

    out = {s: cut(df) for s, df in bars.items()} if isinstance(bars, Mapping) else cut(bars)
    if len(bars_index(out)) == 0:
        first, last = bars_index(bars)[0], bars_index(bars)[-1]
        raise DataTooShortError(
            f"data.start/end ({start} -> {end}) leave no bar of {source} "
            f"(it covers {first.date()} -> {last.date()})"
        )
    for sym, df in out.items() if isinstance(out, Mapping) else ():
        if df.empty:
            have = bars[sym].index
            raise DataTooShortError(
                f"data.start/end ({start} -> {end}) leave no bar of symbol {sym!r} in {source} "
                f"(it covers {have[0].date()} -> {have[-1].date()}); drop it from data.symbols "
                "or widen the dates"
            )
    return out
