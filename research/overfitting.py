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
* :func:`walk_forward_efficiency`, :func:`spa_test` (White's Reality Check, Hansen's SPA).
* Re-exported: parameter stability (:mod:`research._stability`) and the distribution of
  out-of-sample Sharpe ratios over combinatorial purged cross-validation paths
  (:mod:`research._cpcv`, splits from :class:`backtest.splitters.CombinatorialPurged`).

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

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from data_loaders.errors import DataTooShortError, DataValidationError, ParameterError
from research._cpcv import CPCVResult, cpcv_sharpe_distribution
from research._overfitting_nb import block_moments_nb, cscv_select_nb, cscv_sharpe_nb
from research._stability import (
    StabilityResult,
    neighbourhood,
    parameter_stability,
    parameter_stability_from_trials,
    stability_heatmap,
)

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
    "SPAResult",
    "spa_test",
    # parameter stability (research._stability)
    "StabilityResult",
    "neighbourhood",
    "parameter_stability",
    "parameter_stability_from_trials",
    "stability_heatmap",
    # combinatorial purged cross-validation paths (research._cpcv)
    "CPCVResult",
    "cpcv_sharpe_distribution",
]

#: Euler-Mascheroni constant, used by the expected maximum of N normal draws.
EULER_GAMMA = 0.5772156649015329


