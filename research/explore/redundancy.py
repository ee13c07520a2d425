"""Redundancy among screened features: rank-correlation clusters (average linkage on
``1 - |rank correlation|``), one representative per cluster, the PCA of the survivors and the
clustermap data of the best features.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CLUSTERMAP_MAX", "rank_correlation", "select_representatives", "clustermap_corr"]

#: features shown in the correlation clustermap (best scores first)
CLUSTERMAP_MAX = 60


def _linkage(C: np.ndarray) -> np.ndarray:
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform

    D = 1.0 - np.abs(C)
    np.fill_diagonal(D, 0.0)
    D = np.clip((D + D.T) / 2, 0.0, None)
    return linkage(squareform(D, checks=False), method="average")


def _clusters(C: np.ndarray, threshold: float) -> np.ndarray:
    from scipy.cluster.hierarchy import fcluster

    if C.shape[0] == 1:
        return np.ones(1, dtype=np.int64)
    return fcluster(_linkage(C), t=1.0 - threshold, criterion="distance").astype(np.int64)


def rank_correlation(R: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Rank correlations of columns ``cols`` of the standardised rank matrix ``R``."""
    S = R[:, cols]
    C = (S.T @ S).astype(np.float64) / R.shape[0]
    d = np.sqrt(np.clip(np.diag(C), 1e-12, None))
    C = C / d[:, None] / d[None, :]
    return np.clip(C, -1.0, 1.0)


def select_representatives(
    scores: pd.DataFrame, R: np.ndarray, col: dict[str, int], spec: Any
) -> tuple[list[str], list[str], dict[str, Any]]:
    """Cluster the BH survivors of ``scores`` (best first) and keep each cluster's best member,
    up to ``spec.max_selected``; fills ``scores``' ``cluster``, ``selected`` and ``reason``.

    Returns:
        ``(selected, survivors, pca)``: the kept features best first, the features with a
        significant horizon, and the PCA (``explained_variance_ratio``, ``n_components_90``,
        ``features``) of the survivors' rank-correlation matrix.
    """
    survivors = [f for f in scores.index if scores.at[f, "significant"]]
    scores["cluster"] = 0
    scores["selected"] = False
    scores["reason"] = np.where(
        scores["significant"], "", f"no horizon survives BH at fdr={spec.fdr}"
    )
    selected: list[str] = []
    pca: dict[str, Any] = {
        "features": survivors,
        "explained_variance_ratio": [],
        "n_components_90": 0,
    }
    if not survivors:
        return selected, survivors, pca
    C = rank_correlation(R, np.array([col[f] for f in survivors]))
    labels = _clusters(C, spec.cluster_threshold)
    scores.loc[survivors, "cluster"] = labels
    seen: dict[int, str] = {}
    for f, lab in zip(survivors, labels):  # survivors are best-first
        if lab in seen:
            scores.at[f, "reason"] = (
                f"redundant with {seen[lab]} (|rank corr| >= {spec.cluster_threshold})"
            )
        else:
            seen[lab] = f
            if len(selected) < spec.max_selected:
                selected.append(f)
            else:
                scores.at[f, "reason"] = f"beyond max_selected={spec.max_selected}"
    scores.loc[selected, "selected"] = True
    eig = np.sort(np.linalg.eigvalsh(C))[::-1].clip(min=0)
    ratio = eig / eig.sum()
    pca = {
        "features": survivors,
        "explained_variance_ratio": ratio.tolist(),
        "n_components_90": int(np.searchsorted(np.cumsum(ratio), 0.9) + 1),
    }
    return selected, survivors, pca


def clustermap_corr(scores: pd.DataFrame, R: np.ndarray, col: dict[str, int]) -> pd.DataFrame:
    """Rank correlations of the :data:`CLUSTERMAP_MAX` best features, ordered by the leaves of
    their dendrogram."""
    top = list(scores.index[:CLUSTERMAP_MAX])
    Ct = rank_correlation(R, np.array([col[f] for f in top]))
    if len(top) > 2:
        from scipy.cluster.hierarchy import leaves_list

        order = leaves_list(_linkage(Ct))
    else:
        order = np.arange(len(top))
    names = [top[i] for i in order]
    return pd.DataFrame(Ct[np.ix_(order, order)], index=names, columns=names)
