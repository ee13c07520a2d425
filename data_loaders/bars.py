"""The bars contract in one place: one frame or a dict of frames, and the helpers every layer uses.

*Bars* are what every loader hands out (see :mod:`data_loaders.validation` for the full
contract): a DataFrame with a tz-aware UTC ``DatetimeIndex`` and float64 ``open high low close
volume`` columns, or a ``dict[symbol, DataFrame]`` for several symbols, each frame on its own
calendar (a symbol listed later or delisted earlier simply has fewer bars; nothing is
forward-filled). The reference calendar of a dict is the **union** of its frames' timestamps
(:func:`data_loaders.universe.align_universe` adds the per-symbol availability mask).

* :func:`check_bars`: the cheap structural check of bars already valid (no value scan).
* :func:`bars_index` / :func:`first_frame`: the reference index / the first frame.
* :func:`slice_bars`: rows ``[start, stop)`` by position on the reference index; every frame of
  a dict keeps its own bars between those two timestamps (possibly none).
* :func:`bars_per_year`: the one annualisation rule of the project (``research run``,
  ``research backtest``, nightly), described in its docstring.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from data_loaders._columns import BAR_COLUMNS
from data_loaders.errors import DataValidationError

__all__ = [
    "Bars",
    "check_bars",
    "bars_index",
    "first_frame",
    "slice_bars",
    "is_multi",
    "bars_per_year",
]

#: one symbol's bars, or several symbols' bars keyed by symbol
Bars = pd.DataFrame | dict[str, pd.DataFrame]

#: bars-per-year values that a measured rate snaps to (within :data:`SNAP_TOLERANCE`)
SNAPS = (252.0, 365.0, 52.0, 12.0)
SNAP_TOLERANCE = 0.05


def is_multi(bars: Any) -> bool:
    """True for several symbols (a mapping of frames)."""
    return isinstance(bars, Mapping)


def first_frame(bars: Any) -> pd.DataFrame:
    """The frame itself, or the first frame of a dict (the reference calendar)."""
    return next(iter(bars.values())) if isinstance(bars, Mapping) else bars


def bars_index(bars: Any) -> pd.DatetimeIndex:
    """The reference index: the frame's, or the union of a dict's frames' indexes (the first
    frame's index itself when every frame shares it)."""
    if not isinstance(bars, Mapping):
        return bars.index
    frames = list(bars.values())
    index = frames[0].index
    for df in frames[1:]:
        if not df.index.equals(index):
            index = index.union(df.index)
    return index


def slice_bars(bars: Any, start: int | None, stop: int | None) -> Any:
    """Rows ``[start, stop)`` by position (``iloc``) on the reference index (:func:`bars_index`).

    A dict on one calendar has every frame cut alike; on several calendars each frame keeps its
    own bars from the timestamp of reference row ``start`` through that of row ``stop - 1``
    (an empty frame for a symbol without a bar there).
    """
    if not isinstance(bars, Mapping):
        return bars.iloc[start:stop]
    index = bars_index(bars)
    if all(df.index is index or df.index.equals(index) for df in bars.values()):
        return {s: df.iloc[start:stop] for s, df in bars.items()}
    span = index[start:stop]
    if len(span) == 0:
        return {s: df.iloc[0:0] for s, df in bars.items()}
    a, b = span[0], span[-1]
    return {
        s: df.iloc[df.index.searchsorted(a, "left") : df.index.searchsorted(b, "right")]
        for s, df in bars.items()
    }


def bars_per_year(index: pd.DatetimeIndex, default: float = 252.0) -> float:
    """Bars per year measured on ``index``: the bars observed per 365.25 days of its span.

    ``(n - 1) / years`` snaps to 252 (trading days), 365 (calendar days), 52 (weeks) or 12
    (months) when within 5 % of it, else it is rounded to a whole number (e.g. 8766 for hourly
    bars around the clock). Fewer than two bars, or a span of zero: ``default``.

    This is the rule of ``research run`` (its leaderboards depend on it) and, since 2026-12, of
    ``research backtest`` as well, so both annualise the same data alike. It was preferred to
    the median-spacing rule that ``research backtest`` used because it measures the density the
    data really has (holidays, sessions, 24/7 markets) rather than guessing it from the spacing
    and weekdays; it is also what every metric's ``periods_per_year`` means (bars per year).
    """
    if len(index) < 2:
        return float(default)
    years = (index[-1] - index[0]) / pd.Timedelta(days=365.25)
    if years <= 0:
        return float(default)
    est = (len(index) - 1) / years
    for snap in SNAPS:
        if abs(est - snap) <= SNAP_TOLERANCE * snap:
            return snap
    return float(round(est))


def check_bars(bars: Any, name: str = "bars") -> pd.DataFrame:
    """Cheap structural check that ``bars`` already follows the contract (no value scan)."""
    if not isinstance(bars, pd.DataFrame):
        raise DataValidationError(f"`{name}` must be a bars DataFrame, got {type(bars).__name__}")
    if not isinstance(bars.index, pd.DatetimeIndex) or bars.index.tz is None:
        raise DataValidationError(
            f"`{name}` must have a tz-aware DatetimeIndex (load it with data_loaders.load_bars or validate_bars)"
        )
    missing = [c for c in BAR_COLUMNS if c not in bars.columns]
    if missing:
        raise DataValidationError(
            f"`{name}`: missing columns {missing} (rule: bars need {list(BAR_COLUMNS)})"
        )
    return bars
