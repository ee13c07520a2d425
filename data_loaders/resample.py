"""Resample bars to a coarser frequency: first open, max high, min low, last close, summed volume.

Conventions
-----------
* Bins are closed on the left and **labelled by their start** (the bar convention everywhere in
  this project: a bar's timestamp is its open time). Fixed-length rules (``5min``, ``1h``,
  ``4h``, ``1D``, ``2D``) are aligned on the Unix epoch in UTC (a ``1D`` bar is a UTC day;
  ``4h`` bars start at 00:00, 04:00 ...). Calendar rules ``W`` (``W-SUN``: Monday-Sunday weeks,
  labelled Monday), ``W-FRI`` (Saturday-Friday), ``ME``/``MS`` (months), ``QE``/``QS`` and
  ``YE``/``YS`` are labelled by the first instant of the period.
* Bins without any source bar (weekends, holidays) produce no row.
* **Partial bins.** The source's calendar (``data_loaders._calendar``: frequency and expected
  weekly slots inferred from the data) tells whether a bin is complete: the last bin is partial
  when a source bar is still expected after the last one and before the bin's end (e.g. 1-minute
  bars ending at 10:58 for the 10:00 hourly bin), the first bin when one was expected between the
  bin's start and the first bar. Partial bins are dropped unless ``keep_partial=True``. Daily
  stock bars ending on a Friday make a complete week, because Saturday and Sunday are not
  expected slots.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.tseries import offsets

from data_loaders._calendar import frequency_string, infer_calendar, infer_frequency
from data_loaders._dates import read_offset
from data_loaders._kernels import aggregate_ohlcv
from data_loaders.bars import check_bars
from data_loaders.errors import ParameterError

__all__ = ["resample_bars", "check_resample_rule"]

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
_DAY_NS = 86_400 * 1_000_000_000


def check_resample_rule(rule: str, *, key: str = "rule") -> str:
    """Return ``rule`` if :func:`resample_bars` accepts it; else raise ``ParameterError``.

    ``key`` is how the rule is called in the message (``data.resample`` for a spec key).
    """
    _bins(pd.DatetimeIndex([pd.Timestamp(0, tz="UTC")]), rule, key=key)
    return rule


def _bins(
    index: pd.DatetimeIndex, rule: str, *, key: str = "rule"
) -> tuple[np.ndarray, np.ndarray, str, int]:
    """Per-bar bin start and end (int64 ns) for ``rule``; plus its name and minimum bin length."""
    off = read_offset(rule, key=key)
    ns = index.as_unit("ns").asi8
    if isinstance(off, offsets.Tick | offsets.Day):
        step = int(pd.Timedelta(off).value)
        if step <= 0:
            raise ParameterError(f"`{key}` must be a positive length, got {rule!r}")
        start = (ns // step) * step
        return start, start + step, frequency_string(pd.Timedelta(step, unit="ns")), step
    if off.n != 1:
        raise ParameterError(
            f"`{key}`: calendar rules take n = 1 (use 'W', 'ME', 'QE', 'YE'), got {rule!r}"
        )
    if isinstance(off, offsets.Week):
        weekday = 6 if off.weekday is None else off.weekday
        period, name, min_len = f"W-{_DAYS[weekday]}", f"1W-{_DAYS[weekday]}", 7 * _DAY_NS
    elif isinstance(off, offsets.MonthEnd | offsets.MonthBegin):
        period, name, min_len = "M", "1MS", 28 * _DAY_NS
    elif isinstance(off, offsets.QuarterEnd | offsets.QuarterBegin):
        month = (
            off.startingMonth
            if isinstance(off, offsets.QuarterEnd)
            else (off.startingMonth - 2) % 12 + 1
        )
        period, name, min_len = f"Q-{_MONTHS[(month - 1) % 12]}", "1QS", 89 * _DAY_NS
    elif isinstance(off, offsets.YearEnd | offsets.YearBegin):
        month = off.month if isinstance(off, offsets.YearEnd) else (off.month - 2) % 12 + 1
        period, name, min_len = f"Y-{_MONTHS[month - 1]}", "1YS", 365 * _DAY_NS
    else:
        raise ParameterError(
            f"`{key}`: {rule!r} is not supported; use a fixed length ('5min', '1h', '1D') or "
            "'W', 'W-FRI', 'ME', 'QE', 'YE'"
        )
    periods = index.tz_convert(None).to_period(period)
    start = periods.start_time.as_unit("ns").asi8
    end = (periods + 1).start_time.as_unit("ns").asi8
    return start, end, name, min_len


def resample_bars(
    bars: pd.DataFrame | dict[str, pd.DataFrame],
    rule: str,
    keep_partial: bool = False,
    *,
    key: str = "rule",
) -> pd.DataFrame | dict[str, pd.DataFrame]:
    """Aggregate bars into coarser bars.

    Parameters
    ----------
    bars : DataFrame or dict[str, DataFrame]
        Contract bars (a dict is resampled symbol by symbol).
    rule : str
        Target frequency: a fixed length (``"5min"``, ``"1h"``, ``"1D"``) or a calendar period
        (``"W"``, ``"ME"``, ``"QE"``, ``"YE"``); see the module docstring for alignment.
    keep_partial : bool
        Keep a first/last bin that the source does not fill completely (default: drop it).
    key : str
        How ``rule`` is named in error messages (``data.resample`` when it comes from a spec).

    Returns
    -------
    DataFrame (or dict)
        Contract bars, one row per non-empty bin, labelled by bin start;
        ``attrs["frequency"]`` is the target frequency, other attrs are kept.

    Raises
    ------
    ParameterError
        Unknown rule, or a rule finer than the source frequency.
    """
    if isinstance(bars, dict):
        return {sym: resample_bars(df, rule, keep_partial, key=key) for sym, df in bars.items()}
    check_bars(bars)
    index = bars.index
    step = infer_frequency(index)
    start, end, name, min_len = _bins(index, rule, key=key)
    if step is not None and min_len < step.value:
        raise ParameterError(
            f"`{key}` {rule!r} is finer than the source frequency {frequency_string(step)}; "
            "resampling only aggregates into coarser bars"
        )
    empty = bars.iloc[:0].copy()
    if len(bars) == 0:
        return empty
    first = np.flatnonzero(np.r_[True, start[1:] != start[:-1]])
    cols = [bars[c].to_numpy(dtype=np.float64) for c in ("open", "high", "low", "close", "volume")]
    o, h, lo, c, v = aggregate_ohlcv(first, *cols)
    labels, bin_end = start[first], end[first]
    keep = np.ones(len(first), dtype=bool)
    if not keep_partial:
        keep &= ~_partial_edges(index, labels, bin_end, step)
    out = pd.DataFrame(
        {"open": o[keep], "high": h[keep], "low": lo[keep], "close": c[keep], "volume": v[keep]},
        index=pd.DatetimeIndex(labels[keep].astype("datetime64[ns]"), name="time").tz_localize(
            "UTC"
        ),
    )
    out.attrs = {**bars.attrs, "frequency": name}
    return out


def _partial_edges(
    index: pd.DatetimeIndex, labels: np.ndarray, bin_end: np.ndarray, step: pd.Timedelta | None
) -> np.ndarray:
    """Boolean per bin: True for a first or last bin the source does not fill."""
    partial = np.zeros(len(labels), dtype=bool)
    if step is None:  # a single bar: completeness cannot be told, treat it as partial
        partial[:] = True
        return partial
    ns = index.as_unit("ns").asi8
    calendar = infer_calendar(index, step)
    first_ts, last_ts = int(ns[0]), int(ns[-1])
    if calendar is not None:
        partial[0] |= calendar.expects_between(int(labels[0]) - 1, first_ts)
        partial[-1] |= calendar.expects_between(last_ts, int(bin_end[-1]))
    else:
        partial[0] |= first_ts - step.value >= labels[0]
        partial[-1] |= last_ts + step.value < bin_end[-1]
    return partial
