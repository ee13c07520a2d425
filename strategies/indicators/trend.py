"""Trend indicators: numba SMA/EMA/MACD/PSAR, ``ta.trend`` for the rest (fillna=False).

Where ``ta`` fills early values with a full-sample statistic (KST, DPO shift with
``fill_value=close.mean()``), which would leak the future into the first bars, the entry either
recomputes the indicator causally (KST) or declares a warm-up past the filled bars (DPO).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import ta

from strategies.indicators import fast
from strategies.indicators.base import Registrar, ta_outputs

__all__ = ["INDICATORS"]

_reg = Registrar("trend")
INDICATORS = _reg.indicators


@_reg(grid={"window": [5, 10, 20, 50, 100, 200]}, warmup=lambda window: window - 1)
def sma(close: pd.Series, window: int = 20) -> pd.Series:
    """Simple moving average of the close (numba kernel)."""
    return fast.sma(close, window)


@_reg(grid={"window": [5, 10, 20, 50, 100, 200]}, warmup=lambda window: window - 1)
def ema(close: pd.Series, window: int = 20) -> pd.Series:
    """Exponential moving average of the close, span ``window`` (numba kernel)."""
    return fast.ema(close, window)


@_reg(grid={"window": [9, 20]}, warmup=lambda window: window - 1)
def wma(close: pd.Series, window: int = 9) -> pd.Series:
    """Linearly weighted moving average (weights 1..window, newest heaviest)."""
    weights = np.arange(1, window + 1, dtype=np.float64) * 2.0 / (window * (window + 1))
    values = close.to_numpy(dtype=np.float64)
    out = np.full(len(values), np.nan)
    if len(values) >= window:
        out[window - 1 :] = np.convolve(values, weights[::-1], mode="valid")
    return pd.Series(out, index=close.index)


@_reg(
    grid={"window_slow": [26], "window_fast": [12], "window_sign": [9]},
    warmup=lambda window_slow, window_fast, window_sign: (
        max(window_slow, window_fast) + window_sign - 2
    ),
    outputs=("macd", "macd_signal", "macd_diff"),
    constraints=("window_fast < window_slow",),
)
def macd(
    close: pd.Series, window_slow: int = 26, window_fast: int = 12, window_sign: int = 9
) -> pd.DataFrame:
    """MACD line EMA(fast) - EMA(slow), its EMA signal line and the difference (numba EMAs)."""
    line = fast.ema(close, window_fast) - fast.ema(close, window_slow)
    signal = fast.ema(line, window_sign)
    return pd.DataFrame({"macd": line, "macd_signal": signal, "macd_diff": line - signal})


@_reg(
    grid={"window": [14]},
    warmup=lambda window: 2 * window - 1,
    outputs=("adx", "adx_pos", "adx_neg"),
    scale_free=True,
)
def adx(high: pd.Series, low: pd.Series, close: pd.Series, window: int = 14) -> pd.DataFrame:
    """Average directional index with +DI and -DI, in [0, 100]."""
    ind = ta.trend.ADXIndicator(high, low, close, window, fillna=False)
    return pd.DataFrame({"adx": ind.adx(), "adx_pos": ind.adx_pos(), "adx_neg": ind.adx_neg()})


_VORTEX = {
    "vortex_pos": "vortex_indicator_pos",
    "vortex_neg": "vortex_indicator_neg",
    "vortex_diff": "vortex_indicator_diff",
}


@_reg(grid={"window": [14]}, warmup=lambda window: window, outputs=tuple(_VORTEX), scale_free=True)
def vortex(high: pd.Series, low: pd.Series, close: pd.Series, window: int = 14) -> pd.DataFrame:
    """Vortex indicator +VI, -VI and their difference."""
    return ta_outputs(ta.trend.VortexIndicator(high, low, close, window, fillna=False), _VORTEX)


@_reg(grid={"window": [15]}, warmup=lambda window: 3 * window - 2, scale_free=True)
def trix(close: pd.Series, window: int = 15) -> pd.Series:
    """TRIX: one-bar % change of a triple EMA."""
    return ta.trend.TRIXIndicator(close, window, fillna=False).trix()


@_reg(
    grid={"window_fast": [9], "window_slow": [25]},
    warmup=lambda window_fast, window_slow: 2 * window_fast + window_slow - 3,
    scale_free=True,
)
def mass_index(
    high: pd.Series, low: pd.Series, window_fast: int = 9, window_slow: int = 25
) -> pd.Series:
    """Mass index: sum over ``window_slow`` of EMA(range) / EMA(EMA(range))."""
    return ta.trend.MassIndex(high, low, window_fast, window_slow, fillna=False).mass_index()


@_reg(grid={"window": [20]}, warmup=lambda window, constant: window - 1, scale_free=True)
def cci(
    high: pd.Series, low: pd.Series, close: pd.Series, window: int = 20, constant: float = 0.015
) -> pd.Series:
    """Commodity channel index (typical price vs its SMA, in mean deviations / constant)."""
    return ta.trend.CCIIndicator(high, low, close, window, constant, fillna=False).cci()


@_reg(grid={"window": [20]}, warmup=lambda window: max(window - 1, int(0.5 * window) + 1))
def dpo(close: pd.Series, window: int = 20) -> pd.Series:
    """Detrended price oscillator: close ``window/2 + 1`` bars ago minus SMA(window) (price units).

    ``ta`` fills the shifted bars with the full-sample mean; the warm-up covers them.
    """
    return ta.trend.DPOIndicator(close, window, fillna=False).dpo()


def _kst_warmup(roc1, roc2, roc3, roc4, window1, window2, window3, window4, nsig) -> int:
    kst_start = max(roc1 + window1, roc2 + window2, roc3 + window3, roc4 + window4) - 1
    return kst_start + nsig - 1


@_reg(warmup=_kst_warmup, outputs=("kst", "kst_sig", "kst_diff"), scale_free=True)
def kst(
    close: pd.Series,
    roc1: int = 10,
    roc2: int = 15,
    roc3: int = 20,
    roc4: int = 30,
    window1: int = 10,
    window2: int = 10,
    window3: int = 10,
    window4: int = 15,
    nsig: int = 9,
) -> pd.DataFrame:
    """Know Sure Thing: weighted sum of four smoothed ROCs, its SMA signal and the difference.

    Computed causally (``ta`` fills the first ROC bars with the full-sample mean); equals ``ta``
    from the warm-up on.
    """
    total = 0.0
    for weight, (r, w) in enumerate(
        ((roc1, window1), (roc2, window2), (roc3, window3), (roc4, window4)), start=1
    ):
        past = close.shift(r)
        total = total + weight * ((close - past) / past).rolling(w).mean()
    line = 100.0 * total
    sig = line.rolling(nsig).mean()
    return pd.DataFrame({"kst": line, "kst_sig": sig, "kst_diff": line - sig})


_ICHIMOKU = {
    "ichimoku_conv": "ichimoku_conversion_line",
    "ichimoku_base": "ichimoku_base_line",
    "ichimoku_a": "ichimoku_a",
    "ichimoku_b": "ichimoku_b",
}


@_reg(
    grid={"window1": [9], "window2": [26], "window3": [52]},
    warmup=lambda window1, window2, window3: max(window1, window2, window3) - 1,
    outputs=tuple(_ICHIMOKU),
)
def ichimoku(
    high: pd.Series, low: pd.Series, window1: int = 9, window2: int = 26, window3: int = 52
) -> pd.DataFrame:
    """Ichimoku conversion, base, span A and span B lines, not shifted forward (price units)."""
    ind = ta.trend.IchimokuIndicator(
        high, low, window1, window2, window3, visual=False, fillna=False
    )
    return ta_outputs(ind, _ICHIMOKU)


_AROON = {"aroon_up": "aroon_up", "aroon_down": "aroon_down", "aroon_indicator": "aroon_indicator"}


@_reg(
    grid={"window": [14, 25]}, warmup=lambda window: window, outputs=tuple(_AROON), scale_free=True
)
def aroon(high: pd.Series, low: pd.Series, window: int = 25) -> pd.DataFrame:
    """Aroon up, down (bars since the window's high/low, in %) and their difference."""
    return ta_outputs(ta.trend.AroonIndicator(high, low, window, fillna=False), _AROON)


@_reg(
    grid={"step": [0.02], "max_step": [0.2]},
    warmup=lambda step, max_step: 2,
    outputs=("psar", "psar_trend"),
)
def psar(
    high: pd.Series, low: pd.Series, close: pd.Series, step: float = 0.02, max_step: float = 0.2
) -> pd.DataFrame:
    """Parabolic SAR (price units) and its trend (+1 up, -1 down); ``ta``'s algorithm in numba."""
    return fast.psar(high, low, close, step, max_step)


@_reg(
    grid={"window_slow": [50], "window_fast": [23], "cycle": [10]},
    warmup=lambda window_slow, window_fast, cycle, smooth1, smooth2: (
        max(window_slow, window_fast) + 2 * cycle + smooth1 + smooth2 - 5
    ),
    constraints=("window_fast < window_slow",),
    scale_free=True,
)
def stc(
    close: pd.Series,
    window_slow: int = 50,
    window_fast: int = 23,
    cycle: int = 10,
    smooth1: int = 3,
    smooth2: int = 3,
) -> pd.Series:
    """Schaff trend cycle in [0, 100] (double stochastic of the MACD line)."""
    return ta.trend.STCIndicator(
        close, window_slow, window_fast, cycle, smooth1, smooth2, fillna=False
    ).stc()
