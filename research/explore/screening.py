"""Screening: which features carry information about forward returns, on the train window only.

For every feature and horizon ``h`` the label is the forward log return
``log(close_{t+h} / close_t)``. Everything here reads bars ``0 .. train_stop - 1`` only: a label
that would need a close at or after ``train_stop`` is purged (the last ``max(h)`` bars of the train
window are not screened), so changing data after the train window changes nothing in the result.

Statistics (per feature x horizon unless stated):

* ``rank_ic``: Spearman correlation of feature and label; ``ic``: Pearson correlation.
* ``t_stat`` / ``pvalue``: batch-means t-test of the rank IC. The products of the standardised
  ranks ``z_t = rx_t * ry_t`` (whose mean is the rank IC) are averaged in consecutive batches of
  ``B = max(4 h, min_batch)`` bars, long enough for overlapping labels and persistent features to
  leave the batch means nearly independent; ``t = mean / (sd / sqrt(m))`` with ``m - 1`` degrees
  of freedom over ``m`` batches. Two-sided. By simulation (noise features with AR(1) persistence
  0, 0.9 and 0.99 against iid returns, horizons 1, 5 and 20, 100 seeds), 4.4-6.3% of the null
  p-values fall under 5%; see ``tests/research/explore/test_screening.py`` for the FDR check.
* ``p_adj`` / ``significant``: Benjamini-Hochberg adjusted p-values over **all** features x
  horizons tried, compared with the false-discovery rate ``fdr``.
* ``ic_ir`` and ``same_sign``: the train window is cut into ``n_periods`` contiguous periods; in
  each, the rank IC is the Pearson correlation of the globally rank-transformed feature and
  label; ``ic_ir = mean / std`` (sample std) of those, ``same_sign`` = share of periods whose IC
  has the sign of the overall rank IC.
* ``mutual_info``: the Kraskov k-NN estimate (nats) on an evenly spaced subsample of ranks;
  scikit-learn's ``mutual_info_regression`` numbers, from a numba kernel (:func:`mutual_info`).
* ``lgbm_importance``: gain importance (shares summing to 1 per horizon) of a LightGBM regressor of
  the label's rank on all features, fitted on an evenly spaced subsample of the train window.

Per feature: ``score = max over horizons of -log10(pvalue)`` ranks the features; BH survivors are
clustered by ``1 - |rank correlation|`` (average linkage); each cluster keeps its best-scoring
member (``cluster_threshold`` = the |correlation| above which features count as redundant); the
kept ones, best first, up to ``max_selected``, are the selection. PCA of the survivors is the
eigen-decomposition of their rank-correlation matrix.

Long train windows are thinned to at most ``max_rows`` evenly spaced bars (``step``); batch
lengths are then counted in thinned bars.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from data_loaders.errors import DataTooShortError
from research.explore._nb import average_ranks_nb, forward_log_returns_nb, rank_ic_stats_nb
from research.explore.information import LgbmImportance, mutual_info, mutual_info_sampled
from research.explore.redundancy import (
    CLUSTERMAP_MAX,
    clustermap_corr,
    select_representatives,
)
from research.explore.spec import ScreeningSpec

__all__ = [
    "ScreeningResult",
    "screen_features",
    "benjamini_hochberg",
    "forward_returns",
    "mutual_info",
    "TABLE_COLUMNS",
    "CLUSTERMAP_MAX",
]

TABLE_COLUMNS = [
    "n",
    "ic",
    "rank_ic",
    "t_stat",
    "pvalue",
    "p_adj",
    "significant",
    "ic_ir",
    "same_sign",
    "mutual_info",
    "lgbm_importance",
]
_MIN_BATCHES = 5


@dataclass
class ScreeningResult:
    """Result of :func:`screen_features`.

    Attributes:
        table: one row per (feature, horizon), columns :data:`TABLE_COLUMNS`.
        scores: one row per screened feature, best first: ``score``, ``best_horizon``,
            ``rank_ic`` and ``ic_ir`` at that horizon, ``significant`` (any horizon survives BH),
            ``cluster``, ``selected``, ``reason`` (why it is not selected).
        selected: selected feature names, best first.
        survivors: features with at least one BH-significant horizon.
        dropped: features not screened, with the reason (undefined, constant).
        corr: rank correlations of the best features ordered by cluster (for the clustermap).
        pca: ``explained_variance_ratio``, ``n_components_90`` and ``features`` of the survivors.
        period_ic: per-period rank ICs at each feature's best horizon (periods x features).
        sample: the rows screened: ``start``, ``stop`` (bar positions), ``step``, ``rows``,
            timestamps, ``n_tests``, ``fdr``, ``horizons``, ``skipped_horizons``.
    """

    table: pd.DataFrame
    scores: pd.DataFrame
    selected: list[str]
    survivors: list[str]
    dropped: dict[str, str]
    corr: pd.DataFrame
    pca: dict[str, Any]
    period_ic: pd.DataFrame
    sample: dict[str, Any] = field(default_factory=dict)


def benjamini_hochberg(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (step-up; ``NaN`` counts as a test with p = 1).

    ``p_adj[i] = min_{j: p_j >= p_i} min(1, p_j * m / rank_j)``; rejecting ``p_adj <= q`` controls
    the false-discovery rate at ``q`` for independent or positively dependent tests.

    Args:
        pvalues: ``(m,)`` raw p-values.

    Returns:
        ``(m,)`` adjusted p-values, same order.
    """
    p = np.asarray(pvalues, dtype=np.float64).copy()
    p[~np.isfinite(p)] = 1.0
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    # p * (m / rank), not p * m / rank: m / rank >= 1 exactly, so no p-value is adjusted below
    # itself by rounding (p * m / m can fall one ulp below p)
    ranked = p[order] * (m / np.arange(1, m + 1))
    adj = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out


