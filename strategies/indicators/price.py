"""Price transforms: typical and median price, rolling z-score of the close (numba)."""

from __future__ import annotations

import pandas as pd

from strategies.indicators import fast
from strategies.indicators.base import Registrar

__all__ = ["INDICATORS"]

_reg = Registrar("price")
INDICATORS = _reg.indicators


@_reg(warmup=lambda: 0)
def typical_price(high: pd.Series, low: pd.Series, close: pd.Series) -> pd.Series:
    """Typical price ``(high + low + close) / 3``."""
    return (high + low + close) / 3.0


@_reg(warmup=lambda: 0)
def median_price(high: pd.Series, low: pd.Series) -> pd.Series:
    """Median price ``(high + low) / 2``."""
    return (high + low) / 2.0


@_reg(grid={"window": [10, 20, 50, 100]}, warmup=lambda window: window - 1, scale_free=True)
def zscore(close: pd.Series, window: int = 20) -> pd.Series:
    """Rolling z-score of the close over ``window`` bars including bar t (sample std)."""
    return fast.rolling_zscore(close, window, ddof=1)