# --------------------------------------------------------------------------------------------
# moments of a returns series
# --------------------------------------------------------------------------------------------
def _as_returns_1d(returns: Any, name: str = "returns") -> np.ndarray:
    arr = np.asarray(returns, dtype=float)
    if arr.ndim != 1:
        raise DataValidationError(f"`{name}` must be 1-D, got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        pos = int(np.argmax(bad))
        where = returns.index[pos] if isinstance(returns, pd.Series) else pos
        raise DataValidationError(
            f"`{name}` must be finite, got {float(arr[pos])} at {where} (drop or fill missing periods)"
        )
    return arr


def sharpe_per_period(returns: Any) -> float:
    """Per-period Sharpe ratio ``mean / std(ddof=1)`` of simple returns, risk-free rate 0.

    A zero standard deviation gives 0.0 for a zero mean and ``+-inf`` otherwise. Not annualised.
    """
    arr = _as_returns_1d(returns)
    if arr.size < 2:
        raise DataTooShortError(f"a Sharpe ratio needs at least 2 returns, got {arr.size}")
    mu, sd = arr.mean(), arr.std(ddof=1)
    if sd == 0.0:
        return 0.0 if mu == 0.0 else math.copysign(math.inf, mu)
    return float(mu / sd)


def return_moments(returns: Any) -> dict[str, float]:
    """Per-period Sharpe ratio, skewness, raw kurtosis and count of a returns series.

    Returns:
        ``{"sharpe", "skew", "kurtosis", "n_obs"}``: Sharpe per period (``ddof=1``), biased
        (population) skewness and raw kurtosis (normal = 3); a constant series gets skew 0 and
        kurtosis 3 (the moments are undefined; these values leave the PSR formula unchanged).
    """
    arr = _as_returns_1d(returns)
    sharpe = sharpe_per_period(arr)
    if arr.std() == 0.0:
        skew, kurt = 0.0, 3.0
    else:
        skew = float(stats.skew(arr, bias=True))
        kurt = float(stats.kurtosis(arr, fisher=False, bias=True))
    return {"sharpe": sharpe, "skew": skew, "kurtosis": kurt, "n_obs": int(arr.size)}


# --------------------------------------------------------------------------------------------
# closed forms
# --------------------------------------------------------------------------------------------
def _sharpe_std_factor(sharpe: float, skew: float, kurtosis: float) -> float:
    """``1 - skew*SR + (kurt-1)/4 * SR^2``, the variance factor of the Sharpe estimator."""
    factor = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if not factor > 0.0:
        raise ParameterError(
            "`1 - skew*sharpe + (kurtosis-1)/4*sharpe^2` must be > 0, got "
            f"{factor:.6g} for sharpe={sharpe}, skew={skew}, kurtosis={kurtosis} "
            "(sample moments always satisfy kurtosis >= skew^2 + 1; is kurtosis raw, normal = 3?)"
        )
    return factor


def probabilistic_sharpe_ratio(
    sharpe: float,
    n_obs: int,
    skew: float = 0.0,
    kurtosis: float = 3.0,
    sharpe_benchmark: float = 0.0,
) -> float:
    """Probability that the true Sharpe ratio exceeds ``sharpe_benchmark`` (Bailey & LdP 2012).

    ``PSR = Phi((SR - SR*) sqrt(n - 1) / sqrt(1 - skew*SR + (kurt - 1)/4 * SR^2))``.

    Args:
        sharpe: observed Sharpe ratio **per period** (not annualised).
        n_obs: number of returns it was measured on (``>= 2``).
        skew: skewness of those returns.
        kurtosis: **raw** kurtosis of those returns (normal = 3).
        sharpe_benchmark: the benchmark ``SR*``, per period.

    Returns:
        PSR in ``[0, 1]``.
    """
    if n_obs < 2:
        raise DataTooShortError(f"`n_obs` must be >= 2 for a PSR, got n_obs={n_obs}")
    factor = _sharpe_std_factor(sharpe, skew, kurtosis)
    z = (sharpe - sharpe_benchmark) * math.sqrt(n_obs - 1.0) / math.sqrt(factor)
    return float(stats.norm.cdf(z))


def expected_max_sharpe(n_trials: float, trials_sharpe_variance: float) -> float:
    """Expected maximum Sharpe ratio of ``n_trials`` independent zero-skill trials (BLdP 2014).

    ``E[max SR] ~ sqrt(V) * ((1 - g) Phi^-1(1 - 1/N) + g Phi^-1(1 - 1/(N e)))`` with ``g`` the
    Euler-Mascheroni constant and ``V`` the variance of the trials' Sharpe ratios (mean 0 assumed).
    The result is in the units of ``sqrt(V)``: per-period variance gives a per-period Sharpe.
    One trial (``N = 1``) involves no selection and gives 0.

    Args:
        n_trials: number of (effectively independent) trials, ``>= 1``; may be fractional.
        trials_sharpe_variance: variance across trials of their Sharpe ratios, ``>= 0``.
    """
    if not n_trials >= 1:
        raise ParameterError(f"`n_trials` must be >= 1, got n_trials={n_trials}")
    if not trials_sharpe_variance >= 0:
        raise ParameterError(f"`trials_sharpe_variance` must be >= 0, got {trials_sharpe_variance}")
    if n_trials == 1 or trials_sharpe_variance == 0:
        return 0.0
    z = (1.0 - EULER_GAMMA) * stats.norm.ppf(1.0 - 1.0 / n_trials) + EULER_GAMMA * stats.norm.ppf(
        1.0 - 1.0 / (n_trials * math.e)
    )
    return float(math.sqrt(trials_sharpe_variance) * z)


def deflated_sharpe_ratio(
    sharpe: float,
    n_obs: int,
    n_trials: float,
    trials_sharpe_variance: float,
    skew: float = 0.0,
    kurtosis: float = 3.0,
) -> float:
    """Deflated Sharpe ratio (Bailey & Lopez de Prado 2014): PSR against the luck benchmark.

    ``DSR = PSR(SR* = expected_max_sharpe(N, V))``: the probability that the selected strategy's
    true Sharpe ratio beats the best that ``N`` zero-skill trials would show by chance.

    Args:
        sharpe: the selected strategy's Sharpe ratio, **per period**.
        n_obs: number of returns behind ``sharpe``.
        n_trials: number of trials of the search (raw or effective count), ``>= 1``.
        trials_sharpe_variance: variance of the trials' Sharpe ratios, **per period squared**.
        skew, kurtosis: skewness and **raw** kurtosis of the selected strategy's returns.

    Example (the paper's numerical example, 250 periods a year): annual SR 2.5 over 5 years of
    daily returns (``n_obs=1250``), ``N=100`` trials with annualised variance 1/2, skew -3,
    kurtosis 10 -> ``deflated_sharpe_ratio(2.5/sqrt(250), 1250, 100, 0.5/250, -3, 10) ~ 0.9004``.
    """
    benchmark = expected_max_sharpe(n_trials, trials_sharpe_variance)
    return probabilistic_sharpe_ratio(sharpe, n_obs, skew, kurtosis, benchmark)


def minimum_track_record_length(
    sharpe: float,
    skew: float = 0.0,
    kurtosis: float = 3.0,
    sharpe_benchmark: float = 0.0,
    confidence: float = 0.95,
) -> float:
    """Minimum number of observations for ``PSR(sharpe_benchmark) >= confidence`` (BLdP 2012).

    ``MinTRL = 1 + (1 - skew*SR + (kurt - 1)/4 * SR^2) * (Phi^-1(confidence) / (SR - SR*))^2``,
    in observations of the returns' own frequency (per-period Sharpe ratios, raw kurtosis).
    Returns ``inf`` when ``sharpe <= sharpe_benchmark``: no track record is long enough.
    """
    if not 0.0 < confidence < 1.0:
        raise ParameterError(f"`confidence` must be in (0, 1), got confidence={confidence}")
    factor = _sharpe_std_factor(sharpe, skew, kurtosis)
    if sharpe <= sharpe_benchmark:
        return math.inf
    z = stats.norm.ppf(confidence)
    return float(1.0 + factor * (z / (sharpe - sharpe_benchmark)) ** 2)


def minimum_backtest_length(
    n_trials: float, target_sharpe_annual: float = 1.0, *, upper_bound: bool = False
) -> float:
    """Minimum backtest length in **years** (Bailey, Borwein, Lopez de Prado & Zhu 2014).

    With ``N`` independent trials of zero true skill, the expected maximum in-sample annualised
    Sharpe ratio after ``y`` years is ``E[max] ~ y^-1/2 ((1-g) Phi^-1(1-1/N) + g Phi^-1(1-1/(Ne)))``.
    MinBTL is the ``y`` at which that expected maximum equals ``target_sharpe_annual``::

        MinBTL ~ (((1-g) Phi^-1(1-1/N) + g Phi^-1(1-1/(Ne))) / E[max_N])^2  <  2 ln N / E[max_N]^2

    A shorter backtest lets ``N`` trials reach the target annual Sharpe by luck alone. E.g. with
    5 years of data no more than 45 independent configurations should be tried for a target of 1.

    Args:
        n_trials: number of independent trials ``N >= 1`` (1 gives 0 years).
        target_sharpe_annual: the annualised in-sample Sharpe ratio ``E[max_N]`` not to be
            reached by luck, ``> 0``.
        upper_bound: return the paper's bound ``2 ln N / E[max_N]^2`` instead.
    """
    if not n_trials >= 1:
        raise ParameterError(f"`n_trials` must be >= 1, got n_trials={n_trials}")
    if not target_sharpe_annual > 0:
        raise ParameterError(
            f"`target_sharpe_annual` must be > 0, got target_sharpe_annual={target_sharpe_annual}"
        )
    if n_trials == 1:
        return 0.0
    if upper_bound:
        return float(2.0 * math.log(n_trials) / target_sharpe_annual**2)
    return float((expected_max_sharpe(n_trials, 1.0) / target_sharpe_annual) ** 2)


# --------------------------------------------------------------------------------------------
# probability of backtest overfitting (CSCV)
# --------------------------------------------------------------------------------------------
@dataclass
class PBOResult:
    """Outcome of :func:`probability_of_backtest_overfitting`.

    Attributes:
        pbo: share of combinations whose logit is ``<= 0`` (the in-sample best trial ranks at
            or below the out-of-sample median).
        logits: ``(C,)`` logits ``ln(w / (1 - w))`` of the relative rank ``w = rank / (N + 1)``.
        is_performance: ``(C,)`` in-sample performance of each combination's in-sample best.
        oos_performance: ``(C,)`` out-of-sample performance of that same trial.
        best_is_index: ``(C,)`` column index of the in-sample best trial.
        oos_rank: ``(C,)`` its 1-based out-of-sample rank (rank N = best, ties averaged).
        degradation_slope, degradation_intercept, degradation_r2: OLS fit of
            ``oos_performance`` on ``is_performance`` (a negative slope = performance degrades).
        prob_loss: share of combinations with ``oos_performance < 0``.
        n_trials, n_partitions, n_combinations: ``N``, ``S`` and ``C = C(S, S/2)``.
        n_rows_used, n_rows_dropped: rows used and remainder rows dropped at the end.
        metric: name of the performance measure.
    """

    pbo: float
    logits: np.ndarray
    is_performance: np.ndarray
    oos_performance: np.ndarray
    best_is_index: np.ndarray
    oos_rank: np.ndarray
    degradation_slope: float
    degradation_intercept: float
    degradation_r2: float
    prob_loss: float
    n_trials: int
    n_partitions: int
    n_combinations: int
    n_rows_used: int
    n_rows_dropped: int
    metric: str = "sharpe_per_period"

    def summary(self) -> dict[str, float]:
        """The scalar results as a dict (for tables and run records)."""
        return {
            "pbo": self.pbo,
            "prob_loss": self.prob_loss,
            "degradation_slope": self.degradation_slope,
            "degradation_intercept": self.degradation_intercept,
            "degradation_r2": self.degradation_r2,
            "n_trials": self.n_trials,
            "n_partitions": self.n_partitions,
            "n_combinations": self.n_combinations,
        }


def _as_returns_matrix(returns_matrix: Any, name: str = "returns_matrix") -> np.ndarray:
    arr = np.asarray(returns_matrix, dtype=float)
    if arr.ndim != 2:
        raise DataValidationError(
            f"`{name}` must be 2-D (T periods x N trials), got shape {arr.shape}"
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        row, col = (int(x) for x in np.argwhere(bad)[0])
        if isinstance(returns_matrix, pd.DataFrame):
            where = f"row {returns_matrix.index[row]}, column {returns_matrix.columns[col]!r}"
        else:
            where = f"row {row}, column {col}"
        raise DataValidationError(
            f"`{name}` must be finite, got {float(arr[row, col])} at {where} "
            "(align the trials on common periods and fill flat periods with 0)"
        )
    return arr


def _ols_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Slope, intercept and R^2 of ``y ~ a + b x`` (NaN when ``x`` has no spread)."""
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 2 or np.ptp(x) == 0.0:
        return math.nan, math.nan, math.nan
    xm, ym = x.mean(), y.mean()
    sxx = np.sum((x - xm) ** 2)
    slope = float(np.sum((x - xm) * (y - ym)) / sxx)
    intercept = float(ym - slope * xm)
    sst = np.sum((y - ym) ** 2)
    r2 = float(1.0 - np.sum((y - intercept - slope * x) ** 2) / sst) if sst > 0 else math.nan
    return slope, intercept, r2


def probability_of_backtest_overfitting(
    returns_matrix: Any,
    n_partitions: int = 16,
    metric: Callable[[np.ndarray], np.ndarray] | None = None,
) -> PBOResult:
    """Probability of backtest overfitting by combinatorially symmetric cross-validation.

    The ``T`` rows are cut into ``S = n_partitions`` equal contiguous blocks; the ``T mod S``
    remainder rows **at the end** are dropped (reported in ``n_rows_dropped``). For each of the
    ``C(S, S/2)`` ways to pick ``S/2`` blocks as the in-sample set (the other half is the
    out-of-sample set, both in time order), the trial with the best in-sample performance is
    selected and its out-of-sample rank ``r`` among the ``N`` trials is turned into the relative
    rank ``w = r / (N + 1)`` and the logit ``ln(w / (1 - w))``. PBO is the share of logits ``<= 0``.

    Args:
        returns_matrix: ``(T, N)`` per-period returns, one column per trial (DataFrame or array),
            finite values only, ``N >= 2``.
        n_partitions: even number ``S >= 2`` of blocks (16 in the paper: 12,870 combinations).
        metric: performance measure, higher is better; ``None`` = per-period Sharpe ratio
            (``ddof=1``, computed from block moments, fast). A callable receives the ``(rows, N)``
            returns of one half (blocks concatenated in time order) and returns ``(N,)`` values.

    Returns:
        A :class:`PBOResult`.
    """
    arr = _as_returns_matrix(returns_matrix)
    n_rows, n_trials = arr.shape
    if isinstance(n_partitions, bool) or not isinstance(n_partitions, (int, np.integer)):
        raise ParameterError(f"`n_partitions` must be an even integer, got {n_partitions!r}")
    if n_partitions < 2 or n_partitions % 2:
        raise ParameterError(f"`n_partitions` must be an even integer >= 2, got {n_partitions}")
    if n_trials < 2:
        raise DataValidationError(f"PBO needs at least 2 trials (columns) to rank, got {n_trials}")
    block = n_rows // n_partitions
    if block < 2:
        raise DataTooShortError(
            f"PBO with n_partitions={n_partitions} needs at least {2 * n_partitions} rows "
            f"(2 per block), got {n_rows}"
        )
    used = block * n_partitions
    arr = arr[:used]
    is_blocks = np.array(
        list(itertools.combinations(range(n_partitions), n_partitions // 2)), dtype=np.int64
    )
    in_sample = np.zeros((len(is_blocks), n_partitions), dtype=bool)
    in_sample[np.arange(len(is_blocks))[:, None], is_blocks] = True
    oos_blocks = np.nonzero(~in_sample)[1].reshape(len(is_blocks), -1).astype(np.int64)

    if metric is None:
        count, mean, m2 = block_moments_nb(np.ascontiguousarray(arr), n_partitions)
        best, is_perf, oos_perf, oos_rank = cscv_sharpe_nb(count, mean, m2, is_blocks, oos_blocks)
        metric_name = "sharpe_per_period"
    else:
        blocks = arr.reshape(n_partitions, block, n_trials)
        is_mat = np.empty((len(is_blocks), n_trials))
        oos_mat = np.empty((len(is_blocks), n_trials))
        for c, (ib, ob) in enumerate(zip(is_blocks, oos_blocks)):
            is_mat[c] = _call_metric(metric, blocks[ib].reshape(-1, n_trials), n_trials)
            oos_mat[c] = _call_metric(metric, blocks[ob].reshape(-1, n_trials), n_trials)
        best, is_perf, oos_perf, oos_rank = cscv_select_nb(is_mat, oos_mat)
        metric_name = getattr(metric, "__name__", "custom")

    w = oos_rank / (n_trials + 1.0)
    logits = np.log(w / (1.0 - w))
    slope, intercept, r2 = _ols_fit(is_perf, oos_perf)
    return PBOResult(
        pbo=float(np.mean(logits <= 0.0)),
        logits=logits,
        is_performance=is_perf,
        oos_performance=oos_perf,
        best_is_index=best,
        oos_rank=oos_rank,
        degradation_slope=slope,
        degradation_intercept=intercept,
        degradation_r2=r2,
        prob_loss=float(np.mean(oos_perf < 0.0)),
        n_trials=n_trials,
        n_partitions=n_partitions,
        n_combinations=len(is_blocks),
        n_rows_used=used,
        n_rows_dropped=n_rows - used,
        metric=metric_name,
    )


def _call_metric(metric: Callable, block_returns: np.ndarray, n_trials: int) -> np.ndarray:
    values = np.asarray(metric(block_returns), dtype=float).reshape(-1)
    if values.shape != (n_trials,):
        raise ParameterError(
            f"`metric` must return one value per trial, shape ({n_trials},), got {values.shape}"
        )
    return values


# --------------------------------------------------------------------------------------------
# effective number of trials
# --------------------------------------------------------------------------------------------
@dataclass
class EffectiveTrials:
    """Outcome of :func:`effective_number_of_trials`.

    Attributes:
        n_trials: raw number of trials.
        n_effective: number of correlation clusters (the effective number of independent trials).
        labels: ``(N,)`` cluster label of each trial (1..n_effective).
        trial_sharpes: ``(N,)`` per-period Sharpe ratio of each trial.
        cluster_sharpes: ``(K,)`` per-period Sharpe ratio of each cluster's equal-risk portfolio.
        sharpe_variance: variance (``ddof=1``) of ``cluster_sharpes`` (0 when ``K = 1``): the
            ``trials_sharpe_variance`` to use with ``n_effective`` in the DSR.
        raw_sharpe_variance: variance (``ddof=1``) of ``trial_sharpes``, to use with ``n_trials``.
        min_correlation: the clustering threshold.
    """

    n_trials: int
    n_effective: int
    labels: np.ndarray
    trial_sharpes: np.ndarray
    cluster_sharpes: np.ndarray
    sharpe_variance: float
    raw_sharpe_variance: float
    min_correlation: float


def effective_number_of_trials(
    returns_matrix: Any = None,
    *,
    trial_sharpes: Any = None,
    correlation: Any = None,
    min_correlation: float = 0.5,
    linkage: str = "average",
) -> EffectiveTrials:
    """Effective number of independent trials from correlation clusters (ONC-lite).

    The trials' return correlations ``rho`` become distances ``d = sqrt((1 - rho) / 2)``; a
    hierarchical clustering (``linkage``, average by default) is cut at the distance of
    ``min_correlation``, so trials whose (average) correlation is at least ``min_correlation``
    share a cluster. The number of clusters is the effective number of trials (independent noise
    trials stay apart, a sweep over neighbouring parameters collapses to a few clusters).

    Each cluster is summarised by the equal-risk (each member scaled to unit volatility, equal
    weights) portfolio of its members, whose per-period Sharpe ratio is
    ``mean(SR_i) / sqrt(mean_ij rho_ij)``; the variance of those cluster Sharpe ratios is the
    variance to pair with the effective count in :func:`deflated_sharpe_ratio` (Lopez de Prado
    2019, "A data science solution to the multiple-testing crisis").

    Args:
        returns_matrix: ``(T, N)`` per-period returns, one column per trial; or ``None`` and give
            ``trial_sharpes`` and ``correlation`` instead.
        trial_sharpes: ``(N,)`` per-period Sharpe ratios (only without ``returns_matrix``).
        correlation: ``(N, N)`` correlation matrix of the trials' returns (idem).
        min_correlation: correlation in ``(-1, 1)`` at and above which trials are merged.
        linkage: ``scipy.cluster.hierarchy.linkage`` method: average, complete, single, weighted.
    """
    from scipy.cluster import hierarchy
    from scipy.spatial.distance import squareform

    if not -1.0 < min_correlation < 1.0:
        raise ParameterError(f"`min_correlation` must be in (-1, 1), got {min_correlation}")
    if linkage not in ("average", "complete", "single", "weighted"):
        raise ParameterError(
            f"`linkage` must be one of average, complete, single, weighted, got {linkage!r}"
        )
    if returns_matrix is not None:
        if trial_sharpes is not None or correlation is not None:
            raise ParameterError(
                "give either `returns_matrix` or `trial_sharpes` + `correlation`, not both"
            )
        arr = _as_returns_matrix(returns_matrix)
        if arr.shape[0] < 3:
            raise DataTooShortError(f"effective trials need at least 3 periods, got {arr.shape[0]}")
        sharpes = np.array([sharpe_per_period(arr[:, j]) for j in range(arr.shape[1])])
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.corrcoef(arr, rowvar=False).reshape(arr.shape[1], arr.shape[1])
    else:
        if trial_sharpes is None or correlation is None:
            raise ParameterError(
                "`effective_number_of_trials` needs `returns_matrix`, or both `trial_sharpes` "
                "and `correlation`"
            )
        sharpes = np.asarray(trial_sharpes, dtype=float).reshape(-1)
        corr = np.array(correlation, dtype=float)
        if corr.shape != (sharpes.size, sharpes.size):
            raise DataValidationError(
                f"`correlation` must be ({sharpes.size}, {sharpes.size}) to match "
                f"`trial_sharpes`, got {corr.shape}"
            )
    n = sharpes.size
    if n < 1:
        raise DataValidationError("effective trials need at least one trial, got 0")
    if not np.all(np.isfinite(sharpes)):
        raise DataValidationError(
            "trial Sharpe ratios must be finite (a constant non-zero return column has an "
            "infinite Sharpe ratio)"
        )
    # constant columns have undefined correlations: treat them as uncorrelated with the rest
    corr = np.where(np.isfinite(corr), corr, 0.0)
    corr = np.clip((corr + corr.T) / 2.0, -1.0, 1.0)
    np.fill_diagonal(corr, 1.0)
    if n == 1:
        labels = np.ones(1, dtype=int)
    else:
        dist = np.sqrt(np.clip((1.0 - corr) / 2.0, 0.0, None))
        np.fill_diagonal(dist, 0.0)
        tree = hierarchy.linkage(squareform(dist, checks=False), method=linkage)
        cut = math.sqrt((1.0 - min_correlation) / 2.0)
        labels = hierarchy.fcluster(tree, t=cut, criterion="distance")
    cluster_ids = np.unique(labels)
    cluster_sharpes = np.empty(cluster_ids.size)
    for i, cid in enumerate(cluster_ids):
        members = np.flatnonzero(labels == cid)
        mean_corr = corr[np.ix_(members, members)].mean()
        cluster_sharpes[i] = sharpes[members].mean() / math.sqrt(max(mean_corr, 1e-12))
    k = cluster_ids.size
    return EffectiveTrials(
        n_trials=n,
        n_effective=int(k),
        labels=labels.astype(int),
        trial_sharpes=sharpes,
        cluster_sharpes=cluster_sharpes,
        sharpe_variance=float(np.var(cluster_sharpes, ddof=1)) if k > 1 else 0.0,
        raw_sharpe_variance=float(np.var(sharpes, ddof=1)) if n > 1 else 0.0,
        min_correlation=min_correlation,
    )


# --------------------------------------------------------------------------------------------
# walk-forward efficiency
# --------------------------------------------------------------------------------------------
def walk_forward_efficiency(is_performance: Any, oos_performance: Any) -> float:
    """Walk-forward efficiency: mean out-of-sample over mean in-sample performance (Pardo).

    Both arguments are per-fold values (or scalars) of the **same annualised** measure (for
    example the annualised Sharpe ratio or return of each fold's pick in its training window and
    in its test window). 1 means the out-of-sample keeps all of the in-sample performance; values
    near 0 or negative mean it did not carry over. Undefined (NaN) when the mean in-sample
    performance is not positive.
    """
    is_arr = np.atleast_1d(np.asarray(is_performance, dtype=float))
    oos_arr = np.atleast_1d(np.asarray(oos_performance, dtype=float))
    if is_arr.shape != oos_arr.shape:
        raise DataValidationError(
            "`is_performance` and `oos_performance` need one value per fold each, got shapes "
            f"{is_arr.shape} and {oos_arr.shape}"
        )
    if is_arr.size == 0 or not (np.all(np.isfinite(is_arr)) and np.all(np.isfinite(oos_arr))):
        raise DataValidationError("walk-forward efficiency needs finite per-fold values")
    mean_is = is_arr.mean()
    if mean_is <= 0:
        return math.nan
    return float(oos_arr.mean() / mean_is)


# --------------------------------------------------------------------------------------------
# White's Reality Check and Hansen's SPA (arch.bootstrap.SPA)
# --------------------------------------------------------------------------------------------
@dataclass
class SPAResult:
    """Outcome of :func:`spa_test`.

    Attributes:
        consistent: Hansen's SPA p-value (re-centres only models not too far below the
            benchmark).
        lower: p-value that never re-centres models worse than the benchmark (liberal).
        upper: p-value that re-centres every model: White's Reality Check (conservative).
        reality_check: same as ``upper``.
        best_model: name of the model with the highest mean excess return.
        mean_excess: per-model mean per-period return in excess of the benchmark.
        n_models, n_obs, reps, block_size, bootstrap, seed: the set-up.
    """

    consistent: float
    lower: float
    upper: float
    reality_check: float
    best_model: str
    mean_excess: pd.Series
    n_models: int
    n_obs: int
    reps: int
    block_size: int
    bootstrap: str
    seed: int | None


def spa_test(
    returns: Any,
    benchmark: Any = None,
    *,
    block_size: int | None = None,
    reps: int = 1000,
    bootstrap: str = "stationary",
    seed: int | None = 0,
) -> SPAResult:
    """Does any model beat the benchmark once the search over all of them is accounted for?

    Runs ``arch.bootstrap.SPA`` with losses ``= -returns``; the null hypothesis is that no model
    has a higher expected per-period return than the benchmark. Small p-values reject it.

    Note on arch 8.0 (read from its source): the bootstrap compares the maximum *mean* excess
    return with its re-centred bootstrap distribution; the studentisation variances only enter
    the "consistent" re-centring threshold. The ``upper`` p-value is White's Reality Check.

    Args:
        returns: ``(T, K)`` per-period returns of the candidate models (DataFrame: column names
            become model names), finite, aligned with ``benchmark``.
        benchmark: ``(T,)`` per-period benchmark returns; ``None`` = zero (staying in cash).
        block_size: bootstrap block length; ``None`` = ``sqrt(T)`` (arch's default).
        reps: bootstrap replications.
        bootstrap: ``"stationary"``, ``"circular"`` or ``"moving block"``.
        seed: random seed (results are reproducible for a given seed).
    """
    from arch.bootstrap import SPA

    frame = returns if isinstance(returns, pd.DataFrame) else None
    arr = np.asarray(returns, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    arr = _as_returns_matrix(frame if frame is not None else arr, "returns")
    names = (
        [str(c) for c in frame.columns]
        if frame is not None
        else [f"model_{j}" for j in range(arr.shape[1])]
    )
    n_obs = arr.shape[0]
    if n_obs < 10:
        raise DataTooShortError(f"the SPA test needs at least 10 periods, got {n_obs}")
    if benchmark is None:
        bench = np.zeros(n_obs)
    else:
        bench = _as_returns_1d(benchmark, "benchmark")
        if bench.shape[0] != n_obs:
            raise DataValidationError(
                f"`benchmark` must have one return per period of `returns` ({n_obs}), "
                f"got {bench.shape[0]}"
            )
    if reps < 1:
        raise ParameterError(f"`reps` must be >= 1, got reps={reps}")
    valid = ("stationary", "sb", "circular", "cbb", "moving block", "mbb")
    if bootstrap not in valid:
        raise ParameterError(f"`bootstrap` must be one of {valid}, got {bootstrap!r}")
    if block_size is not None and not 1 <= block_size <= n_obs:
        raise ParameterError(f"`block_size` must be in [1, {n_obs}], got {block_size}")
    spa = SPA(-bench, -arr, block_size=block_size, reps=reps, bootstrap=bootstrap, seed=seed)
    spa.compute()
    pv = spa.pvalues
    excess = pd.Series(arr.mean(axis=0) - bench.mean(), index=names, name="mean_excess")
    return SPAResult(
        consistent=float(pv["consistent"]),
        lower=float(pv["lower"]),
        upper=float(pv["upper"]),
        reality_check=float(pv["upper"]),
        best_model=str(excess.idxmax()),
        mean_excess=excess,
        n_models=arr.shape[1],
        n_obs=n_obs,
        reps=reps,
        block_size=int(spa.block_size),
        bootstrap=bootstrap,
        seed=seed,
    )
