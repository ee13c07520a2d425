"""Screening: a planted signal is found, noise is not (Benjamini-Hochberg), nothing leaks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.signal import lfilter

from data_loaders.errors import DataTooShortError
from research.explore.screening import (
    benjamini_hochberg,
    forward_returns,
    mutual_info,
    screen_features,
)
from research.explore.spec import load_spec

FAST = {"lightgbm": {"enabled": False}, "mutual_info": {"enabled": False}}


def _spec(**screening):
    return load_spec({"screening": {**FAST, **screening}}).screening


def _market(seed: int, n: int, planted: list[float], n_noise: int):
    """Close from iid returns; ``planted_i = s_i * (next return / sd) + N(0, 1)`` (predicts the
    next bar: rank IC about ``s_i``); noise features are AR(1) with phi 0, 0.9 and 0.99
    (persistent, like real indicators) independent of the returns."""
    rng = np.random.default_rng(seed)
    r = rng.normal(0.0, 0.01, n)
    index = pd.date_range("2020-01-01", periods=n, freq="h", tz="UTC")
    close = pd.Series(100.0 * np.exp(np.cumsum(r)), index=index)
    nxt = np.r_[r[1:], 0.0] / 0.01
    cols = {f"planted_{i}": s * nxt + rng.normal(size=n) for i, s in enumerate(planted)}
    for j in range(n_noise):
        phi = (0.0, 0.9, 0.99)[j % 3]
        cols[f"noise_{j}"] = lfilter([1.0], [1.0, -phi], rng.normal(size=n))
    return pd.DataFrame(cols, index=index), close


def _noise_mask(index: pd.Index) -> np.ndarray:
    return np.asarray(index.get_level_values("feature").str.startswith("noise"))


def test_planted_feature_ranks_first_among_noise() -> None:
    for seed in range(5):
        X, close = _market(seed, 2000, [0.15], 60)
        res = screen_features(X, close, horizons=[1, 5], train_stop=2000, spec=_spec(fdr=0.05))
        assert res.scores.index[0] == "planted_0"
        assert res.selected[0] == "planted_0"
        assert res.scores.at["planted_0", "best_horizon"] == 1
        assert res.scores.at["planted_0", "rank_ic"] == pytest.approx(0.15, abs=0.05)
        assert res.table.at[("planted_0", 1), "significant"]


def test_noise_survives_bh_at_no_more_than_the_fdr() -> None:
    """Empirical false-discovery share over 40 seeds (30 true signals of decreasing strength, 60
    persistent noise features, 2 horizons: 180 tests each) stays under the chosen FDR."""
    fdr = 0.1
    fdp, raw_noise = [], []
    for seed in range(40):
        X, close = _market(100 + seed, 2000, list(np.linspace(0.4, 0.08, 30)), 60)
        res = screen_features(X, close, horizons=[1, 5], train_stop=2000, spec=_spec(fdr=fdr))
        sig = res.table["significant"].to_numpy()
        noise = _noise_mask(res.table.index)
        fdp.append((sig & noise).sum() / max(sig.sum(), 1))
        raw_noise.append((res.table["pvalue"].to_numpy()[noise] < fdr).mean())
        assert (res.table["p_adj"] >= res.table["pvalue"] - 1e-15).all()
    assert np.mean(fdp) <= fdr
    # the raw p-values of noise are not too small on average (persistent features and
    # overlapping labels would make naive t-tests reject far more often than 10%)
    assert 0.06 <= np.mean(raw_noise) <= 0.14


def test_a_long_list_of_noise_manufactures_no_discovery() -> None:
    """Under the global null, BH's false-discovery rate is the chance of any discovery."""
    any_found, raw = 0, []
    for seed in range(30):
        X, close = _market(300 + seed, 1500, [], 100)
        res = screen_features(X, close, horizons=[1, 5], train_stop=1500, spec=_spec(fdr=0.1))
        any_found += bool(res.survivors)
        raw.append((res.table["pvalue"] < 0.05).sum())
        if not res.survivors:
            assert res.selected == [] and res.pca["n_components_90"] == 0
    assert any_found <= 6  # expected about 3 (10% of 30); 7 or more has probability 2.6%
    assert np.mean(raw) > 5  # ~10 of the 200 raw p-values are below 5% in each seed


