"""Exploration: technical and statistical features, a data audit, and screening that cannot fool itself.

>>> from research.explore import explore
>>> result = explore(bars)                      # doctest: +SKIP
>>> result.selected                             # doctest: +SKIP
>>> write_exploration(result, "runs/explore-sp500")   # doctest: +SKIP

Modules: :mod:`~research.explore.spec` (the YAML spec), :mod:`~research.explore.features`
(the feature table and its cache), :mod:`~research.explore.statistical` (statsmodels tests,
cointegration), :mod:`~research.explore.audit`, :mod:`~research.explore.screening`,
:mod:`~research.explore.suggest`, :mod:`~research.explore.report` (HTML section),
:mod:`~research.explore.pipeline` (``explore``), :mod:`~research.explore.artifacts`
(``write_exploration``: the files and the page), ``_nb`` (numba kernels).
"""

from research.explore.artifacts import write_exploration
from research.explore.audit import AuditReport, audit_bars
from research.explore.features import FeatureSet, build_features
from research.explore.pipeline import ExplorationResult, explore, train_window
from research.explore.report import render_explore_page, render_explore_section
from research.explore.screening import (
    ScreeningResult,
    benjamini_hochberg,
    forward_returns,
    screen_features,
)
from research.explore.spec import ExploreSpec, default_spec, load_spec
from research.explore.statistical import CointegrationResult, cointegration

__all__ = [
    "explore",
    "ExplorationResult",
    "write_exploration",
    "render_explore_section",
    "render_explore_page",
    "ExploreSpec",
    "load_spec",
    "default_spec",
    "build_features",
    "FeatureSet",
    "audit_bars",
    "AuditReport",
    "screen_features",
    "ScreeningResult",
    "benjamini_hochberg",
    "forward_returns",
    "cointegration",
    "CointegrationResult",
    "train_window",
]