def forward_returns(
    close: pd.Series, horizons: Sequence[int], stop: int | None = None
) -> pd.DataFrame:
    """Forward log returns ``log(close_{t+h} / close_t)``, one column ``fwd_h`` per horizon.

    ``stop`` purges labels that would read a close at or after bar ``stop`` (``NaN`` there).
    """
    lc = np.log(close.to_numpy(dtype=np.float64))
    stop = lc.shape[0] if stop is None else int(stop)
    return pd.DataFrame(
        {f"fwd_{h}": forward_log_returns_nb(lc, int(h), stop) for h in horizons}, index=close.index
    )


# --------------------------------------------------------------------------- the screened matrix


def _standard_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks of the finite values standardised to mean 0, population std 1; ``NaN`` -> 0."""
    out = np.zeros(x.shape[0], dtype=np.float64)
    ok = np.isfinite(x)
    v = x[ok]
    if v.size < 2:
        return out
    r = average_ranks_nb(v, np.argsort(v, kind="quicksort"))
    r -= r.mean()
    sd = r.std()
    if sd > 0:
        out[ok] = r / sd
    return out


def _column_moments(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NaN-ignoring mean, population std and count of each column, one column at a time
    (``np.nanmean`` / ``np.nanstd`` on the whole matrix hold two or three copies of it)."""
    k = X.shape[1]
    mu, sd, cnt = np.empty(k), np.empty(k), np.empty(k, dtype=np.int64)
    for j in range(k):
        v = X[:, j]
        v = v[np.isfinite(v)]
        cnt[j] = v.size
        mu[j] = v.mean() if v.size else np.nan
        sd[j] = v.std() if v.size else np.nan
    return mu, sd, cnt


def _rank_matrix(X: np.ndarray, n_jobs: int) -> np.ndarray:
    """Column-wise standardised ranks of ``X`` (n, k) as float32, Fortran order."""
    R = np.empty(X.shape, dtype=np.float32, order="F")

    def one(j: int) -> None:
        R[:, j] = _standard_ranks(X[:, j])

    if n_jobs > 1 and X.shape[1] > 1:
        with ThreadPoolExecutor(n_jobs) as pool:  # argsort releases the GIL
            list(pool.map(one, range(X.shape[1])))
    else:
        for j in range(X.shape[1]):
            one(j)
    return R


@dataclass(frozen=True)
class _Matrix:
    """The screened rows of the train window: eligible feature names (``keep``) and why the
    others were dropped, bar positions ``rows`` (every ``step``-th bar), the values ``X``, their
    column-wise standardised ranks ``R`` and NaN-ignoring moments ``mu``, ``sd`` (1 where 0),
    ``n_finite``."""

    keep: list[str]
    dropped: dict[str, str]
    rows: np.ndarray
    step: int
    X: np.ndarray
    R: np.ndarray
    mu: np.ndarray
    sd: np.ndarray
    n_finite: np.ndarray


def _eligible(
    Xtrain: pd.DataFrame, max_nan_share: float
) -> tuple[list[str], list[int], dict[str, str]]:
    """Columns usable on the train window, their first finite row, and why the others are not."""
    keep, first, dropped = [], [], {}
    n = len(Xtrain)
    for name in Xtrain.columns:
        x = Xtrain[name].to_numpy()
        finite = np.isfinite(x)
        share = 1.0 - finite.mean() if n else 1.0
        if share > max_nan_share:
            dropped[name] = (
                f"undefined on {share:.0%} of the train window (max {max_nan_share:.0%})"
            )
            continue
        v = x[finite]
        if v.size < 2 or v.max() - v.min() <= 1e-12 * max(1.0, float(np.abs(v).max())):
            dropped[name] = "constant on the train window"
            continue
        keep.append(name)
        first.append(int(np.argmax(finite)))
    return keep, first, dropped


