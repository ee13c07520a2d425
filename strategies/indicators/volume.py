"""Volume indicators: ``ta.volume`` (fillna=False), NVI vectorised."""

from __future__ import annotations

import numpy as np
import pandas as pd
import ta

from strategies.indicators.base import Registrar

__all__ = ["INDICATORS"]

_reg = Registrar("volume")
INDICATORS = _reg.indicators


@_reg(warmup=lambda: 0)
def obv(close: pd.Series, volume: pd.Series) -> pd.Series:
    """On-balance volume (cumulative; bar 0 counts as an up bar, ``ta`` convention)."""
    return ta.volume.OnBalanceVolumeIndicator(close, volume, fillna=False).on_balance_volume()


@_reg(grid={"window": [20]}, warmup=lambda window: window - 1, scale_free=True)
def cmf(
    high: pd.Series, low: pd.Series, close: pd.Series, volume: pd.Series, window: int = 20
) -> pd.Series:
    """Chaikin money flow in [-1, 1]."""
    return ta.volume.ChaikinMoneyFlowIndicator(
        high, low, close, volume, window, fillna=False
    ).chaikin_money_flow()


@_reg(grid={"window": [13]}, warmup=lambda window: window)
def force_index(close: pd.Series, volume: pd.Series, window: int = 13) -> pd.Series:
    """Force index: EMA of price change x volume."""
    return ta.volume.ForceIndexIndicator(close, volume, window, fillna=False).force_index()


@_reg(grid={"window": [14]}, warmup=lambda window: window, outputs=("eom", "eom_sma"))
def eom(high: pd.Series, low: pd.Series, volume: pd.Series, window: int = 14) -> pd.DataFrame:
    """Ease of movement (x 1e8, ``ta`` scaling) and its SMA over ``window``."""
    ind = ta.volume.EaseOfMovementIndicator(high, low, volume, window, fillna=False)
    return pd.DataFrame({"eom": ind.ease_of_movement(), "eom_sma": ind.sma_ease_of_movement()})


@_reg(warmup=lambda: 1)
def vpt(close: pd.Series, volume: pd.Series) -> pd.Series:
    """Volume-price trend: cumulative sum of volume x % price change."""
    return ta.volume.VolumePriceTrendIndicator(close, volume, fillna=False).volume_price_trend()


@_reg(warmup=lambda: 0)
def nvi(close: pd.Series, volume: pd.Series) -> pd.Series:
    """Negative volume index from 1000, moving with the close only on bars of falling volume.

    Same recursion as ``ta``'s Python loop, vectorised: ``nvi[t] = nvi[t-1] * (1 + r[t])`` when
    ``volume[t] < volume[t-1]``, else ``nvi[t-1]``.
    """
    c = close.to_numpy(dtype=np.float64)
    v = volume.to_numpy(dtype=np.float64)
    factor = np.ones(len(c))
    if len(c) > 1:
        falling = v[:-1] > v[1:]
        factor[1:] = np.where(falling, 1.0 + (c[1:] / c[:-1] - 1.0), 1.0)
    factor[0] = 1000.0
    return pd.Series(np.cumprod(factor), index=close.index)


@_reg(grid={"window": [14]}, warmup=lambda window: window - 1, scale_free=True)
def mfi(
    high: pd.Series, low: pd.Series, close: pd.Series, volume: pd.Series, window: int = 14
) -> pd.Series:
    """Money flow index in [0, 100] (volume-weighted RSI of the typical price)."""
    return ta.volume.MFIIndicator(high, low, close, volume, window, fillna=False).money_flow_index()


@_reg(grid={"window": [14]}, warmup=lambda window: window - 1)
def vwap(
    high: pd.Series, low: pd.Series, close: pd.Series, volume: pd.Series, window: int = 14
) -> pd.Series:
    """Rolling volume-weighted average typical price over ``window`` bars (price units)."""
    return ta.volume.VolumeWeightedAveragePrice(
        high, low, close, volume, window, fillna=False
    ).volume_weighted_average_price()


@_reg(warmup=lambda: 0)
def adi(high: pd.Series, low: pd.Series, close: pd.Series, volume: pd.Series) -> pd.Series:
    """Accumulation/distribution index (cumulative close-location value x volume)."""
    return ta.volume.AccDistIndexIndicator(high, low, close, volume, fillna=False).acc_dist_index()
