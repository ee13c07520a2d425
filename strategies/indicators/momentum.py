"""Momentum indicators: ``ta.momentum`` (fillna=False) plus the numba RSI.

Warm-ups are 0-based indices of the first defined bar, derived from each formula: a rolling
window of ``w`` over a series defined from ``k`` is defined from ``k + w - 1``; a ``diff`` or
``shift(w)`` adds ``w``; an EMA with ``min_periods=w`` behaves like a rolling window of ``w``.
"""

from __future__ import annotations

import pandas as pd
import ta

from strategies.indicators import fast
from strategies.indicators.base import Registrar, ta_outputs

__all__ = ["INDICATORS"]

_reg = Registrar("momentum")
INDICATORS = _reg.indicators


@_reg(grid={"window": [7, 14, 21, 28]}, warmup=lambda window: window - 1, scale_free=True)
def rsi(close: pd.Series, window: int = 14) -> pd.Series:
    """Relative Strength Index in [0, 100], Wilder smoothing (numba kernel, equals ``ta``)."""
    return fast.rsi(close, window)


@_reg(
    grid={"window": [5, 14, 21], "smooth_window": [3]},
    warmup=lambda window, smooth_window: window + smooth_window - 2,
    outputs=("stoch", "stoch_signal"),
    scale_free=True,
)
def stoch(
    high: pd.Series, low: pd.Series, close: pd.Series, window: int = 14, smooth_window: int = 3
) -> pd.DataFrame:
    """Stochastic oscillator %K in [0, 100] and its SMA signal %D."""
    s = ta.momentum.StochasticOscillator(high, low, close, window, smooth_window, fillna=False)
    return pd.DataFrame({"stoch": s.stoch(), "stoch_signal": s.stoch_signal()})


@_reg(
    grid={"window": [14], "smooth1": [3], "smooth2": [3]},
    warmup=lambda window, smooth1, smooth2: 2 * window + smooth1 + smooth2 - 4,
    outputs=("stochrsi", "stochrsi_k", "stochrsi_d"),
    scale_free=True,
)
def stochrsi(
    close: pd.Series, window: int = 14, smooth1: int = 3, smooth2: int = 3
) -> pd.DataFrame:
    """Stochastic RSI in [0, 1] with its %K and %D smoothings."""
    s = ta.momentum.StochRSIIndicator(close, window, smooth1, smooth2, fillna=False)
    return pd.DataFrame(
        {"stochrsi": s.stochrsi(), "stochrsi_k": s.stochrsi_k(), "stochrsi_d": s.stochrsi_d()}
    )


@_reg(
    grid={"window_slow": [25], "window_fast": [13]},
    warmup=lambda window_slow, window_fast: window_slow + window_fast - 1,
    constraints=("window_fast < window_slow",),
    scale_free=True,
)
def tsi(close: pd.Series, window_slow: int = 25, window_fast: int = 13) -> pd.Series:
    """True strength index in [-100, 100] (double-smoothed momentum)."""
    return ta.momentum.TSIIndicator(close, window_slow, window_fast, fillna=False).tsi()


@_reg(
    grid={"window1": [7], "window2": [14], "window3": [28]},
    warmup=lambda window1, window2, window3, weight1, weight2, weight3: max(
        window1, window2, window3
    ),
    scale_free=True,
)
def uo(
    high: pd.Series,
    low: pd.Series,
    close: pd.Series,
    window1: int = 7,
    window2: int = 14,
    window3: int = 28,
    weight1: float = 4.0,
    weight2: float = 2.0,
    weight3: float = 1.0,
) -> pd.Series:
    """Ultimate oscillator in [0, 100] (buying pressure over three horizons)."""
    return ta.momentum.UltimateOscillator(
        high, low, close, window1, window2, window3, weight1, weight2, weight3, fillna=False
    ).ultimate_oscillator()


@_reg(grid={"lbp": [14, 28]}, warmup=lambda lbp: lbp - 1, scale_free=True)
def williams_r(high: pd.Series, low: pd.Series, close: pd.Series, lbp: int = 14) -> pd.Series:
    """Williams %R in [-100, 0]."""
    return ta.momentum.WilliamsRIndicator(high, low, close, lbp, fillna=False).williams_r()


@_reg(
    grid={"window1": [5], "window2": [34]},
    warmup=lambda window1, window2: max(window1, window2) - 1,
    constraints=("window1 < window2",),
)
def ao(high: pd.Series, low: pd.Series, window1: int = 5, window2: int = 34) -> pd.Series:
    """Awesome oscillator: SMA(5) - SMA(34) of the median price (price units)."""
    return ta.momentum.AwesomeOscillatorIndicator(
        high, low, window1, window2, fillna=False
    ).awesome_oscillator()


@_reg(
    grid={"window": [10], "pow1": [2], "pow2": [30]},
    warmup=lambda window, pow1, pow2: window - 1,
    constraints=("pow1 < pow2",),
)
def kama(close: pd.Series, window: int = 10, pow1: int = 2, pow2: int = 30) -> pd.Series:
    """Kaufman adaptive moving average (price units), seeded with the close at bar window-1."""
    return ta.momentum.KAMAIndicator(close, window, pow1, pow2, fillna=False).kama()


@_reg(grid={"window": [5, 12, 25]}, warmup=lambda window: window, scale_free=True)
def roc(close: pd.Series, window: int = 12) -> pd.Series:
    """Rate of change over ``window`` bars, in percent."""
    return ta.momentum.ROCIndicator(close, window, fillna=False).roc()


def _percentage_oscillator(prefix: str):
    """Registration shared by the percentage oscillators (``ppo``, ``pvo``): one grid, warmup,
    constraint and the ``prefix``, ``prefix_signal``, ``prefix_hist`` outputs."""
    return _reg(
        grid={"window_slow": [26], "window_fast": [12], "window_sign": [9]},
        warmup=lambda window_slow, window_fast, window_sign: (
            max(window_slow, window_fast) + window_sign - 2
        ),
        outputs=(prefix, f"{prefix}_signal", f"{prefix}_hist"),
        constraints=("window_fast < window_slow",),
        scale_free=True,
    )


@_percentage_oscillator("ppo")
def ppo(
    close: pd.Series, window_slow: int = 26, window_fast: int = 12, window_sign: int = 9
) -> pd.DataFrame:
    """Percentage price oscillator (EMA spread in % of the slow EMA), signal and histogram."""
    ind = ta.momentum.PercentagePriceOscillator(
        close, window_slow, window_fast, window_sign, fillna=False
    )
    return ta_outputs(ind, {"ppo": "ppo", "ppo_signal": "ppo_signal", "ppo_hist": "ppo_hist"})


@_percentage_oscillator("pvo")
def pvo(
    volume: pd.Series, window_slow: int = 26, window_fast: int = 12, window_sign: int = 9
) -> pd.DataFrame:
    """Percentage volume oscillator, signal and histogram: :func:`ppo` of the volume (``ta``'s
    ``PercentageVolumeOscillator`` is the same formula)."""
    out = ppo(volume, window_slow, window_fast, window_sign)
    return out.rename(columns=lambda name: name.replace("ppo", "pvo"))
