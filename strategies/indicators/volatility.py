"""Volatility indicators: numba ATR, Bollinger, Donchian, return volatility; ``ta`` for the rest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import ta

from strategies.indicators import fast
from strategies.indicators.base import Registrar, ta_outputs

__all__ = ["INDICATORS"]

_reg = Registrar("volatility")
INDICATORS = _reg.indicators


@_reg(grid={"window": [7, 14, 28]}, warmup=lambda window: window - 1)
def atr(high: pd.Series, low: pd.Series, close: pd.Series, window: int = 14) -> pd.Series:
    """Average true range, Wilder smoothing (price units; numba kernel, equals ``ta``)."""
    return fast.atr(high, low, close, window)


@_reg(grid={"window": [14]}, warmup=lambda window: window - 1, scale_free=True)
def atr_pct(high: pd.Series, low: pd.Series, close: pd.Series, window: int = 14) -> pd.Series:
    """ATR as a fraction of the close (scale-free volatility)."""
    return fast.atr(high, low, close, window) / close


@_reg(
    grid={"window": [10, 20, 50], "window_dev": [2.0]},
    warmup=lambda window, window_dev: window - 1,
    outputs=(
        "bollinger_mavg",
        "bollinger_hband",
        "bollinger_lband",
        "bollinger_wband",
        "bollinger_pband",
    ),
)
def bollinger(close: pd.Series, window: int = 20, window_dev: float = 2.0) -> pd.DataFrame:
    """Bollinger bands: SMA +- window_dev population std (``ta`` convention), width % and %B."""
    mavg = fast.sma(close, window)
    mstd = fast.rolling_std(close, window, ddof=0)
    hband = mavg + window_dev * mstd
    lband = mavg - window_dev * mstd
    width = hband - lband
    return pd.DataFrame(
        {
            "bollinger_mavg": mavg,
            "bollinger_hband": hband,
            "bollinger_lband": lband,
            "bollinger_wband": width / mavg * 100.0,
            "bollinger_pband": (close - lband) / width.where(width != 0.0),
        }
    )


_KELTNER = {
    "keltner_mband": "keltner_channel_mband",
    "keltner_hband": "keltner_channel_hband",
    "keltner_lband": "keltner_channel_lband",
    "keltner_wband": "keltner_channel_wband",
    "keltner_pband": "keltner_channel_pband",
}


@_reg(
    grid={"window": [20], "window_atr": [10], "original_version": [True, False]},
    warmup=lambda window, window_atr, original_version: (
        window - 1 if original_version else max(window, window_atr) - 1
    ),
    outputs=tuple(_KELTNER),
)
def keltner(
    high: pd.Series,
    low: pd.Series,
    close: pd.Series,
    window: int = 20,
    window_atr: int = 10,
    original_version: bool = True,
) -> pd.DataFrame:
    """Keltner channel (original: SMA of typical price; else EMA +- 2 ATR), width % and %B."""
    ind = ta.volatility.KeltnerChannel(
        high, low, close, window, window_atr, fillna=False, original_version=original_version
    )
    return ta_outputs(ind, _KELTNER)


@_reg(
    grid={"window": [10, 20, 55]},
    warmup=lambda window: window - 1,
    outputs=(
        "donchian_hband",
        "donchian_lband",
        "donchian_mband",
        "donchian_wband",
        "donchian_pband",
    ),
)
def donchian(high: pd.Series, low: pd.Series, close: pd.Series, window: int = 20) -> pd.DataFrame:
    """Donchian channel over ``window`` bars including bar t (numba), mid, width % and %B."""
    hband = fast.donchian_high(high, window)
    lband = fast.donchian_low(low, window)
    width = hband - lband
    return pd.DataFrame(
        {
            "donchian_hband": hband,
            "donchian_lband": lband,
            "donchian_mband": lband + width / 2.0,
            "donchian_wband": width / fast.sma(close, window) * 100.0,
            "donchian_pband": (close - lband) / width.where(width != 0.0),
        }
    )


@_reg(grid={"window": [14]}, warmup=lambda window: window - 1, scale_free=True)
def ulcer(close: pd.Series, window: int = 14) -> pd.Series:
    """Ulcer index: RMS of % drawdowns from the rolling high."""
    return ta.volatility.UlcerIndex(close, window, fillna=False).ulcer_index()


@_reg(grid={"window": [10, 20, 60]}, warmup=lambda window: window, scale_free=True)
def returns_std(close: pd.Series, window: int = 20) -> pd.Series:
    """Sample standard deviation of one-bar log returns over ``window`` bars (not annualised)."""
    log_ret = np.log(close).diff()
    return fast.rolling_std(log_ret, window, ddof=1)