def test_benjamini_hochberg_equals_statsmodels(rng) -> None:
    from statsmodels.stats.multitest import multipletests

    p = np.r_[rng.uniform(size=200) ** 3, 1e-8, 0.5, 0.5]
    ours = benjamini_hochberg(p)
    np.testing.assert_allclose(ours, multipletests(p, method="fdr_bh")[1], rtol=1e-12)
    with_nan = benjamini_hochberg(np.r_[p, np.nan])
    np.testing.assert_allclose(with_nan[:-1], multipletests(np.r_[p, 1.0], method="fdr_bh")[1][:-1])
    assert benjamini_hochberg([]).size == 0


def test_benjamini_hochberg_never_adjusts_a_pvalue_below_itself() -> None:
    # p * 21 / 21 rounds one ulp below p for this value; the largest p of 21 tests keeps p
    p = np.r_[np.linspace(0.01, 0.5, 20), 0.8894878343490003]
    adj = benjamini_hochberg(p)
    assert adj[-1] == p[-1]
    assert (adj >= p).all()


def test_forward_returns_purge_at_stop() -> None:
    close = pd.Series([100.0, 110.0, 99.0, 105.0, 120.0])
    fwd = forward_returns(close, [1, 2], stop=4)
    np.testing.assert_allclose(fwd["fwd_1"][:3], np.log([1.1, 0.9, 105 / 99]))
    assert np.isnan(fwd["fwd_1"][3:]).all() and np.isnan(fwd["fwd_2"][2:]).all()


def test_nothing_after_the_train_window_is_read() -> None:
    X, close = _market(7, 1800, [0.2, 0.1], 20)
    stop = 1200
    base = screen_features(X, close, horizons=[1, 5, 20], train_stop=stop, spec=_spec(fdr=0.1))
    rng = np.random.default_rng(8)
    X2, close2 = X.copy(), close.copy()
    X2.iloc[stop:] = rng.normal(size=(len(X) - stop, X.shape[1])) * 50  # other features,
    close2.iloc[stop:] = close.iloc[stop - 1] * np.exp(
        np.cumsum(rng.normal(0, 0.05, len(X) - stop))
    )
    other = screen_features(X2, close2, horizons=[1, 5, 20], train_stop=stop, spec=_spec(fdr=0.1))
    pd.testing.assert_frame_equal(other.table, base.table)
    pd.testing.assert_frame_equal(other.scores, base.scores)
    assert other.selected == base.selected and other.survivors == base.survivors
    assert base.sample["stop"] <= stop - 20  # labels reaching past the window are purged
    changed = close.copy()
    changed.iloc[stop - 1] *= 1.5  # ... while the last train bar itself does count
    moved = screen_features(X, changed, horizons=[1, 5, 20], train_stop=stop, spec=_spec(fdr=0.1))
    assert not moved.table["rank_ic"].equals(base.table["rank_ic"])


def test_redundant_copies_are_pruned_by_clustering() -> None:
    X, close = _market(9, 2000, [0.2, 0.15], 10)
    X["copy_of_0"] = X["planted_0"] * 3.0 + 0.01 * np.random.default_rng(1).normal(size=len(X))
    res = screen_features(X, close, horizons=[1], train_stop=2000, spec=_spec(fdr=0.05))
    assert {"planted_0", "copy_of_0", "planted_1"} <= set(res.survivors)
    chosen = [f for f in ("planted_0", "copy_of_0") if f in res.selected]
    assert len(chosen) == 1 and "planted_1" in res.selected
    other = "copy_of_0" if chosen == ["planted_0"] else "planted_0"
    assert res.scores.at[other, "reason"].startswith(f"redundant with {chosen[0]}")
    assert res.scores.at[other, "cluster"] == res.scores.at[chosen[0], "cluster"]
    ratio = np.array(res.pca["explained_variance_ratio"])
    assert ratio.sum() == pytest.approx(1.0) and (np.diff(ratio) <= 1e-12).all()
    assert res.pca["n_components_90"] == len(res.survivors) - 1  # the copy adds nothing
    assert set(res.corr.index) == set(res.scores.index[: len(res.corr)])
    assert res.corr.loc["planted_0", "copy_of_0"] > 0.99


