"""results.json: one schema (RunResults), round trip, and run folders of the previous release.

``tests/fixtures/run_v1`` is the quickstart with 4 trials per fold written by the release before
the run flow moved to ``research/run`` (schema 1: no ``schema_version``, ``max_drawdown`` gates
as negative floors; ``study.db``, checkpoints and ``report.html`` left out to keep it small).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from data_loaders.errors import ConfigError
from research.cli import main
from research.run.compare import compare_runs, list_runs
from research.run.nightly import warm_start_sets
from research.run.results import SCHEMA_VERSION, RunResults
from research.spec import load_experiment

ROOT = Path(__file__).resolve().parents[3]
V1 = ROOT / "tests" / "fixtures" / "run_v1"


@pytest.fixture
def v1_runs(tmp_path) -> Path:
    """``<root>/quickstart/run_v1``: the fixture where `research runs` and nightly look."""
    target = tmp_path / "runs" / "quickstart" / "run_v1"
    shutil.copytree(V1, target)
    return target


def test_a_v1_results_file_opens_and_is_upgraded():
    raw = json.loads((V1 / "results.json").read_text())
    assert "schema_version" not in raw
    res = RunResults.load(V1)
    assert res.schema_version == SCHEMA_VERSION == 2
    assert res.experiment == "quickstart" and res.seed == 7 and len(res.leaderboard) == 6
    assert [r.candidate for r in res.leaderboard] == [r["candidate"] for r in raw["leaderboard"]]
    top, raw_top = res.leaderboard[0], raw["leaderboard"][0]
    assert top.stats.dsr == raw_top["stats"]["dsr"] and top.params == raw_top["params"]
    # max_drawdown: negative floor in v1, positive fraction now; the outcome is unchanged
    dd, raw_dd = top.gates["max_drawdown"], raw_top["gates"]["max_drawdown"]
    assert raw_dd["threshold"] == -0.5 and dd.threshold == 0.5
    assert dd.value == -raw_dd["value"] > 0 and dd.passed is raw_dd["passed"]
    assert res.verdict.best == top and res.verdict.champion is None
    assert res.verdict.lead == top and res.verdict.message == raw["verdict"]["message"]
    assert res.searches[0].folds[0].is_metrics == raw["searches"][0]["folds"][0]["is"]
    assert res.data.fingerprint == raw["data"]["fingerprint"]


def test_round_trip_is_exact():
    res = RunResults.load(V1)
    again = RunResults.from_json(json.loads(json.dumps(res.to_json())))
    assert again == res
    out = res.to_json()
    assert list(out)[0] == "schema_version" and out["searches"][0]["folds"][0]["is"]
    changed = replace(res, seed=8)
    assert RunResults.from_json(changed.to_json()) == changed != res


def test_write_then_load(tmp_path):
    res = RunResults.load(V1)
    (tmp_path / "r").mkdir()
    path = res.write(tmp_path / "r")
    assert json.loads(path.read_text())["schema_version"] == 2
    assert RunResults.load(tmp_path / "r") == res


def test_unreadable_results_are_one_line_errors(tmp_path):
    raw = json.loads((V1 / "results.json").read_text())
    with pytest.raises(ConfigError, match="schema_version 99; this code reads up to 2"):
        RunResults.from_json({**raw, "schema_version": 99})
    del raw["verdict"]
    with pytest.raises(ConfigError, match="results.json: missing key 'verdict'"):
        RunResults.from_json(raw)
    with pytest.raises(ConfigError, match="not found"):
        RunResults.load(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="has no results.json: it is not a run folder"):
        RunResults.load(tmp_path / "empty")


def test_report_rebuilds_from_a_v1_folder(v1_runs, capsys):
    assert main(["report", str(v1_runs)]) == 0
    html = (v1_runs / "report.html").read_text()
    raw = json.loads((V1 / "results.json").read_text())
    assert "No candidate passes the gates (0 of 6)" in html
    assert raw["leaderboard"][0]["candidate"] in html
    assert "max drawdown ≤ 50%" in html  # the badge in the current sign convention


def test_runs_and_compare_read_a_v1_folder(v1_runs, tmp_path, capsys):
    (info,) = list_runs(v1_runs.parent.parent)
    raw = json.loads((V1 / "results.json").read_text())
    best = raw["verdict"]["best"]
    assert (info.experiment, info.run_id, info.status) == ("quickstart", "run_v1", "finished")
    assert info.champion == best["candidate"] and info.passed is False
    assert info.value == best["oos_metrics"]["sharpe_ratio"]
    assert main(["runs", "--runs-root", str(v1_runs.parent.parent)]) == 0
    assert f"sharpe_ratio={info.value:.3f}" in capsys.readouterr().out

    other = tmp_path / "other"
    shutil.copytree(V1, other)
    results = json.loads((other / "results.json").read_text())
    results["verdict"]["champion"] = results["leaderboard"][1]
    results["verdict"]["passed"] = True
    (other / "results.json").write_text(json.dumps(results))
    diff = compare_runs(v1_runs, other)
    assert diff["champion"] == (None, results["leaderboard"][1]["candidate"])
    assert diff["passed"] == (False, True) and diff["config"] == []
    assert main(["compare", str(v1_runs), str(other)]) == 0
    assert "verdict:  failed  ->  passed" in capsys.readouterr().out


def test_nightly_warm_starts_from_a_v1_run(v1_runs):
    exp = load_experiment(ROOT / "experiments" / "quickstart.yaml")
    import pandas as pd

    trials = pd.read_parquet(V1 / "series" / "trials.parquet")
    sets = warm_start_sets(exp, v1_runs.parent.parent, champion=None)
    assert set(sets) == {"sma_cross", "rsi_reversion", "donchian_atr"}
    done = trials[(trials["state"] == "COMPLETE") & trials["value"].notna()]
    for label, params in sets.items():
        t = done[done["strategy"] == label].sort_values("value", ascending=False)
        assert params[0] == json.loads(t["params"].iloc[0])  # the best trial comes first
        assert len(params) == min(exp.nightly.warm_start, t["params"].nunique())
