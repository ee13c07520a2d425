"""Indicator catalog: ``ta`` wrappers and numba kernels, each with its declared warm-up.

``catalog()`` maps a name to an :class:`Indicator` (``name``, ``family``, ``params`` grid,
``compute(bars, **params)``, ``warmup(**params)``). The hot indicators also exist as fast
pandas wrappers (:mod:`strategies.indicators.fast`) over numba kernels
(:mod:`strategies.indicators._nb`) for strategies to call directly.
"""

from strategies.indicators import fast
from strategies.indicators.base import BAR_COLUMNS, FAMILIES, Indicator
from strategies.indicators.catalog import FeatureSpec, catalog, compute_features, get_indicator
from strategies.indicators.fast import *  # noqa: F403 - the fast wrappers are public here too

__all__ = [
    "Indicator",
    "FAMILIES",
    "BAR_COLUMNS",
    "FeatureSpec",
    "catalog",
    "get_indicator",
    "compute_features",
    *fast.__all__,
]
