"""The out-of-sample budget: earlier looks at the same data grow it, new data resets it."""

from __future__ import annotations

import json
from dataclasses import asdict

from research.judge.trial_count import OOSBudget
from research.report import build_report
from research.run.budget import oos_budget, scan_run_store
from research.run.calibration import CalibrationSummary
from research.run.pipeline import run_experiment
from research.spec import parse_experiment
from tests.research import _runs


def _results(run_id: str, fp: str, start: str, end: str, n: int, exp: str = "e") -> dict:
    return {
        "run_id": run_id,
        "experiment": exp,
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
    # runs of one resolved spec (same spec hash, as in run.json) are one look, and not a look at
    # all for a rerun of that same spec
    same = [{**_results(f"s{i}", "fp1", *span, 3), "_spec_hash": "h"} for i in range(2)]
    assert oos_budget(same, "fp1", span).n_candidates == 3
    assert oos_budget(same, "fp1", span, spec_hash="h").n_runs == 0
    assert oos_budget(same, "fp1", span, spec_hash="other").n_runs == 1
    store.append(_results("r3", "fp1", *span, 5, exp="other"))  # another experiment, same data
    assert oos_budget(store, "fp1", span).n_candidates == 15  # any experiment
    assert oos_budget(store, "fp1", span, experiment="e").n_candidates == 10
    # the same through the run store on disk
    for r in store:
        folder = tmp_path / "exp" / r["run_id"]
        folder.mkdir(parents=True)
        (folder / "results.json").write_text(json.dumps(r))
    (tmp_path / "exp" / "broken").mkdir()
    (tmp_path / "exp" / "broken" / "results.json").write_text("{not json")
    assert oos_budget(scan_run_store(tmp_path / "exp"), "fp1", span, experiment="e").n_runs == 2


def test_reruns_of_an_experiment_spend_the_budget_and_new_data_resets_it(tmp_path):
    """Through ``research run``: the second run on the same data counts the first run's
    candidates as earlier looks; a run on other data (another end date) starts afresh."""

    raw = _runs.spec(
        strategies=["sma_cross"],
        optimizers=["random"],
        budget={"n_trials": 3},
        report=False,
        gates={"min_dsr": 0.99, "min_trades": 1, "min_wfe": None},  # the DSR gate fails
    )
    first = run_experiment(parse_experiment(raw), runs_root=tmp_path, progress=False)
    c1 = first.results.overfitting["dsr_trials"]
    assert (c1["mode"], c1["n_trials"], c1["n_prior"]) == ("candidates", 1, 0)
    # the very same spec again reproduces the same candidates: not another look, same leaderboard
    again = run_experiment(parse_experiment(raw), runs_root=tmp_path, progress=False, new=True)
    assert again.results.overfitting["dsr_trials"]["n_prior"] == 0
    assert again.results.leaderboard == first.results.leaderboard
    edited = dict(raw, budget={"n_trials": 4})  # an edited spec is another look at the same data
    second = run_experiment(parse_experiment(edited), runs_root=tmp_path, progress=False, new=True)
    c2 = second.results.overfitting["dsr_trials"]
    assert (c2["n_trials"], c2["n_prior"]) == (2, 1)
    assert c2["budget"]["sentence"] == (
        "this out-of-sample span has been used by 2 runs and 2 candidates; all counted"
    )
    assert second.results.leaderboard[0].stats.n_trials == 2
    # a calibration of the experiment beside its runs (research calibrate's default --out)
    cal = CalibrationSummary(dict(second.results.gates), 84, 0, 0.0, (0.0, 0.043), [], [], 1.3)
    folder = second.run_dir.parent / "calibration"
    folder.mkdir()
    (folder / "summary.json").write_text(
        json.dumps({**asdict(cal), "sentence": cal.sentence()}, default=str)
    )
    build_report(second.run_dir)
    html = (second.run_dir / "report.html").read_text()
    assert "N = 1 candidate compared plus 1 earlier look at the same data" in html
    assert "this out-of-sample span has been used by 2 runs and 2 candidates; all counted" in html
    assert (
        "<b>Calibration:</b> with these gates, on data like yours: 0% false champions (0 of 84 "
        "null data sets, 95% CI 0% - 4%), 80% power at an out-of-sample Sharpe of 1.30.</p>"
    ) in html
    # each failed gate is explained in one sentence, in the terminal verdict and the report
    for row in second.results.leaderboard:
        assert len(row.explanations) == len(row.failed()) + (not row.params)
    top = second.results.leaderboard[0]
    assert not top.passed and top.explanations[0].startswith(
        f"the deflated Sharpe is {top.stats.dsr:.2f} (needs 0.99): it needs an out-of-sample "
        "Sharpe of at least "
    )
    assert "with 2 candidates (with 1 earlier look at this data) over " in top.explanations[0]
    text = second.summary()
    assert f"Why {top.candidate} is not champion:" in text
    assert all(f"  - {why}" in text for why in top.explanations)
    assert "Why it is not champion" in html
    other = dict(raw, data={**raw["data"], "end": "2016-06-30"})
    third = run_experiment(parse_experiment(other), runs_root=tmp_path, progress=False)
    assert third.results.overfitting["dsr_trials"]["n_prior"] == 0
