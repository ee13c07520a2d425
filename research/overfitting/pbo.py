"""Probability of backtest overfitting by combinatorially symmetric cross-validation (CSCV;
Bailey, Borwein, Lopez de Prado & Zhu 2017). Numeric kernels in :mod:`research.overfitting._nb`."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from data_loaders.errors import DataTooShortError, DataValidationError, ParameterError
from research.overfitting._inputs import as_returns_matrix
from research.overfitting._nb import block_moments_nb, cscv_select_nb, cscv_sharpe_nb

__all__ = ["PBOResult", "probability_of_backtest_overfitting"]


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
        names = ("pbo", "prob_loss", "degradation_slope", "degradation_intercept")
        names += ("degradation_r2", "n_trials", "n_partitions", "n_combinations")
        return {name: getattr(self, name) for name in names}


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
    arr = as_returns_matrix(returns_matrix)
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
