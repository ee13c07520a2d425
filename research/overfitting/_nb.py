"""Numeric kernels of :mod:`research.overfitting`: arrays in, arrays out, no pandas.

Conventions shared with the public wrappers:

* a per-period Sharpe ratio is ``mean / std`` with the sample standard deviation (``ddof=1``)
  and no risk-free rate; a zero deviation gives ``0.0`` for a zero mean and ``+-inf`` otherwise;
* ranks are 1-based and ascending (rank 1 = worst), ties get the average rank.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "block_moments_nb",
    "sharpe_from_moments_nb",
    "average_rank_nb",
    "cscv_sharpe_nb",
    "cscv_select_nb",
]


@njit(cache=True)
def block_moments_nb(returns: np.ndarray, n_blocks: int) -> tuple:
    """Count, mean and centred sum of squares of ``n_blocks`` equal contiguous row blocks.

    Args:
        returns: ``(T, N)`` float array; ``T`` must be a multiple of ``n_blocks``.
        n_blocks: number of blocks ``S``.

    Returns:
        ``(count (S,), mean (S, N), m2 (S, N))`` where ``m2`` is ``sum((x - mean)**2)``.
    """
    t, n = returns.shape
    size = t // n_blocks
    count = np.full(n_blocks, size, dtype=np.int64)
    mean = np.zeros((n_blocks, n))
    m2 = np.zeros((n_blocks, n))
    for s in range(n_blocks):
        start = s * size
        for j in range(n):
            acc = 0.0
            for i in range(start, start + size):
                acc += returns[i, j]
            mu = acc / size
            sq = 0.0
            for i in range(start, start + size):
                d = returns[i, j] - mu
                sq += d * d
            mean[s, j] = mu
            m2[s, j] = sq
    return count, mean, m2


@njit(cache=True)
def sharpe_from_moments_nb(n: float, mean: float, m2: float) -> float:
    """Per-period Sharpe ratio ``mean / std(ddof=1)`` from count, mean and centred sum of squares."""
    if n < 2:
        return np.nan
    var = m2 / (n - 1.0)
    if var <= 0.0:
        if mean == 0.0:
            return 0.0
        return np.inf if mean > 0.0 else -np.inf
    return mean / np.sqrt(var)


@njit(cache=True)
def average_rank_nb(values: np.ndarray, j: int) -> float:
    """1-based ascending rank of ``values[j]`` among ``values``; ties share the average rank."""
    below = 0
    equal = 0
    v = values[j]
    for i in range(values.shape[0]):
        if values[i] < v:
            below += 1
        elif values[i] == v:
            equal += 1
    return below + (equal + 1) / 2.0


@njit(cache=True)
def _combined_sharpes(
    count: np.ndarray, mean: np.ndarray, m2: np.ndarray, blocks: np.ndarray, out: np.ndarray
) -> None:
    """Sharpe ratio of every column over the union of ``blocks`` (Chan's pairwise update)."""
    n_cols = mean.shape[1]
    for j in range(n_cols):
        n_a = 0.0
        mu_a = 0.0
        m2_a = 0.0
        for b in blocks:
            n_b = float(count[b])
            mu_b = mean[b, j]
            n_ab = n_a + n_b
            delta = mu_b - mu_a
            mu_a = mu_a + delta * n_b / n_ab
            m2_a = m2_a + m2[b, j] + delta * delta * n_a * n_b / n_ab
            n_a = n_ab
        out[j] = sharpe_from_moments_nb(n_a, mu_a, m2_a)


@njit(cache=True)
def cscv_sharpe_nb(
    count: np.ndarray,
    mean: np.ndarray,
    m2: np.ndarray,
    is_blocks: np.ndarray,
    oos_blocks: np.ndarray,
) -> tuple:
    """CSCV over block moments with the per-period Sharpe ratio as the performance measure.

    Args:
        count, mean, m2: block moments from :func:`block_moments_nb`, shapes ``(S,)``, ``(S, N)``.
        is_blocks: ``(C, S/2)`` int array, the in-sample blocks of each combination.
        oos_blocks: ``(C, S/2)`` int array, the complementary out-of-sample blocks.

    Returns:
        ``(best (C,), is_perf (C,), oos_perf (C,), oos_rank (C,))``: index of the in-sample best
        trial (first on ties), its in-sample and out-of-sample Sharpe ratios and its 1-based
        average rank among the out-of-sample Sharpe ratios of all ``N`` trials.
    """
    n_comb = is_blocks.shape[0]
    n_cols = mean.shape[1]
    best = np.empty(n_comb, dtype=np.int64)
    is_perf = np.empty(n_comb)
    oos_perf = np.empty(n_comb)
    oos_rank = np.empty(n_comb)
    is_sr = np.empty(n_cols)
    oos_sr = np.empty(n_cols)
    for c in range(n_comb):
        _combined_sharpes(count, mean, m2, is_blocks[c], is_sr)
        _combined_sharpes(count, mean, m2, oos_blocks[c], oos_sr)
        k = 0
        for j in range(1, n_cols):
            if is_sr[j] > is_sr[k]:
                k = j
        best[c] = k
        is_perf[c] = is_sr[k]
        oos_perf[c] = oos_sr[k]
        oos_rank[c] = average_rank_nb(oos_sr, k)
    return best, is_perf, oos_perf, oos_rank


@njit(cache=True)
def cscv_select_nb(is_matrix: np.ndarray, oos_matrix: np.ndarray) -> tuple:
    """Selection step of CSCV for precomputed performances (any user metric).

    Args:
        is_matrix, oos_matrix: ``(C, N)`` in-sample and out-of-sample performance of every trial
            in every combination (higher is better; NaN sorts as missing and is never picked).

    Returns:
        Same tuple as :func:`cscv_sharpe_nb`.
    """
    n_comb, n_cols = is_matrix.shape
    best = np.empty(n_comb, dtype=np.int64)
    is_perf = np.empty(n_comb)
    oos_perf = np.empty(n_comb)
    oos_rank = np.empty(n_comb)
    for c in range(n_comb):
        k = -1
        for j in range(n_cols):
            v = is_matrix[c, j]
            if np.isnan(v):
                continue
            if k < 0 or v > is_matrix[c, k]:
                k = j
        if k < 0:
            best[c] = -1
            is_perf[c] = np.nan
            oos_perf[c] = np.nan
            oos_rank[c] = np.nan
            continue
        best[c] = k
        is_perf[c] = is_matrix[c, k]
        oos_perf[c] = oos_matrix[c, k]
        oos_rank[c] = average_rank_nb(oos_matrix[c], k)
    return best, is_perf, oos_perf, oos_rank
