"""Overfitting statistics: is the best of many backtests a real edge or a lucky search?

Conventions used everywhere in this module (and stated again where they matter):

* **Sharpe ratios are per period** (per bar of the returns they come from), never annualised,
  with zero risk-free rate and the sample standard deviation (``ddof=1``). Multiply by
  ``sqrt(periods_per_year)`` to annualise.
* **Kurtosis is raw** (a normal distribution has 3), skewness and kurtosis are the biased
  (population) moment estimators, as in Bailey & Lopez de Prado.
* Returns are simple per-period returns; a returns matrix is ``(T, N)``: ``T`` periods in time
  order, one column per trial.

Contents:

* :func:`probabilistic_sharpe_ratio`, :func:`expected_max_sharpe`, :func:`deflated_sharpe_ratio`,
  :func:`minimum_track_record_length`, :func:`minimum_backtest_length` — closed forms of Bailey &
  Lopez de Prado (2012, 2014) and Bailey, Borwein, Lopez de Prado & Zhu (2014).
* :func:`probability_of_backtest_overfitting` — combinatorially symmetric cross-validation.
* :func:`effective_number_of_trials` — correlation clusters of the trials, for an honest ``N``.
* :func:`walk_forward_efficiency` / :func:`sharpe_efficiency`, :func:`spa_test` (White's Reality Check, Hansen's SPA).
* Parameter stability (:mod:`research.overfitting.stability`) and the distribution of
  out-of-sample Sharpe ratios over combinatorial purged cross-validation paths
  (:mod:`research.overfitting.cpcv`, splits from :class:`backtest.splitters.CombinatorialPurged`).

One module per statistic: :mod:`~research.overfitting.sharpe`, :mod:`~research.overfitting.pbo`,
:mod:`~research.overfitting.trials`, :mod:`~research.overfitting.efficiency`,
:mod:`~research.overfitting.spa`, :mod:`~research.overfitting.stability`,
:mod:`~research.overfitting.cpcv`; numba kernels in :mod:`research.overfitting._nb`. Names are
imported on first use (PEP 562), so ``research.overfitting.efficiency`` loads neither scipy nor
numba.

References:
    Bailey, D. H. & Lopez de Prado, M. (2012). The Sharpe ratio efficient frontier. Journal of
    Risk 15(2). Bailey & Lopez de Prado (2014). The deflated Sharpe ratio. Journal of Portfolio
    Management 40(5). Bailey, Borwein, Lopez de Prado & Zhu (2014). Pseudo-mathematics and
    financial charlatanism. Notices of the AMS 61(5). Bailey, Borwein, Lopez de Prado & Zhu
    (2017). The probability of backtest overfitting. Journal of Computational Finance 20(4).
    White, H. (2000). A reality check for data snooping. Hansen, P. R. (2005). A test for
    superior predictive ability.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from data_loaders.lazy import lazy_exports

#: public name -> module of this package that defines it
_LAZY: dict[str, str] = {
    "EULER_GAMMA": "research.overfitting.sharpe",
    "sharpe_per_period": "research.overfitting.sharpe",
    "return_moments": "research.overfitting.sharpe",
    "probabilistic_sharpe_ratio": "research.overfitting.sharpe",
    "expected_max_sharpe": "research.overfitting.sharpe",
    "deflated_sharpe_ratio": "research.overfitting.sharpe",
    "minimum_track_record_length": "research.overfitting.sharpe",
    "minimum_backtest_length": "research.overfitting.sharpe",
    "PBOResult": "research.overfitting.pbo",
    "probability_of_backtest_overfitting": "research.overfitting.pbo",
    "EffectiveTrials": "research.overfitting.trials",
    "effective_number_of_trials": "research.overfitting.trials",
    "walk_forward_efficiency": "research.overfitting.efficiency",
    "sharpe_efficiency": "research.overfitting.efficiency",
    "SPAResult": "research.overfitting.spa",
    "spa_test": "research.overfitting.spa",
    "StabilityResult": "research.overfitting.stability",
    "neighbourhood": "research.overfitting.stability",
    "parameter_stability": "research.overfitting.stability",
    "parameter_stability_from_trials": "research.overfitting.stability",
    "stability_heatmap": "research.overfitting.stability",
    "CPCVResult": "research.overfitting.cpcv",
    "cpcv_sharpe_distribution": "research.overfitting.cpcv",
}

__all__ = [
    "EULER_GAMMA",
    "sharpe_per_period",
    "return_moments",
    "probabilistic_sharpe_ratio",
    "expected_max_sharpe",
    "deflated_sharpe_ratio",
    "minimum_track_record_length",
    "minimum_backtest_length",
    "PBOResult",
    "probability_of_backtest_overfitting",
    "EffectiveTrials",
    "effective_number_of_trials",
    "walk_forward_efficiency",
    "sharpe_efficiency",
    "SPAResult",
    "spa_test",
    "StabilityResult",
    "neighbourhood",
    "parameter_stability",
    "parameter_stability_from_trials",
    "stability_heatmap",
    "CPCVResult",
    "cpcv_sharpe_distribution",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)


if TYPE_CHECKING:  # static analysers and IDEs see the real names
    from research.overfitting.cpcv import CPCVResult, cpcv_sharpe_distribution
    from research.overfitting.efficiency import sharpe_efficiency, walk_forward_efficiency
    from research.overfitting.pbo import PBOResult, probability_of_backtest_overfitting
    from research.overfitting.sharpe import (
        EULER_GAMMA,
        deflated_sharpe_ratio,
        expected_max_sharpe,
        minimum_backtest_length,
        minimum_track_record_length,
        probabilistic_sharpe_ratio,
        return_moments,
        sharpe_per_period,
    )
    from research.overfitting.spa import SPAResult, spa_test
    from research.overfitting.stability import (
        StabilityResult,
        neighbourhood,
        parameter_stability,
        parameter_stability_from_trials,
        stability_heatmap,
    )
    from research.overfitting.trials import EffectiveTrials, effective_number_of_trials