def _matrix(Xtrain: pd.DataFrame, h_max: int, spec: ScreeningSpec, n_jobs: int) -> _Matrix:
    """The rows to screen: after every feature's warm-up, before the purge of ``h_max``, thinned
    to at most ``spec.max_rows``."""
    train_stop = len(Xtrain)
    keep, first_valid, dropped = _eligible(Xtrain, spec.max_nan_share)
    if not keep:
        raise DataTooShortError(
            f"screening: no feature is defined on enough of the train window ({train_stop} bars)"
        )
    start = max(first_valid)
    stop = train_stop - h_max
    need = _MIN_BATCHES * spec.min_batch
    if stop - start < need:
        raise DataTooShortError(
            f"screening: the train window ({train_stop} bars) leaves {max(0, stop - start)} bars "
            f"after the warm-up ({start} bars) and the purge of horizon {h_max}; need at least {need}"
        )
    step = max(1, math.ceil((stop - start) / spec.max_rows))
    rows = np.arange(start, stop, step)
    X = np.empty((rows.size, len(keep)), dtype=np.float64, order="F")
    for j, name in enumerate(keep):
        X[:, j] = Xtrain[name].to_numpy()[rows]
    R = _rank_matrix(X, n_jobs)
    mu, sd, n_finite = _column_moments(X)
    sd[~(sd > 0)] = 1.0
    return _Matrix(keep, dropped, rows, step, X, R, mu, sd, n_finite)


# --------------------------------------------------------------------------- per-horizon statistics


def _horizon_stats(
    mat: _Matrix, ry: np.ndarray, ys: np.ndarray, batch: int, periods: np.ndarray
) -> dict[str, np.ndarray]:
    """Rank IC, its batch-means t-test, Pearson IC and per-period rank ICs for one label."""
    from scipy import stats

    m = mat.R.shape[0] // batch
    rank_ic, ic, t, period_ic = rank_ic_stats_nb(
        mat.R, mat.X, mat.mu, mat.sd, ry, ys, int(batch), periods
    )
    return {
        "rank_ic": rank_ic,
        "ic": ic,
        "t_stat": t,
        "pvalue": np.exp(np.log(2.0) + stats.t.logsf(np.abs(t), m - 1)),
        "period_ic": period_ic,
    }


def _horizon_frame(
    mat: _Matrix, y: np.ndarray, batch: int, spec: ScreeningSpec, lgbm: Any, seed: int
) -> tuple[pd.DataFrame, np.ndarray]:
    """One horizon's rows of the table (one per feature) and its per-period rank ICs."""
    n = mat.rows.size
    ry = _standard_ranks(y)
    ys = (y - y.mean()) / (y.std() or 1.0)
    hs = _horizon_stats(mat, ry, ys, batch, np.linspace(0, n, spec.n_periods + 1).astype(np.int64))
    pic = hs.pop("period_ic")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p, sd_p = np.nanmean(pic, axis=0), np.nanstd(pic, axis=0, ddof=1)
        ic_ir = np.where(sd_p > 0, mean_p / sd_p, np.nan)
    same = (np.sign(pic) == np.sign(hs["rank_ic"])[None, :]).mean(axis=0)
    k = len(mat.keep)
    mi = (
        mutual_info_sampled(mat.R, ry, spec.mutual_info.rows, spec.mutual_info.neighbors, seed)
        if spec.mutual_info.enabled
        else np.full(k, np.nan)
    )
    imp = lgbm(ry) if lgbm is not None else np.full(k, np.nan)
    frame = pd.DataFrame(
        {
            "feature": mat.keep,
            "n": mat.n_finite,
            "ic": hs["ic"],
            "rank_ic": hs["rank_ic"],
            "t_stat": hs["t_stat"],
            "pvalue": hs["pvalue"],
            "ic_ir": ic_ir,
            "same_sign": same,
            "mutual_info": mi,
            "lgbm_importance": imp,
        }
    )
    return frame, pic


def _horizon_table(
    mat: _Matrix,
    close: pd.Series,
    horizons: list[int],
    train_stop: int,
    spec: ScreeningSpec,
    seed: int,
) -> tuple[pd.DataFrame, dict[int, np.ndarray], list[int]]:
    """The (feature, horizon) table with BH-adjusted p-values, the per-period rank ICs of each
    horizon, and the horizons skipped for want of ``_MIN_BATCHES`` batches."""
    n = mat.rows.size
    lc = np.log(close.to_numpy(dtype=np.float64)[:train_stop])
    frames, period_ics, skipped = [], {}, []
    lgbm = LgbmImportance(mat.X, spec.lightgbm, seed) if spec.lightgbm.enabled else None
    for h in horizons:
        batch = max(math.ceil(4 * h / mat.step), spec.min_batch)
        if n // batch < _MIN_BATCHES:
            skipped.append(h)
            continue
        y = forward_log_returns_nb(lc, h, train_stop)[mat.rows]
        frame, period_ics[h] = _horizon_frame(mat, y, batch, spec, lgbm, seed)
        frames.append(frame.assign(horizon=h))
    if not frames:
        raise DataTooShortError(
            f"screening: every horizon {horizons} needs more than the {n} bars available "
            f"({_MIN_BATCHES} batches of at least {spec.min_batch} bars)"
        )
    table = pd.concat(frames, ignore_index=True)
    table["p_adj"] = benjamini_hochberg(table["pvalue"].to_numpy())
    table["significant"] = table["p_adj"] <= spec.fdr
    return table.set_index(["feature", "horizon"])[TABLE_COLUMNS], period_ics, skipped


