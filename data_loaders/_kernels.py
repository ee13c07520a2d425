"""Vectorised numpy kernels of the data layer: arrays in, arrays out, no pandas.

* :func:`bridge_extremes` - max and min of a Brownian bridge over each bar.
* :func:`aggregate_ohlcv` - first/max/min/last/sum of consecutive runs (``ufunc.reduceat``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["bridge_extremes", "aggregate_ohlcv"]


def bridge_extremes(
    move: np.ndarray, sigma: np.ndarray, u_high: np.ndarray, u_low: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sample the maximum and minimum of a Brownian bridge from 0 to ``move`` with variance ``sigma**2``.

    Uses the exact law ``P(max >= m) = exp(-2 m (m - move) / sigma**2)`` for ``m >= max(0, move)``
    (and its mirror image for the minimum), inverted at the uniforms ``u_high`` / ``u_low``. The
    two extremes are sampled independently (their joint law is not needed for realistic bars).

    All arrays have shape (n,); returns ``(max, min)`` with ``max >= max(0, move)`` and
    ``min <= min(0, move)``.
    """
    var = sigma * sigma
    hi = 0.5 * (move + np.sqrt(move * move - 2.0 * var * np.log(u_high)))
    lo = 0.5 * (move - np.sqrt(move * move - 2.0 * var * np.log(u_low)))
    return np.maximum(hi, np.maximum(move, 0.0)), np.minimum(lo, np.minimum(move, 0.0))


def aggregate_ohlcv(
    starts: np.ndarray,
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Aggregate consecutive runs of bars into one bar each.

    Parameters
    ----------
    starts : int array, shape (m,)
        Strictly increasing positions where each run begins (``starts[0] == 0``).
    open_, high, low, close, volume : float64 arrays, shape (n,)

    Returns
    -------
    open, high, low, close, volume : float64 arrays, shape (m,)
        First open, max high, min low, last close and summed volume of each run.
    """
    ends = np.r_[starts[1:], len(open_)] - 1
    return (
        open_[starts],
        np.maximum.reduceat(high, starts),
        np.minimum.reduceat(low, starts),
        close[ends],
        np.add.reduceat(volume, starts),
    )
