"""Trading sessions: orders only within given hours, optionally flat at each session's end.

:func:`session_positions` rewrites a strategy's targets from the bar timestamps alone (the
clock, not the data), so it is causal and both engine paths apply it unchanged. With bars of
length ``bar`` labelled by their open time, a bar ``t`` is *in session* when its local time
(``tz``) lies in ``[start, end)`` (a session may wrap midnight: ``start > end``). The target
decided at bar ``t`` fills at bar ``t + bar`` (``execution="next-open"``) or at ``t``'s close
(``"close"``); call that the fill bar. Then:

* a decision whose fill bar is outside the session is replaced by the target in force (no order
  outside the session);
* with ``flat_at_end=True``, the decision whose fill bar is the session's last (the next bar is
  out of session) is 0: with next-open fills the position is closed at the open of the last bar
  of the session, with fills at the close at its close; it stays flat until the next session.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from backtest.engine import EXECUTIONS, check_choice
from data_loaders.errors import ParameterError

__all__ = ["session_positions", "in_session"]


def _time(name: str, value: str) -> dt.time:
    try:
        return dt.time.fromisoformat(value)
    except (TypeError, ValueError):
        raise ParameterError(f"`{name}` must be a time 'HH:MM', got {value!r}") from None


def in_session(times: pd.DatetimeIndex, start: str, end: str, tz: str = "UTC") -> np.ndarray:
    """Boolean mask: local time of ``times`` (in ``tz``) within ``[start, end)``."""
    a, b = _time("start", start), _time("end", end)
    try:
        local = times.tz_convert(tz)
    except Exception:
        raise ParameterError(f"`tz` must be a time zone name, got {tz!r}") from None
    minutes = local.hour * 60 + local.minute + local.second / 60
    lo, hi = a.hour * 60 + a.minute + a.second / 60, b.hour * 60 + b.minute + b.second / 60
    if lo == hi:
        raise ParameterError(f"a session needs start != end, got {start!r} and {end!r}")
    mask = (minutes >= lo) & (minutes < hi) if lo < hi else (minutes >= lo) | (minutes < hi)
    return np.asarray(mask)


def session_positions(
    positions: pd.Series,
    *,
    start: str,
    end: str,
    bar: str,
    tz: str = "UTC",
    flat_at_end: bool = False,
    execution: str = "next-open",
) -> pd.Series:
    """``positions`` restricted to the session (see the module docstring)."""
    check_choice("execution", execution, EXECUTIONS)
    if not isinstance(positions, pd.Series) or not isinstance(positions.index, pd.DatetimeIndex):
        raise ParameterError("`positions` must be a Series with a DatetimeIndex")
    try:
        step = pd.Timedelta(bar)
    except (TypeError, ValueError):
        raise ParameterError(f"`bar` must be a bar length like '1h', got {bar!r}") from None
    if step <= pd.Timedelta(0):
        raise ParameterError(f"`bar` must be positive, got {bar!r}")
    fill = positions.index + step if execution == "next-open" else positions.index
    fill_in = in_session(fill, start, end, tz)
    last = fill_in & ~in_session(fill + step, start, end, tz)
    values = positions.to_numpy(np.float64).copy()
    if flat_at_end:
        values[last] = 0.0
    out = pd.Series(np.where(fill_in, values, np.nan), index=positions.index, name=positions.name)
    return out.ffill().fillna(0.0)
