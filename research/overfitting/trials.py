"""Effective number of independent trials: correlation clusters of the trials' returns, for an
honest ``N`` in the deflated Sharpe ratio."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from data_loaders.errors import DataTooShortError, DataValidationError, ParameterError
from research.overfitting._inputs import as_returns_matrix
from research.overfitting.sharpe import sharpe_per_period

__all__ = ["EffectiveTrials", "effective_number_of_trials"]


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
    if not -1.0 < min_correlation < 1.0:
        raise ParameterError(f"`min_correlation` must be in (-1, 1), got {min_correlation}")
    if linkage not in ("average", "complete", "single", "weighted"):
        raise ParameterError(
            f"`linkage` must be one of average, complete, single, weighted, got {linkage!r}"
        )
    sharpes, corr = _sharpes_and_correlation(returns_matrix, trial_sharpes, correlation)
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
    labels = _cluster_labels(corr, min_correlation, linkage)
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


def _sharpes_and_correlation(
    returns_matrix: Any, trial_sharpes: Any, correlation: Any
) -> tuple[np.ndarray, np.ndarray]:
    """The trials' per-period Sharpe ratios and return correlations, from the returns or as
    given (exactly one of the two ways)."""
    if returns_matrix is not None:
        if trial_sharpes is not None or correlation is not None:
            raise ParameterError(
                "give either `returns_matrix` or `trial_sharpes` + `correlation`, not both"
            )
        arr = as_returns_matrix(returns_matrix)
        if arr.shape[0] < 3:
            raise DataTooShortError(f"effective trials need at least 3 periods, got {arr.shape[0]}")
        sharpes = np.array([sharpe_per_period(arr[:, j]) for j in range(arr.shape[1])])
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.corrcoef(arr, rowvar=False).reshape(arr.shape[1], arr.shape[1])
        return sharpes, corr
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
    return sharpes, corr


def _cluster_labels(corr: np.ndarray, min_correlation: float, linkage: str) -> np.ndarray:
    """Cluster label of each trial: hierarchical clustering on ``sqrt((1 - rho) / 2)`` cut at
    the distance of ``min_correlation``."""
    from scipy.cluster import hierarchy
    from scipy.spatial.distance import squareform

    if corr.shape[0] == 1:
        return np.ones(1, dtype=int)
    dist = np.sqrt(np.clip((1.0 - corr) / 2.0, 0.0, None))
    np.fill_diagonal(dist, 0.0)
    tree = hierarchy.linkage(squareform(dist, checks=False), method=linkage)
    cut = math.sqrt((1.0 - min_correlation) / 2.0)
    return hierarchy.fcluster(tree, t=cut, criterion="distance")
