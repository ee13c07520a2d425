"""Return indicators (``ta.others``): one-bar simple and log returns in percent, cumulative return."""

from __future__ import annotations

import pandas as pd
import ta

from strategies.indicators.base import Registrar

__all__ = ["INDICATORS"]

_reg = Registrar("others")
INDICATORS = _reg.indicators


@_reg(warmup=lambda: 1, scale_free=True)
def daily_return(close: pd.Series) -> pd.Series:
    """One-bar simple return in percent, ``100 * (c[t] / c[t-1] - 1)``."""
    return ta.others.DailyReturnIndicator(close, fillna=False).daily_return()


@_reg(warmup=lambda: 1, scale_free=True)
def daily_log_return(close: pd.Series) -> pd.Series:
    """One-bar log return in percent, ``100 * ln(c[t] / c[t-1])``."""
    return ta.others.DailyLogReturnIndicator(close, fillna=False).daily_log_return()


@_reg(warmup=lambda: 0, scale_free=True)
def cumulative_return(close: pd.Series) -> pd.Series:
    """Return since the first bar of the data, in percent (depends on where the data starts)."""
    return ta.others.CumulativeReturnIndicator(close, fillna=False).cumulative_return()
