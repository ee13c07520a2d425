"""Trial counts of the deflated Sharpe ratio per kind of record, and the out-of-sample budget.

Expected values are worked out by hand in the comments (sample variances with ddof=1)."""

from __future__ import annotations

import json

import pytest

from data_loaders.errors import ParameterError
from research.dsr_trials import (
    OOSBudget,
    null_sharpe_variance,
    oos_budget,
    scan_run_store,
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


def _results(run_id: str, fp: str, start: str, end: str, n: int) -> dict:
    return {
        "run_id": run_id,
        "data": {"fingerprint": fp},
        "oos_span": {"start": start, "end": end},
        "leaderboard": [{"candidate": f"c{i}"} for i in range(n)],
    }


def test_the_budget_grows_with_reruns_on_the_same_data_and_resets_with_new_data(tmp_path):
    span = ("2011-01-03", "2018-12-31")
    store: list[dict] = []
    assert oos_budget(store, "fp1", span) == OOSBudget(0, 0)
    store.append(_results("r1", "fp1", *span, 4))
    store.append(_results("r2", "fp1", *span, 6))  # a rerun with an edited spec
    b = oos_budget(store, "fp1", span)
    assert (b.n_runs, b.n_candidates, b.run_ids) == (2, 10, ("r1", "r2"))
    assert b.sentence(4) == (
        "this out-of-sample span has been used by 3 runs and 14 candidates; all counted"
    )
    assert oos_budget(store, "fp2", span).n_candidates == 0  # new data: a fresh budget
    assert oos_budget(store, "fp1", ("2012-01-03", "2018-12-31")).n_runs == 0
    assert oos_budget(store, "fp1", span, exclude_run="r2").n_candidates == 4
    # the same through the run store on disk
    for r in store:
        folder = tmp_path / "exp" / r["run_id"]
        folder.mkdir(parents=True)
        (folder / "results.json").write_text(json.dumps(r))
    (tmp_path / "exp" / "broken").mkdir()
    (tmp_path / "exp" / "broken" / "results.json").write_text("{not json")
    assert oos_budget(scan_run_store(tmp_path / "exp"), "fp1", span).n_candidates == 10


def test_reruns_of_an_experiment_spend_the_budget_and_new_data_resets_it(tmp_path):
    """Through ``research run``: the second run on the same data counts the first run's
    candidates as earlier looks; a run on other data (another end date) starts afresh."""
    from research.experiment import parse_experiment
    from research.runner import run_experiment
    from tests.research import _runs

    raw = _runs.spec(
        strategies=["sma_cross"], optimizers=["random"], budget={"n_trials": 3}, report=False
    )
    first = run_experiment(parse_experiment(raw), runs_root=tmp_path, progress=False)
    c1 = first.results["overfitting"]["dsr_trials"]
    assert (c1["mode"], c1["n_trials"], c1["n_prior"]) == ("candidates", 1, 0)
    second = run_experiment(parse_experiment(raw), runs_root=tmp_path, progress=False, new=True)
    c2 = second.results["overfitting"]["dsr_trials"]
    assert (c2["n_trials"], c2["n_prior"]) == (2, 1)
    assert c2["budget"]["sentence"] == (
        "this out-of-sample span has been used by 2 runs and 2 candidates; all counted"
    )
    assert second.results["leaderboard"][0]["stats"]["n_trials"] == 2
    from research.report import build_report

    build_report(second.run_dir)
    html = (second.run_dir / "report.html").read_text()
    assert "N = 1 candidate compared plus 1 earlier look at the same data" in html
    assert "this out-of-sample span has been used by 2 runs and 2 candidates; all counted" in html
    other = dict(raw, data={**raw["data"], "end": "2016-06-30"})
    third = run_experiment(parse_experiment(other), runs_root=tmp_path, progress=False)
    assert third.results["overfitting"]["dsr_trials"]["n_prior"] == 0