def _scores(table: pd.DataFrame, keep: list[str]) -> pd.DataFrame:
    """One row per feature, best first: ``score = max over horizons of -log10(pvalue)``, the
    best horizon, its ``rank_ic`` and ``ic_ir``, and whether any horizon is significant."""
    with np.errstate(divide="ignore"):
        neglog = -np.log10(table["pvalue"].clip(lower=1e-300))
    best = neglog.groupby(level="feature").idxmax()
    scores = pd.DataFrame(index=pd.Index(keep, name="feature"))
    scores["score"] = neglog.groupby(level="feature").max()
    scores["best_horizon"] = [best[f][1] for f in keep]
    pick = [best[f] for f in keep]
    scores["rank_ic"] = table.loc[pick, "rank_ic"].to_numpy()
    scores["ic_ir"] = table.loc[pick, "ic_ir"].to_numpy()
    scores["significant"] = table["significant"].groupby(level="feature").any()
    return scores.sort_values(
        ["score", "rank_ic"], ascending=[False, False], key=None, kind="stable"
    )


# --------------------------------------------------------------------------- entry point


def screen_features(
    features: pd.DataFrame,
    close: pd.Series,
    *,
    horizons: Sequence[int],
    train_stop: int,
    spec: ScreeningSpec,
    seed: int = 0,
    n_jobs: int = 1,
) -> ScreeningResult:
    """Screen ``features`` against forward returns of ``close`` on bars ``[0, train_stop)``.

    Args:
        features: ``(n_bars, n_features)`` causal features, indexed like ``close``.
        close: close prices.
        horizons: forward-return horizons in bars.
        train_stop: number of bars of the train window; nothing at or after it is read.
        spec: the ``screening`` section of the exploration spec.
        seed: seed of the mutual-information noise and the LightGBM fits.
        n_jobs: threads for ranking the features.

    Returns:
        A :class:`ScreeningResult`.

    Raises:
        DataTooShortError: the train window leaves fewer than ``5 x min_batch`` bars to screen
            after warm-ups and the purge of the longest horizon, or no feature is usable.
    """
    from research.explore.statistical import single_threaded_blas

    # the matrix products here are small; BLAS threads fighting LightGBM's OpenMP threads and
    # other processes for 2 cores cost seconds
    with single_threaded_blas():
        return _screen(features, close, horizons, train_stop, spec, seed, n_jobs)


def _screen(
    features: pd.DataFrame,
    close: pd.Series,
    horizons: Sequence[int],
    train_stop: int,
    spec: ScreeningSpec,
    seed: int,
    n_jobs: int,
) -> ScreeningResult:
    train_stop = int(min(train_stop, len(close)))
    horizons = [int(h) for h in horizons]
    mat = _matrix(features.iloc[:train_stop], max(horizons), spec, n_jobs)
    table, period_ics, skipped = _horizon_table(mat, close, horizons, train_stop, spec, seed)
    scores = _scores(table, mat.keep)
    col = {name: j for j, name in enumerate(mat.keep)}
    selected, survivors, pca = select_representatives(scores, mat.R, col, spec)
    corr = clustermap_corr(scores, mat.R, col)
    best_h = scores["best_horizon"]
    period_ic = pd.DataFrame(
        {f: period_ics[int(best_h[f])][:, col[f]] for f in scores.index},
        index=pd.RangeIndex(1, spec.n_periods + 1, name="period"),
    )
    rows, idx = mat.rows, features.index
    sample = {
        "start": int(rows[0]),
        "stop": int(rows[-1]) + 1,
        "step": int(mat.step),
        "rows": int(rows.size),
        "first_time": idx[rows[0]].isoformat(),
        "last_time": idx[rows[-1]].isoformat(),
        "train_stop": train_stop,
        "horizons": [h for h in horizons if h not in skipped],
        "skipped_horizons": skipped,
        "n_tests": int(len(table)),
        "fdr": spec.fdr,
    }
    return ScreeningResult(
        table, scores, selected, survivors, mat.dropped, corr, pca, period_ic, sample
    )