def test_max_selected_caps_the_selection() -> None:
    X, close = _market(10, 2000, [0.3, 0.25, 0.2, 0.15], 5)
    res = screen_features(X, close, horizons=[1], train_stop=2000, spec=_spec(max_selected=2))
    assert res.selected == ["planted_0", "planted_1"]
    assert res.scores.at["planted_2", "reason"] == "beyond max_selected=2"


def test_ic_stability_over_periods() -> None:
    rng = np.random.default_rng(11)
    n = 4000
    r = rng.normal(0, 0.01, n)
    close = pd.Series(
        100 * np.exp(np.cumsum(r)), index=pd.date_range("2020", periods=n, freq="h", tz="UTC")
    )
    nxt = np.r_[r[1:], 0.0] / 0.01
    sign = np.where(np.arange(n) < n // 2, 1.0, -1.0)
    X = pd.DataFrame(
        {"stable": 0.2 * nxt + rng.normal(size=n), "flips": 0.2 * sign * nxt + rng.normal(size=n)},
        index=close.index,
    )
    res = screen_features(X, close, horizons=[1], train_stop=n, spec=_spec(n_periods=10))
    t = res.table.xs(1, level="horizon")
    assert t.at["stable", "same_sign"] == 1.0 and t.at["stable", "ic_ir"] > 2
    assert t.at["flips", "same_sign"] == pytest.approx(0.5, abs=0.1)
    assert abs(t.at["flips", "ic_ir"]) < 0.5
    assert res.period_ic.shape == (10, 2)


def test_unusable_features_are_dropped_with_a_reason() -> None:
    X, close = _market(12, 1500, [0.2], 3)
    X["late"] = np.where(np.arange(len(X)) < 800, np.nan, 1.0 + np.arange(len(X)))
    X["flat"] = 3.0
    res = screen_features(X, close, horizons=[1], train_stop=1000, spec=_spec(max_nan_share=0.5))
    assert res.dropped["late"].startswith("undefined on 80% of the train window")
    assert res.dropped["flat"] == "constant on the train window"
    assert "late" not in res.scores.index and "flat" not in res.scores.index


def test_too_short_train_window() -> None:
    X, close = _market(13, 600, [0.2], 3)
    with pytest.raises(DataTooShortError, match="train window"):
        screen_features(X, close, horizons=[1], train_stop=200, spec=_spec())
    res = screen_features(X, close, horizons=[1, 200], train_stop=600, spec=_spec(min_batch=20))
    assert res.sample["skipped_horizons"] == [200] or res.sample["horizons"] == [1, 200]


def test_mutual_info_equals_scikit_learn(rng) -> None:
    from sklearn.feature_selection import mutual_info_regression

    X = rng.normal(size=(800, 4))
    X[:, 3] = np.round(X[:, 3])  # ties
    y = np.abs(X[:, 0]) + 0.5 * rng.normal(size=800)
    ours = mutual_info(X, y, neighbors=3, seed=5)
    np.testing.assert_allclose(
        ours, mutual_info_regression(X, y, n_neighbors=3, random_state=5), atol=1e-12
    )
    assert ours.argmax() == 0


def test_mutual_info_and_lightgbm_columns_find_the_signal() -> None:
    X, close = _market(14, 3000, [0.3], 8)
    spec = load_spec(
        {
            "screening": {
                "mutual_info": {"rows": 1500},
                "lightgbm": {"rows": 2000, "n_estimators": 30},
            }
        }
    ).screening
    res = screen_features(X, close, horizons=[1, 5], train_stop=3000, spec=spec)
    h1 = res.table.xs(1, level="horizon")
    assert h1["mutual_info"].idxmax() == "planted_0"
    assert h1["lgbm_importance"].idxmax() == "planted_0"
    assert h1["lgbm_importance"].sum() == pytest.approx(1.0)
