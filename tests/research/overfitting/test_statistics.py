"""Tests of research.overfitting: published examples, brute-force PBO, clustering, SPA, CPCV,
parameter stability."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from data_loaders.errors import DataTooShortError, DataValidationError, ParameterError
from research import overfitting as ov
from strategies.params import Categorical, Float, Int

GAMMA = 0.5772156649015329


# --------------------------------------------------------------------------------------------
# closed forms: published examples and identities
# --------------------------------------------------------------------------------------------
def test_dsr_reproduces_the_deflated_sharpe_paper_example():
    # Bailey & Lopez de Prado (2014), numerical example: annualised SR 2.5 over 5 years of daily
    # returns (T = 1250, 250 days a year), N = 100 trials whose annualised Sharpe ratios have
    # variance 1/2, skewness -3, kurtosis 10 -> E[max SR] ~ 0.1132 (daily), DSR ~ 0.9004.
    ppy = 250
    sr, v = 2.5 / math.sqrt(ppy), 0.5 / ppy
    emax = ov.expected_max_sharpe(100, v)
    dsr = ov.deflated_sharpe_ratio(sr, 1250, 100, v, skew=-3.0, kurtosis=10.0)
    assert emax == pytest.approx(0.1132, abs=5e-5)
    assert dsr == pytest.approx(0.9004, abs=5e-5)
    # and to 1e-9 against the closed forms written out independently here
    z_max = (1 - GAMMA) * stats.norm.ppf(1 - 1 / 100) + GAMMA * stats.norm.ppf(1 - 1 / (100 * np.e))
    emax_ref = math.sqrt(v) * z_max
    dsr_ref = stats.norm.cdf(
        (sr - emax_ref) * math.sqrt(1249) / math.sqrt(1 + 3 * sr + (10 - 1) / 4 * sr**2)
    )
    assert emax == pytest.approx(emax_ref, abs=1e-12)
    assert dsr == pytest.approx(dsr_ref, abs=1e-9)


def test_psr_and_min_trl_match_an_independent_implementation():
    # published test values of mlfinlab (test_backtest_statistics.py): SR 1.14 per period vs
    # benchmark 1, 250 returns, normal moments -> PSR 0.95727, MinTRL 228.73497 at 95 %.
    assert ov.probabilistic_sharpe_ratio(1.14, 250, 0.0, 3.0, 1.0) == pytest.approx(
        0.95727, abs=1e-5
    )
    assert ov.minimum_track_record_length(1.14, 0.0, 3.0, 1.0, 0.95) == pytest.approx(
        228.73497, abs=1e-5
    )


@pytest.mark.parametrize(
    ("sr", "skew", "kurt", "bench", "conf"),
    [(0.1, 0.0, 3.0, 0.0, 0.95), (0.08, -1.2, 7.5, 0.02, 0.9), (0.3, 0.5, 4.0, 0.1, 0.99)],
)
def test_psr_at_the_minimum_track_record_length_equals_the_confidence(sr, skew, kurt, bench, conf):
    n = ov.minimum_track_record_length(sr, skew, kurt, bench, conf)
    z = (sr - bench) * math.sqrt(n - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
    assert stats.norm.cdf(z) == pytest.approx(conf, abs=1e-12)
    # PSR is monotone in n around MinTRL
    assert ov.probabilistic_sharpe_ratio(sr, math.ceil(n) + 1, skew, kurt, bench) > conf
    assert ov.probabilistic_sharpe_ratio(sr, math.floor(n) - 1, skew, kurt, bench) < conf


def test_psr_penalises_negative_skew_and_fat_tails():
    normal = ov.probabilistic_sharpe_ratio(0.1, 100)
    assert normal == pytest.approx(stats.norm.cdf(0.1 * math.sqrt(99) / math.sqrt(1.005)), 1e-12)
    assert ov.probabilistic_sharpe_ratio(0.1, 100, skew=-2.0, kurtosis=9.0) < normal
    assert ov.minimum_track_record_length(0.0) == math.inf


@pytest.mark.parametrize("n", [10, 100, 1000])
def test_expected_max_sharpe_is_close_to_the_exact_expected_maximum(n):
    # exact E[max of n standard normals] by integration; the paper's approximation (meant for
    # N >> 1) is within 2.5 % already at N = 10
    exact, _ = integrate.quad(
        lambda x: x * n * stats.norm.pdf(x) * stats.norm.cdf(x) ** (n - 1), -10, 10, limit=200
    )
    assert ov.expected_max_sharpe(n, 1.0) == pytest.approx(exact, rel=0.025)
    assert ov.expected_max_sharpe(n, 4.0) == pytest.approx(2 * ov.expected_max_sharpe(n, 1.0))
    assert ov.expected_max_sharpe(1, 1.0) == 0.0


def test_minimum_backtest_length_reproduces_the_pseudo_mathematics_example():
    # Bailey, Borwein, Lopez de Prado & Zhu (2014): with 5 years of data no more than 45
    # independent configurations should be tried (target annualised Sharpe ratio 1).
    assert ov.minimum_backtest_length(45) <= 5.0 < ov.minimum_backtest_length(46)
    assert ov.minimum_backtest_length(45) == pytest.approx(4.998087, abs=1e-6)
    assert ov.minimum_backtest_length(45, upper_bound=True) == pytest.approx(2 * math.log(45))
    assert ov.minimum_backtest_length(45, 2.0) == pytest.approx(ov.minimum_backtest_length(45) / 4)
    assert ov.minimum_backtest_length(1) == 0.0


def test_closed_forms_reject_bad_input():
    with pytest.raises(DataTooShortError, match="`n_obs` must be >= 2"):
        ov.probabilistic_sharpe_ratio(0.1, 1)
    with pytest.raises(ParameterError, match="is kurtosis raw"):
        ov.probabilistic_sharpe_ratio(0.5, 100, skew=0.0, kurtosis=-20.0)
    with pytest.raises(ParameterError, match="`n_trials` must be >= 1, got n_trials=0"):
        ov.expected_max_sharpe(0, 1.0)
    with pytest.raises(ParameterError, match="`confidence` must be in \\(0, 1\\)"):
        ov.minimum_track_record_length(0.1, confidence=1.5)
    with pytest.raises(ParameterError, match="`target_sharpe_annual` must be > 0"):
        ov.minimum_backtest_length(10, 0.0)


def test_return_moments_use_the_documented_conventions():
    r = np.random.default_rng(3).standard_t(5, 500) * 0.01 + 0.001
    m = ov.return_moments(pd.Series(r))
    assert m["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1), rel=1e-12)
    assert m["skew"] == pytest.approx(stats.skew(r), rel=1e-12)
    assert m["kurtosis"] == pytest.approx(stats.kurtosis(r) + 3.0, rel=1e-12)
    assert m["n_obs"] == 500
    with pytest.raises(DataValidationError, match="must be finite, got nan at 2"):
        ov.return_moments([0.1, 0.2, np.nan])


# --------------------------------------------------------------------------------------------
# PBO
# --------------------------------------------------------------------------------------------
def _brute_force_pbo(returns: np.ndarray, s: int):
    """Independent CSCV: literal loops over combinations, rows concatenated, scipy ranks."""
    t, n = returns.shape
    size = t // s
    blocks = [returns[i * size : (i + 1) * size] for i in range(s)]
    logits, is_best, oos_best = [], [], []
    for combo in itertools.combinations(range(s), s // 2):
        rest = [b for b in range(s) if b not in combo]
        ins = np.vstack([blocks[b] for b in combo])
        out = np.vstack([blocks[b] for b in rest])
        sr_in = ins.mean(axis=0) / ins.std(axis=0, ddof=1)
        sr_out = out.mean(axis=0) / out.std(axis=0, ddof=1)
        k = int(np.argmax(sr_in))
        rank = stats.rankdata(sr_out)[k]
        w = rank / (n + 1)
        logits.append(math.log(w / (1 - w)))
        is_best.append(sr_in[k])
        oos_best.append(sr_out[k])
    logits = np.array(logits)
    return np.mean(logits <= 0), logits, np.array(is_best), np.array(oos_best)


@pytest.mark.parametrize(("t", "n", "s", "seed"), [(403, 12, 8, 0), (250, 7, 6, 1), (96, 5, 4, 2)])
def test_pbo_matches_a_brute_force_computation(t, n, s, seed):
    rng = np.random.default_rng(seed)
    r = rng.normal(0.0002, 0.01, (t, n)) + rng.normal(0, 0.005, (t, 1))
    res = ov.probability_of_backtest_overfitting(pd.DataFrame(r), n_partitions=s)
    pbo, logits, is_best, oos_best = _brute_force_pbo(r[: (t // s) * s], s)
    assert res.pbo == pbo
    np.testing.assert_allclose(res.logits, logits, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.is_performance, is_best, rtol=1e-10)
    np.testing.assert_allclose(res.oos_performance, oos_best, rtol=1e-10)
    slope, intercept = np.polyfit(is_best, oos_best, 1)
    assert res.degradation_slope == pytest.approx(slope, rel=1e-9)
    assert res.degradation_intercept == pytest.approx(intercept, rel=1e-9, abs=1e-12)
    assert res.degradation_r2 == pytest.approx(np.corrcoef(is_best, oos_best)[0, 1] ** 2, 1e-9)
    assert res.prob_loss == np.mean(oos_best < 0)
    assert res.n_combinations == math.comb(s, s // 2)
    assert res.n_rows_dropped == t % s and res.n_rows_used == t - t % s


def test_pbo_with_a_custom_metric_agrees_with_the_builtin_sharpe():
    r = np.random.default_rng(5).normal(0, 0.01, (240, 9))
    fast = ov.probability_of_backtest_overfitting(r, n_partitions=6)

    def sharpe(x):
        return x.mean(axis=0) / x.std(axis=0, ddof=1)

    slow = ov.probability_of_backtest_overfitting(r, n_partitions=6, metric=sharpe)
    assert slow.pbo == fast.pbo
    np.testing.assert_allclose(slow.logits, fast.logits, atol=1e-12)
    assert slow.metric == "sharpe"


def test_pbo_is_low_for_a_planted_edge_and_near_half_for_noise():
    rng = np.random.default_rng(11)
    noise = rng.normal(0, 0.01, (800, 30))
    planted = noise.copy()
    planted[:, 4] += 0.004  # per-period Sharpe ~0.4 on one column
    assert ov.probability_of_backtest_overfitting(planted, n_partitions=10).pbo < 0.02
    pbos = [
        ov.probability_of_backtest_overfitting(
            np.random.default_rng(s).normal(0, 0.01, (400, 30)), n_partitions=10
        ).pbo
        for s in range(12)
    ]
    assert 0.35 < np.mean(pbos) < 0.65


def test_pbo_rejects_bad_input():
    with pytest.raises(ParameterError, match="`n_partitions` must be an even integer >= 2, got 5"):
        ov.probability_of_backtest_overfitting(np.zeros((100, 3)), n_partitions=5)
    with pytest.raises(DataTooShortError, match="needs at least 32 rows"):
        ov.probability_of_backtest_overfitting(np.zeros((20, 3)), n_partitions=16)
    with pytest.raises(DataValidationError, match="at least 2 trials"):
        ov.probability_of_backtest_overfitting(np.zeros((100, 1)))
    frame = pd.DataFrame(np.zeros((40, 2)), columns=["a", "b"])
    frame.iloc[7, 1] = np.nan
    with pytest.raises(DataValidationError, match="row 7, column 'b'"):
        ov.probability_of_backtest_overfitting(frame, n_partitions=4)


# --------------------------------------------------------------------------------------------
# effective number of trials
# --------------------------------------------------------------------------------------------
def test_effective_trials_counts_correlation_clusters():
    rng = np.random.default_rng(2)
    base = rng.normal(0.0005, 0.01, (600, 5))
    sweep = np.repeat(base, 8, axis=1) + rng.normal(0, 0.003, (600, 40))  # 5 groups of 8
    eff = ov.effective_number_of_trials(sweep)
    assert (eff.n_trials, eff.n_effective) == (40, 5)
    for g in range(5):  # each group is one cluster
        assert len(set(eff.labels[g * 8 : (g + 1) * 8])) == 1
    independent = ov.effective_number_of_trials(rng.normal(0, 0.01, (600, 20)))
    assert independent.n_effective == 20
    # cluster Sharpe = mean member Sharpe / sqrt(mean within-cluster correlation)
    corr = np.corrcoef(sweep, rowvar=False)
    sr = sweep.mean(0) / sweep.std(0, ddof=1)
    members = np.flatnonzero(eff.labels == eff.labels[0])
    expected = sr[members].mean() / math.sqrt(corr[np.ix_(members, members)].mean())
    assert np.isclose(eff.cluster_sharpes, expected, rtol=1e-12, atol=0).sum() == 1
    assert eff.sharpe_variance == pytest.approx(np.var(eff.cluster_sharpes, ddof=1))
    assert eff.raw_sharpe_variance == pytest.approx(np.var(sr, ddof=1))
    # the sharpes + correlation route gives the same answer
    again = ov.effective_number_of_trials(trial_sharpes=sr, correlation=corr)
    assert again.n_effective == 5
    np.testing.assert_allclose(np.sort(again.cluster_sharpes), np.sort(eff.cluster_sharpes))


def test_effective_trials_rejects_bad_input():
    with pytest.raises(ParameterError, match="`min_correlation` must be in \\(-1, 1\\)"):
        ov.effective_number_of_trials(np.zeros((10, 2)), min_correlation=1.0)
    with pytest.raises(ParameterError, match="needs `returns_matrix`, or both"):
        ov.effective_number_of_trials(trial_sharpes=[0.1, 0.2])
    with pytest.raises(DataValidationError, match="must be \\(2, 2\\)"):
        ov.effective_number_of_trials(trial_sharpes=[0.1, 0.2], correlation=np.eye(3))


# --------------------------------------------------------------------------------------------
# walk-forward efficiency, SPA
# --------------------------------------------------------------------------------------------
def test_walk_forward_efficiency():
    assert ov.walk_forward_efficiency([2.0, 1.0, 3.0], [1.0, 0.5, 1.5]) == pytest.approx(0.5)
    assert math.isnan(ov.walk_forward_efficiency([-1.0, 0.5], [0.2, 0.1]))
    with pytest.raises(DataValidationError, match="one value per fold each"):
        ov.walk_forward_efficiency([1.0, 2.0], [1.0])


def test_spa_detects_a_real_edge_and_not_noise():
    rng = np.random.default_rng(4)
    noise = pd.DataFrame(rng.normal(0, 0.01, (750, 8)), columns=[f"m{i}" for i in range(8)])
    edge = noise.copy()
    edge["m3"] += 0.002
    res = ov.spa_test(edge, reps=400, seed=1)
    assert res.best_model == "m3"
    assert res.consistent < 0.05 and res.reality_check == res.upper
    assert res.lower <= res.consistent <= res.upper
    again = ov.spa_test(edge, reps=400, seed=1)
    assert (again.consistent, again.lower, again.upper) == (res.consistent, res.lower, res.upper)
    bench = rng.normal(0.0002, 0.01, 750)
    null = ov.spa_test(noise.to_numpy() + bench[:, None] * 0.0, benchmark=noise.mean(1), seed=2)
    assert null.consistent > 0.1
    with pytest.raises(DataValidationError, match="one return per period of `returns` \\(750\\)"):
        ov.spa_test(noise, benchmark=bench[:100])
    with pytest.raises(ParameterError, match="`bootstrap` must be one of"):
        ov.spa_test(noise, bootstrap="iid")


# --------------------------------------------------------------------------------------------
# CPCV paths (splits: backtest.splitters.CombinatorialPurged)
# --------------------------------------------------------------------------------------------
def test_cpcv_sharpe_distribution_assembles_paths_from_the_splitter():
    r = np.random.default_rng(8).normal(0.001, 0.01, 130)
    index = pd.date_range("2021-01-01", periods=130, freq="D", tz="UTC")
    seen = []

    def replay(train, test):  # a "model" that reproduces the realised returns
        seen.append((train, test))
        assert np.intersect1d(train, test).size == 0
        return r[test]

    res = ov.cpcv_sharpe_distribution(replay, index, n_groups=5, n_test_groups=2, purge=2)
    assert len(seen) == 10 and res.assignment.shape == (4, 5)
    assert res.path_returns.shape == (130, 4) and res.path_returns.index.equals(index)
    for p in range(4):  # every path covers the whole sample exactly once
        np.testing.assert_array_equal(res.path_returns.iloc[:, p].to_numpy(), r)
    np.testing.assert_allclose(res.sharpes, r.mean() / r.std(ddof=1), rtol=1e-12)

    def split_tag(train, test):  # each split adds its own constant: paths differ
        return r[test] + 1e-3 * train.size

    res = ov.cpcv_sharpe_distribution(split_tag, 130, n_groups=5, n_test_groups=2)
    for p in range(4):  # group g of path p really comes from split assignment[p, g]
        for g, sl in enumerate(res.groups):
            split = res.splits[res.assignment[p, g]]
            assert g in split.test_groups
            expected = r[sl] + 1e-3 * split.train.size
            np.testing.assert_allclose(res.path_returns.iloc[sl, p], expected, rtol=1e-12)
    manual = res.path_returns.mean() / res.path_returns.std(ddof=1)
    np.testing.assert_allclose(res.sharpes, manual.to_numpy(), rtol=1e-12)
    summary = res.summary(periods_per_year=252)
    assert summary["n_paths"] == 4
    assert summary["mean"] == pytest.approx(np.mean(manual) * np.sqrt(252))
    with pytest.raises(DataValidationError, match="one return per test position"):
        ov.cpcv_sharpe_distribution(lambda a, b: np.zeros(3), 130, n_groups=5)


# --------------------------------------------------------------------------------------------
# parameter stability
# --------------------------------------------------------------------------------------------
SPACE = {"fast": Int(2, 50), "slow": Int(10, 200, step=5), "mode": Categorical(["a", "b"])}
PICK = {"fast": 20, "slow": 100, "mode": "a"}


def _plateau(sets):
    return [1.0 - 0.001 * (p["fast"] - 20) ** 2 - 0.0001 * (p["slow"] - 100) ** 2 for p in sets]


def _spike(sets):
    return [1.0 if (p["fast"], p["slow"]) == (20, 100) else 0.1 for p in sets]


def test_neighbourhood_respects_steps_bounds_and_constraints():
    grid, _ = ov.neighbourhood(PICK, SPACE, k=1)
    assert len(grid) == 8
    assert {(p["fast"], p["slow"]) for p in grid} == {
        (f, s) for f in (19, 20, 21) for s in (95, 100, 105)
    } - {(20, 100)}
    axes, _ = ov.neighbourhood(PICK, SPACE, k=2, mode="axes")
    assert len(axes) == 8
    edge, _ = ov.neighbourhood({"fast": 2, "slow": 10, "mode": "a"}, SPACE, k=1)
    assert len(edge) == 3  # only the up-steps exist at the lower bounds
    constrained, _ = ov.neighbourhood(
        {"fast": 10, "slow": 10},
        {"fast": Int(2, 50), "slow": Int(2, 50)},
        constraints=["fast <= slow"],
    )
    assert all(p["fast"] <= p["slow"] for p in constrained) and len(constrained) == 5
    cats, _ = ov.neighbourhood(PICK, SPACE, k=1, params=["mode"], vary_categorical=True)
    assert cats == [{"fast": 20, "slow": 100, "mode": "b"}]
    logs, _ = ov.neighbourhood({"x": 1.0}, {"x": Float(0.01, 100.0, log=True)}, float_steps=4)
    assert [p["x"] for p in logs] == pytest.approx([0.1, 10.0])


def test_parameter_stability_scores_plateau_high_and_spike_low():
    plateau = ov.parameter_stability(_plateau, PICK, SPACE, k=2)
    assert plateau.n_neighbours == 24
    vals = np.array(_plateau(plateau.table.to_dict("records")))
    assert plateau.score == pytest.approx(np.median(vals[1:]) / vals[0])
    assert plateau.score > 0.9 and plateau.share_above_half == 1.0
    spike = ov.parameter_stability(_spike, PICK, SPACE, k=2)
    assert spike.score == pytest.approx(0.1) and spike.share_above_half == 0.0
    big = ov.parameter_stability(_plateau, PICK, SPACE, k=5, max_neighbours=30)
    assert big.sampled and big.n_neighbours == 30
    with pytest.raises(DataValidationError, match="one metric per parameter set"):
        ov.parameter_stability(lambda sets: [1.0], PICK, SPACE)
    with pytest.raises(ParameterError, match="unknown parameter 'fsat'.*did you mean 'fast'"):
        ov.parameter_stability(_plateau, {"fsat": 3}, SPACE)


def test_stability_summary_is_read_off_the_table():
    """The pick is the first row; neighbours without a finite value do not count."""
    from research.overfitting.stability import StabilityResult

    res = StabilityResult(pd.DataFrame({"value": [2.0, np.nan, 1.0, 3.0, 0.5]}))
    assert (res.pick_value, res.n_neighbours) == (2.0, 3)
    assert (res.neighbour_median, res.neighbour_mean, res.neighbour_min) == (1.0, 1.5, 0.5)
    assert res.score == 0.5 and res.share_above_half == pytest.approx(2 / 3)
    alone = StabilityResult(pd.DataFrame({"value": [2.0, np.nan]}))
    assert alone.n_neighbours == 0 and math.isnan(alone.score) and math.isnan(alone.neighbour_min)
    losing = StabilityResult(pd.DataFrame({"value": [-1.0, 3.0]}))
    assert losing.score == 0.0 and losing.share_above_half == 0.0


def test_parameter_stability_from_trials_agrees_with_the_callable():
    sets = [{"fast": f, "slow": s, "mode": "a"} for f in range(16, 25) for s in range(80, 121, 5)]
    trials = pd.DataFrame({f"params_{k}": [p[k] for p in sets] for k in PICK})
    trials["value"] = _plateau(sets)
    trials["state"] = "COMPLETE"
    from_trials = ov.parameter_stability_from_trials(trials, PICK, SPACE, k=2)
    direct = ov.parameter_stability(_plateau, PICK, SPACE, k=2)
    assert from_trials.n_neighbours == direct.n_neighbours == 24
    assert from_trials.score == pytest.approx(direct.score, rel=1e-12)
    heat = ov.stability_heatmap(trials, PICK, SPACE, "fast", "slow", k=2)
    heat_direct = ov.stability_heatmap(_plateau, PICK, SPACE, "fast", "slow", k=2)
    assert heat.shape == (5, 5)
    pd.testing.assert_frame_equal(heat, heat_direct)
    assert heat.loc[100, 20] == pytest.approx(1.0)
    with pytest.raises(DataValidationError, match="pass `pick_value`"):
        ov.parameter_stability_from_trials(trials.iloc[:3], {"fast": 30}, SPACE)
