"""Trial counts of the deflated Sharpe ratio per kind of record.

Expected values are worked out by hand in the comments (sample variances with ddof=1)."""

from __future__ import annotations

import pytest

from data_loaders.errors import ParameterError
from research.judge.trial_count import (
    null_sharpe_variance,
    trial_count,
)


def test_walk_forward_counts_the_candidates_and_floors_a_small_variance():
    # 4 candidates over 101 returns: var([.01, .03, -.02, 0]) = (2.5e-5 + 6.25e-4 * 2 + 2.5e-5)
    # / 3 = 4.333e-4 < 1/100, so the zero-skill sampling variance 0.01 is used
    tc = trial_count(candidate_sharpes=[0.01, 0.03, -0.02, 0.0], n_obs=101)
    assert tc.n_trials == 4
    assert tc.sharpe_variance == pytest.approx(0.01)
    assert tc.variance_source == "floor"
    assert tc.note.startswith("N = 4 candidates compared")


def test_walk_forward_uses_the_candidates_variance_when_it_is_larger():
    # var([.2, -.2, .1, -.1]) = (.04 + .04 + .01 + .01) / 3 = 0.03333 > 0.01
    sharpes = [0.2, -0.2, 0.1, -0.1]
    tc = trial_count(candidate_sharpes=sharpes, n_obs=101, variance="observed")
    assert tc.sharpe_variance == pytest.approx(0.1 / 3)
    assert tc.variance_source == "candidates"
    # the default (auto) keeps the floor below 10 candidates ...
    auto = trial_count(candidate_sharpes=sharpes, n_obs=101)
    assert (auto.sharpe_variance, auto.variance_source) == (pytest.approx(0.01), "floor")
    # ... and uses the observed variance from 10 on: var of 0.2, -0.2 repeated 5 times = 0.04*10/9
    ten = trial_count(candidate_sharpes=[0.2, -0.2] * 5, n_obs=101)
    assert ten.sharpe_variance == pytest.approx(0.4 / 9)
    null = trial_count(candidate_sharpes=sharpes, n_obs=101, variance="null")
    assert null.sharpe_variance == pytest.approx(0.01)


def test_earlier_looks_at_the_same_data_add_to_the_count():
    tc = trial_count(candidate_sharpes=[0.1, 0.0, 0.05], n_obs=51, prior_looks=6)
    assert (tc.n_trials, tc.n_this_run, tc.n_prior) == (9, 3, 6)
    assert "plus 6 earlier looks at the same data" in tc.note


def test_all_trials_counts_every_in_sample_trial_with_their_variance():
    trials = [0.0, 0.1, 0.2, 0.3, 0.4]  # var = 0.025
    tc = trial_count(
        mode="all_trials",
        candidate_sharpes=[0.1, 0.2],
        n_obs=101,
        trials_sharpes=trials,
        prior_looks=2,
    )
    assert (tc.n_trials, tc.sharpe_variance) == (7, pytest.approx(0.025))


def test_an_in_sample_pick_counts_all_trials_and_no_out_of_sample_looks():
    trials = [0.0, 0.1, 0.2, 0.3, 0.4]
    tc = trial_count(record="in_sample", n_obs=101, trials_sharpes=trials, prior_looks=9)
    assert tc.mode == "all_trials"
    assert (tc.n_trials, tc.n_prior) == (5, 0)
    assert tc.sharpe_variance == pytest.approx(0.025)


def test_effective_uses_the_cluster_count_and_variance_above_the_floor():
    tc = trial_count(
        mode="effective", n_obs=101, effective=(2.0, 0.05), prior_looks=1, variance="observed"
    )
    assert (tc.n_trials, tc.sharpe_variance, tc.variance_source) == (3, 0.05, "clusters")
    low = trial_count(mode="effective", n_obs=101, effective=(2.0, 0.001), variance="observed")
    assert (low.sharpe_variance, low.variance_source) == (pytest.approx(0.01), "floor")


def test_a_nightly_challenger_counts_the_night_and_the_champion_history():
    tc = trial_count(
        record="challenger", candidate_sharpes=[0.05, 0.02, -0.01], n_obs=64, prior_looks=5
    )
    assert tc.n_trials == 8
    assert tc.sharpe_variance == pytest.approx(1 / 63)
    assert "plus 5 earlier champions and challengers" in tc.note


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "every"}, "`dsr_trials` must be one of candidates, all_trials, effective"),
        ({"record": "nightly"}, "`record` must be one of walk_forward"),
        ({"mode": "effective"}, "needs the effective number of trials"),
        ({"mode": "all_trials"}, "needs the trials' Sharpe ratios"),
        ({"prior_looks": -1}, "`prior_looks` must be >= 0, got -1"),
        ({"candidate_sharpes": [0.1, float("nan")]}, "`candidate_sharpes` must hold finite"),
    ],
)
def test_bad_counts_are_one_line_errors(kwargs, message):
    base = {"candidate_sharpes": [0.1, 0.2], "n_obs": 50}
    with pytest.raises(ParameterError, match=message.replace("(", r"\(")):
        trial_count(**{**base, **kwargs})


def test_null_variance_is_one_over_t_minus_one():
    assert null_sharpe_variance(2017) == pytest.approx(1 / 2016)
    with pytest.raises(ParameterError, match="`n_obs` must be >= 2, got 1"):
        null_sharpe_variance(1)
