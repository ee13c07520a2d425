"""Pandas-facing wrappers of the numba indicator kernels in :mod:`strategies.indicators._nb`.

Each wrapper accepts a ``pd.Series`` (one symbol) or a ``pd.DataFrame`` (one column per symbol or
per variant), converts to float64, calls the 1-D kernel (on each column of a frame) and puts the index and columns
back. Outputs are NaN before the warm-up stated in each docstring (0-based index of the first
defined value for input without leading NaNs); nothing is filled.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from data_loaders.errors import ParameterError
from strategies.indicators import _nb

__all__ = [
    "sma",
    "ema",
    "rolling_std",
    "rolling_zscore",
    "rsi",
    "true_range",
    "atr",
    "donchian_high",
    "donchian_low",
    "psar",
]

Frame = pd.Series | pd.DataFrame


def _check_window(window: int, name: str = "window", minimum: int = 1) -> int:
    if isinstance(window, bool) or not float(window).is_integer() or window < minimum:
        raise ParameterError(f"`{name}` must be an integer >= {minimum}, got {name}={window!r}")
    return int(window)


def _per_column(kernel: Callable, arrays: tuple[np.ndarray, ...], *args) -> np.ndarray:
    """A 1-D kernel applied to each column of ``(n, m)`` arrays: ``(n, m)``."""
    out = np.empty(arrays[0].shape)
    for j in range(out.shape[1]):
        out[:, j] = kernel(*(np.ascontiguousarray(a[:, j]) for a in arrays), *args)
    return out


def _apply(x: Frame, kernel: Callable, *args) -> Frame:
    values = np.asarray(x, dtype=np.float64)
    if values.ndim == 1:
        return pd.Series(kernel(values, *args), index=x.index, name=getattr(x, "name", None))
    return pd.DataFrame(_per_column(kernel, (values,), *args), index=x.index, columns=x.columns)


def sma(x: Frame, window: int) -> Frame:
    """Simple moving average over ``window`` bars (includes bar t). Warm-up ``window - 1``.

    Equals ``x.rolling(window).mean()`` to 1e-9.
    """
    w = _check_window(window)
    return _apply(x, _nb.rolling_mean_1d_nb, w)


def ema(x: Frame, window: int) -> Frame:
    """Exponential moving average, span ``window``, ``ta`` convention. Warm-up ``window - 1``.

    Equals ``x.ewm(span=window, min_periods=window, adjust=False).mean()``.
    """
    w = _check_window(window)
    return _apply(x, _nb.ema_1d_nb, w)


def rolling_std(x: Frame, window: int, ddof: int = 1) -> Frame:
    """Rolling standard deviation (``ddof`` 1 = sample, 0 = population). Warm-up ``window - 1``."""
    w = _check_window(window, minimum=ddof + 1)
    return _apply(x, _nb.rolling_std_1d_nb, w, int(ddof))


def rolling_zscore(x: Frame, window: int, ddof: int = 1) -> Frame:
    """Rolling z-score ``(x - mean) / std`` over ``window`` bars including bar t.

    Warm-up ``window - 1``; a flat window (std 0) gives NaN.
    """
    w = _check_window(window, minimum=ddof + 1)
    return _apply(x, _nb.rolling_zscore_1d_nb, w, int(ddof))


def rsi(close: Frame, window: int = 14) -> Frame:
    """Wilder RSI in [0, 100], as ``ta.momentum.RSIIndicator``. Warm-up ``window - 1``."""
    w = _check_window(window)
    return _apply(close, _nb.rsi_1d_nb, w)


def _hlc(high: Frame, low: Frame, close: Frame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    arrays = tuple(np.asarray(a, dtype=np.float64) for a in (high, low, close))
    if not (arrays[0].shape == arrays[1].shape == arrays[2].shape):
        raise ParameterError(
            f"high, low and close must have one shape, got {[a.shape for a in arrays]}"
        )
    return arrays


def true_range(high: Frame, low: Frame, close: Frame) -> Frame:
    """True range; bar 0 is ``high - low``. Defined from bar 0."""
    h, lo, c = _hlc(high, low, close)
    if c.ndim == 1:
        return pd.Series(_nb.true_range_1d_nb(h, lo, c), index=close.index, name="true_range")
    out = _per_column(_nb.true_range_1d_nb, (h, lo, c))
    return pd.DataFrame(out, index=close.index, columns=close.columns)


def atr(high: Frame, low: Frame, close: Frame, window: int = 14) -> Frame:
    """Average true range (Wilder), as ``ta.volatility.AverageTrueRange``. Warm-up ``window - 1``."""
    w = _check_window(window)
    h, lo, c = _hlc(high, low, close)
    if c.ndim == 1:
        return pd.Series(_nb.atr_1d_nb(h, lo, c, w), index=close.index, name="atr")
    out = _per_column(_nb.atr_1d_nb, (h, lo, c), w)
    return pd.DataFrame(out, index=close.index, columns=close.columns)


def donchian_high(high: Frame, window: int) -> Frame:
    """Highest high of the last ``window`` bars including bar t. Warm-up ``window - 1``.

    For a breakout rule that compares the close with the channel of the *previous* bars, shift
    the result by one bar (then the warm-up is ``window``).
    """
    w = _check_window(window)
    return _apply(high, _nb.rolling_max_1d_nb, w)


def donchian_low(low: Frame, window: int) -> Frame:
    """Lowest low of the last ``window`` bars including bar t. Warm-up ``window - 1``."""
    w = _check_window(window)
    return _apply(low, _nb.rolling_min_1d_nb, w)


def psar(
    high: pd.Series, low: pd.Series, close: pd.Series, step: float = 0.02, max_step: float = 0.2
) -> pd.DataFrame:
    """Parabolic SAR (``ta``'s algorithm) with columns ``psar`` and ``psar_trend`` (+1 up, -1 down).

    Bars 0 and 1 are the initialisation (SAR = close); they are returned as computed, callers that
    want only true SAR values drop them (the catalog entry declares warm-up 2).
    """
    h, lo, c = _hlc(high, low, close)
    if c.ndim != 1:
        raise ParameterError("psar takes one symbol: Series high, low and close")
    sar, trend = _nb.psar_1d_nb(h, lo, c, float(step), float(max_step))
    return pd.DataFrame({"psar": sar, "psar_trend": trend}, index=close.index)
