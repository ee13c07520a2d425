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
:mod:`~research.overfitting.cpcv`; numba kernels in :mod:`research.overfitting._nb`.

References:
    Bailey, D. H. & Lopez de Prado, M. (2012). The Sharpe ratio efficient frontier. Journal of
    Risk 15(2). Bailey & Lopez de Prado (2014). The deflated Sharpe ratio. Journal of Portfolio
    Management 40(5). Bailey, Borwein, Lopez de Prado & Zhu (2014). Pseudo-mathematics and
    financial charlatanism. Notices of the AMS 61(5). Bailey, Borwein, Lopez de Prado & Zhu
    (2017). The probability of backtest overfitting. Journal of Computational Finance 20(4).
    White, H. (2000). A reality check for data snooping. Hansen, P. R. (2005). A test for
    superior predictive ability.
"""

from research.overfitting import cpcv, efficiency, pbo, sharpe, spa, stability, trials
from research.overfitting.cpcv import *  # noqa: F403 - each module's public names
from research.overfitting.efficiency import *  # noqa: F403
from research.overfitting.pbo import *  # noqa: F403
from research.overfitting.sharpe import *  # noqa: F403
from research.overfitting.spa import *  # noqa: F403
from research.overfitting.stability import *  # noqa: F403
from research.overfitting.trials import *  # noqa: F403

__all__ = [
    *sharpe.__all__,
    *pbo.__all__,
    *trials.__all__,
    *efficiency.__all__,
    *spa.__all__,
    *stability.__all__,
    *cpcv.__all__,
]
