"""Cross-sectional rank ICs: by hand, Newey-West against statsmodels, train window only, FDR."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data_loaders import DataTooShortError, synthetic_universe
from data_loaders.universe import align_universe
from research.explore.cross_section import (
    cross_sectional_ic,
    forward_log_returns_panel,
    newey_west_tstat,
)


@pytest.fixture(scope="module")
def universe():
    return synthetic_universe([f"S{j}" for j in range(12)], 400, seed=7)


def _close(universe) -> pd.DataFrame:
    return align_universe(universe).frame("close")


def test_newey_west_matches_statsmodels_hac():
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(0)
    e = rng.normal(size=300)
    x = 0.1 + e + 0.6 * np.concatenate([[0], e[:-1]])  # MA(1): autocorrelated
    for lags in (0, 1, 5):
        fit = sm.OLS(x, np.ones_like(x)).fit(
            cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": False}
        )
        assert newey_west_tstat(x, lags) == pytest.approx(float(fit.tvalues[0]), rel=1e-10)


def test_perfect_and_inverted_factors_by_hand(universe):
    close = _close(universe)
    future = np.log(close.shift(-1) / close)  # the label itself (shared calendar here)
    res = cross_sectional_ic(
        universe, {"oracle": future, "anti": -future}, train_stop=300, horizons=(1,)
    )
    t = res.table.set_index("factor")
    assert t.loc["oracle", "mean_ic"] == pytest.approx(1.0)
    assert t.loc["anti", "mean_ic"] == pytest.approx(-1.0)
    assert t.loc["oracle", "n_dates"] == 299  # the label at bar 299 needs bar 300: purged
    # one date by hand: Spearman across the 12 symbols of a noisy factor
    noisy = future + np.random.default_rng(1).normal(0, 0.02, future.shape)
    res = cross_sectional_ic(universe, {"noisy": noisy}, train_stop=300, horizons=(1,))
    day = close.index[50]
    by_hand = noisy.loc[day].rank().corr(future.loc[day].rank())
    assert res.ic[("noisy", 1)].loc[day] == pytest.approx(by_hand, rel=1e-12)


def test_labels_use_each_symbols_own_calendar_and_stop_at_train_stop():
    u = synthetic_universe(("A", "B"), 20, seed=0)
    u["B"] = u["B"].drop(u["B"].index[5:8])
    uni = align_universe(u)
    lab = forward_log_returns_panel(uni, 2, stop=15)
    c = uni.panels["close"]
    assert lab[4, 1] == pytest.approx(np.log(c[9, 1] / c[4, 1]))  # B's next two bars: 8 and 9
    assert np.isnan(lab[6, 1])  # no bar
    assert np.isnan(lab[13, 0]) and lab[12, 0] == pytest.approx(np.log(c[14, 0] / c[12, 0]))


def test_data_after_the_training_window_changes_nothing(universe):
    close = _close(universe)
    factor = {"mom": close.pct_change(20), "rev": -close.pct_change(3)}
    base = cross_sectional_ic(universe, factor, train_stop=250, horizons=(1, 5))
    changed = {s: f.copy() for s, f in universe.items()}
    for f in changed.values():
        f.iloc[250:, :4] *= np.random.default_rng(3).uniform(0.5, 2.0, (150, 1))
    factor2 = {k: v.copy() for k, v in factor.items()}
    factor2["mom"].iloc[250:] = 99.0
    other = cross_sectional_ic(changed, factor2, train_stop=250, horizons=(1, 5))
    pd.testing.assert_frame_equal(base.table, other.table)


def test_fdr_keeps_a_planted_factor_and_few_noise_factors(universe):
    close = _close(universe)
    future = np.log(close.shift(-5) / close)
    rng = np.random.default_rng(11)
    factors = {
        f"noise{i}": pd.DataFrame(rng.normal(size=close.shape), index=close.index).set_axis(
            close.columns, axis=1
        )
        for i in range(20)
    }
    factors["planted"] = future + rng.normal(0, 0.05, close.shape)
    res = cross_sectional_ic(universe, factors, train_stop=400, horizons=(5,), fdr=0.1)
    t = res.table.set_index("factor")
    assert t.loc["planted", "significant"] and t.loc["planted", "nw_lags"] >= 4
    assert t.drop("planted")["significant"].sum() <= 2
    assert (t["p_adj"] >= t["pvalue"]).all()


def test_bad_inputs(universe):
    close = _close(universe)
    with pytest.raises(DataTooShortError, match="train_stop"):
        cross_sectional_ic(universe, {"x": close}, train_stop=0)
    with pytest.raises(DataTooShortError, match="no date before train_stop=300 has 13 symbols"):
        cross_sectional_ic(universe, {"x": close}, train_stop=300, min_symbols=13)
