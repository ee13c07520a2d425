"""Indicator catalog: ``ta`` wrappers and numba kernels, each with its declared warm-up.

``catalog()`` maps a name to an :class:`Indicator` (``name``, ``family``, ``params`` grid,
``compute(bars, **params)``, ``warmup(**params)``). The hot indicators also exist as fast
pandas wrappers (:mod:`strategies.indicators.fast`) over numba kernels
(:mod:`strategies.indicators._nb`) for strategies to call directly.
"""

from strategies.indicators.base import BAR_COLUMNS, FAMILIES, Indicator
from strategies.indicators.catalog import FeatureSpec, catalog, compute_features, get_indicator
from strategies.indicators.fast import (
    atr,
    donchian_high,
    donchian_low,
    ema,
    psar,
    rolling_std,
    rolling_zscore,
    rsi,
    sma,
    true_range,
)

__all__ = [
    "Indicator",
    "FAMILIES",
    "BAR_COLUMNS",
    "FeatureSpec",
    "catalog",
    "get_indicator",
    "compute_features",
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
