"""Combinatorial purged cross-validation (CPCV) paths: a distribution of out-of-sample Sharpes.

The splits and the path assembly are :class:`backtest.splitters.CombinatorialPurged`
(Lopez de Prado 2018, *Advances in Financial Machine Learning*, ch. 12): ``n_groups``
contiguous groups, every choice of ``n_test_groups`` of them is a test set, the training set is
the rest minus ``purge`` bars before and ``embargo`` bars after each contiguous test block.
Each group is tested in ``C(n-1, k-1)`` splits; the ``p``-th of them supplies that group of
path ``p``, so every path covers the whole sample exactly once, out of sample. Here each split
is evaluated by a user callable and the Sharpe ratio of each assembled path gives a
distribution instead of a single number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from backtest.splitters import CombinatorialPurged, CPCVSplit
from data_loaders.errors import DataValidationError

__all__ = ["CPCVResult", "cpcv_sharpe_distribution"]


@dataclass
class CPCVResult:
    """Outcome of :func:`cpcv_sharpe_distribution`.

    Attributes:
        sharpes: ``(n_paths,)`` per-period Sharpe ratio (``ddof=1``, not annualised) of each
            path; a path with zero deviation gets 0 (zero mean) or ``+-inf``.
        path_returns: ``(T, n_paths)`` DataFrame, the out-of-sample returns of each path.
        splits: the evaluated splits (``backtest.splitters.CPCVSplit``).
        assignment: ``(n_paths, n_groups)`` split number that supplies each group of each path.
        groups: the contiguous group slices (positions).
    """

    sharpes: np.ndarray
    path_returns: pd.DataFrame
    splits: list[CPCVSplit]
    assignment: np.ndarray
    groups: list[slice]

    def summary(self, periods_per_year: float | None = None) -> dict[str, float]:
        """Count, mean, std, min, median, max and share positive of the path Sharpe ratios
        (annualised by ``sqrt(periods_per_year)`` if given)."""
        s = self.sharpes * (np.sqrt(periods_per_year) if periods_per_year else 1.0)
        return {
            "n_paths": int(s.size),
            "mean": float(np.mean(s)),
            "std": float(np.std(s, ddof=1)) if s.size > 1 else 0.0,
            "min": float(np.min(s)),
            "median": float(np.median(s)),
            "max": float(np.max(s)),
            "share_positive": float(np.mean(s > 0)),
        }


def cpcv_sharpe_distribution(
    evaluate: Callable[[np.ndarray, np.ndarray], Any],
    index: Any,
    n_groups: int = 6,
    n_test_groups: int = 2,
    purge: int = 0,
    embargo: int = 0,
) -> CPCVResult:
    """Distribution of out-of-sample Sharpe ratios over the CPCV paths.

    Args:
        evaluate: ``evaluate(train_idx, test_idx) -> per-period returns``: fit/select on the
            training positions and return one out-of-sample return per test position, in the
            (sorted) order of ``test_idx``.
        index: the bars' index, the bars themselves, or a number of bars ``T``.
        n_groups, n_test_groups, purge, embargo: the layout of
            :class:`backtest.splitters.CombinatorialPurged`.

    Returns:
        A :class:`CPCVResult` with ``C(n_groups - 1, n_test_groups - 1)`` paths.
    """
    cv = CombinatorialPurged(n_groups, n_test_groups, purge=purge, embargo=embargo)
    groups = cv.groups(index)
    splits = cv.split(index)
    n_obs = groups[-1].stop
    segments: dict[tuple[int, int], np.ndarray] = {}
    for split in splits:
        out = np.asarray(evaluate(split.train, split.test), dtype=float).reshape(-1)
        if out.shape[0] != split.test.shape[0]:
            raise DataValidationError(
                f"`evaluate` must return one return per test position: split {split.number} "
                f"has {split.test.shape[0]} test positions, got {out.shape[0]} returns"
            )
        if not np.all(np.isfinite(out)):
            raise DataValidationError(
                f"`evaluate` returned non-finite returns for CPCV split {split.number}"
            )
        pos = 0
        for g in split.test_groups:
            size = groups[g].stop - groups[g].start
            segments[(split.number, g)] = out[pos : pos + size]
            pos += size
    assignment = cv.paths()
    paths = np.empty((n_obs, assignment.shape[0]))
    for p in range(assignment.shape[0]):
        for g, sl in enumerate(groups):
            paths[sl, p] = segments[(int(assignment[p, g]), g)]
    mean, sd = paths.mean(axis=0), paths.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpes = np.where(sd > 0, mean / sd, np.where(mean == 0, 0.0, np.sign(mean) * np.inf))
    if isinstance(index, pd.Index):
        labels = index
    elif isinstance(index, pd.DataFrame | pd.Series):
        labels = index.index
    else:
        labels = pd.RangeIndex(n_obs)
    frame = pd.DataFrame(paths, index=labels, columns=[f"path_{p}" for p in range(paths.shape[1])])
    return CPCVResult(
        sharpes=sharpes, path_returns=frame, splits=splits, assignment=assignment, groups=groups
    )
