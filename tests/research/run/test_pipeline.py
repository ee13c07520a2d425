"""``research run``: the whole pipeline on a tiny budget, its run folder, resume and reruns."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from data_loaders.errors import ConfigError, DataTooShortError
from research.cli import main
from research.experiment import parse_experiment
from research.runner import load_experiment_data, recent_window, run_experiment
from research.runs import MARKER
from tests.research import _runs

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def run():
    return _runs.finished_run()


@pytest.fixture(scope="module")
def bars():
    return load_experiment_data(parse_experiment(_runs.TINY))


def _trial_counts(db: Path) -> dict[str, int]:
    """Finished trials (complete, pruned or failed) per study, read with plain SQL."""
    with sqlite3.connect(db) as con:
        rows = con.execute(
            "SELECT s.study_name, COUNT(t.trial_id) FROM studies s "
            "LEFT JOIN trials t ON t.study_id = s.study_id "
            "AND t.state IN ('COMPLETE', 'PRUNED', 'FAIL') "
            "GROUP BY s.study_name"
        ).fetchall()
    return dict(rows)


def test_run_folder_holds_config_fingerprint_version_and_results(run, bars):
    from data_loaders import fingerprint

    d = run.run_dir
    for name in ("config.yaml", "run.json", "study.db", "results.json", "leaderboard.csv"):
        assert (d / name).is_file(), name
    for name in ("oos_returns", "benchmark", "trials", "champion_trades"):
        assert (d / "series" / f"{name}.parquet").is_file(), name
    assert (d / "report.html").stat().st_size > 1_000_000  # plotly.js is inlined
    assert not (d / MARKER).exists()

    config = yaml.safe_load((d / "config.yaml").read_text())
    assert config == parse_experiment(_runs.TINY).to_dict()
    record = json.loads((d / "run.json").read_text())
    assert record["status"] == "finished" and record["seed"] == 3
    assert record["data_fingerprint"] == fingerprint(bars)
    assert set(record["code_version"]) == {"package", "git"}
    results = run.results.to_json()
    assert results["data"]["n_bars"] == len(bars) == 1258
    assert results["data"]["fingerprint"] == fingerprint(bars)


def test_every_trial_of_every_fold_is_in_the_study_database(run):
    counts = _trial_counts(run.run_dir / "study.db")
    # 2 strategies x 2 optimizers x 3 folds, 6 trials each
    assert len(counts) == 12 and set(counts.values()) == {6}
    assert run.results.to_json()["overfitting"]["n_trials_total"] <= 72
    trials = pd.read_parquet(run.run_dir / "series" / "trials.parquet")
    assert len(trials) == 72
    assert trials.groupby(["search", "fold"]).size().eq(6).all()


def test_leaderboard_csv_and_results_agree(run):
    csv = pd.read_csv(run.run_dir / "leaderboard.csv")
    rows = run.results.to_json()["leaderboard"]
    assert list(csv["name"]) == [r["candidate"] for r in rows]
    assert list(csv["rank"]) == [1, 2, 3, 4]
    np.testing.assert_allclose(
        csv["sharpe_ratio"], [r["oos_metrics"]["sharpe_ratio"] for r in rows], rtol=1e-12
    )
    # sorted by the ranking metric, best first
    assert list(csv["sharpe_ratio"]) == sorted(csv["sharpe_ratio"], reverse=True)
    # with every gate this strict on 72 trials nothing passes, and the verdict says so
    assert run.results.to_json()["verdict"]["passed"] is False and run.champion is None
    assert run.results.to_json()["verdict"]["message"].startswith(
        "No candidate passes the gates (0 of 4)"
    )
    assert not run.passed


def test_out_of_sample_numbers_match_an_independent_backtest(run, bars):
    """Each fold's pick re-traded on its test window with the vectorbt engine gives the stitched
    out-of-sample returns; the leaderboard Sharpe is the Sharpe of those returns."""
    from backtest.costs import Costs
    from backtest.engine import run_backtest
    from backtest.metrics import sharpe_ratio
    from strategies.registry import get_strategy

    oos = pd.read_parquet(run.run_dir / "series" / "oos_returns.parquet")
    r = run.results.to_json()
    folds = {f["number"]: f for f in r["folds"]}
    checked = 0
    for s in r["searches"]:
        cls = get_strategy(s["strategy_ref"])
        for f in s["folds"]:
            a = bars.index.get_loc(pd.Timestamp(folds[f["number"]]["test_start"], tz="UTC"))
            b = a + folds[f["number"]]["test_bars"]
            got = oos[s["key"]].loc[bars.index[a] : bars.index[b - 1]].to_numpy()
            if f["params"] is None:  # no feasible trial: flat
                assert np.all(got == 0.0)
                continue
            pos = cls(**f["params"]).positions(bars.iloc[:b])
            bt = run_backtest(
                bars.iloc[a - 1 : b],
                pos.iloc[a - 1 : b],
                costs=Costs(fees=0.001),
                execution="next-open",
            )
            np.testing.assert_allclose(got, bt.returns.iloc[1:].to_numpy(), atol=1e-10)
            checked += 1
    assert checked >= 6
    for row in r["leaderboard"]:
        own = sharpe_ratio(oos[row["candidate"]].to_numpy(), periods_per_year=252)
        assert row["oos_metrics"]["sharpe_ratio"] == pytest.approx(own, rel=1e-9)


def test_buy_and_hold_benchmark_is_the_price_ratio_after_the_fee(run, bars):
    bench = pd.read_parquet(run.run_dir / "series" / "benchmark.parquet")["buy_and_hold"]
    first, last = bench.index[0], bench.index[-1]
    expected = bars.loc[last, "close"] / bars.loc[first, "open"] * (1 - 0.001)
    assert (1 + bench).prod() == pytest.approx(expected, rel=1e-5)
    assert run.results.to_json()["oos_span"]["start"] == first.isoformat()


def test_same_seed_gives_the_same_leaderboard_with_one_or_two_workers(run, tmp_path):
    again = run_experiment(
        parse_experiment(_runs.TINY), out_dir=tmp_path / "w2", workers=2, progress=False
    )
    assert yaml.safe_load((again.run_dir / "config.yaml").read_text())["workers"] == 2
    a = (run.run_dir / "leaderboard.csv").read_text()
    assert (again.run_dir / "leaderboard.csv").read_text() == a
    assert again.results.to_json()["leaderboard"] == run.results.to_json()["leaderboard"]
    assert again.results.to_json()["overfitting"] == run.results.to_json()["overfitting"]


def test_a_killed_run_resumes_to_the_same_result(run, tmp_path):
    """SIGKILL in the middle of the searches, rerun the same command: the unfinished folder is
    resumed, no trial is lost or repeated, and the leaderboard equals an uninterrupted run's."""
    spec = _runs.write_spec(_runs.TINY, tmp_path)
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "research", "run", str(spec), "--out", str(out), "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    db = out / "study.db"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if sum(_trial_counts(db).values()) >= 8:
                    break
            except sqlite3.Error:
                pass
            time.sleep(0.02)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert (out / MARKER).exists() and not (out / "results.json").exists()
    done_before = sum(_trial_counts(db).values())
    assert 8 <= done_before < 72

    assert main(["run", str(spec), "--out", str(out), "--no-progress"]) == 0
    assert set(_trial_counts(db).values()) == {6}
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "finished"
    assert (out / "leaderboard.csv").read_text() == (run.run_dir / "leaderboard.csv").read_text()


def test_a_finished_run_folder_is_never_overwritten(run, capsys):
    spec = run.run_dir.parent / "a.yaml"
    assert main(["run", str(spec), "--out", str(run.run_dir), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "already holds a finished run; refusing to overwrite" in err


def test_runs_compare_and_report_commands(run, tmp_path, capsys):
    other = _runs.copy_run(run.run_dir, tmp_path / "runs" / "tiny" / "20990101-000000")
    results = json.loads((other / "results.json").read_text())
    row = results["leaderboard"][1]
    results["verdict"]["champion"] = row  # pretend the second run crowned a champion
    results["verdict"]["passed"] = True
    (other / "results.json").write_text(json.dumps(results))

    assert main(["compare", str(run.run_dir), str(other)]) == 0
    out = capsys.readouterr().out
    assert f"champion: -  ->  {row['candidate']}" in out
    assert "verdict:  failed  ->  passed" in out
    assert main(["compare", str(run.run_dir), str(other), "--json"]) == 0
    diff = json.loads(capsys.readouterr().out)
    assert diff["champion"] == [None, row["candidate"]]

    assert main(["runs", "--runs-root", str(tmp_path / "runs")]) == 0
    listing = capsys.readouterr().out
    assert "20990101-000000" in listing and row["candidate"] in listing
    assert f"sharpe_ratio={row['oos_metrics']['sharpe_ratio']:.3f}" in listing

    (other / "report.html").unlink()
    assert main(["report", str(other)]) == 0
    assert "report written" in capsys.readouterr().out
    assert row["candidate"] in (other / "report.html").read_text()
    assert main(["report", str(tmp_path / "nothing")]) == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"data": {"source": "sample:stocks", "symbols": ["GOOG", "IMB"]}}, "did you mean 'IBM'"),
        (
            {"data": {"source": "sample:sp500", "start": "2030-01-01"}},
            "leave no bar of sample:sp500",
        ),
        ({"walk_forward": {"train": "30Y", "test": "1Y"}}, "walk-forward cannot fit one fold"),
        ({"strategies": ["pairs_zscore"]}, "pairs_zscore trades several symbols"),
        (
            {"objectives": ["sharpe_ratio", "turnover"], "optimizers": ["ga"]},
            "'ga' handles one objective",
        ),
        ({"budget": {"n_trials": 2, "pruner": "hyperband"}}, "'ga' cannot prune"),
        ({"optimizers": [{"name": "tpe", "options": {"n_startup": 3}}]}, "did you mean"),
        ({"scheduler": "tcp://localhost:8786"}, "needs a shared `storage` URL"),
    ],
)
def test_bad_specs_exit_2_with_one_line(tmp_path, capsys, changes, message):
    spec = _runs.write_spec(_runs.spec(**changes), tmp_path)
    assert main(["run", str(spec), "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert message in err
    assert not (tmp_path / "out").exists()  # refused before any run folder is made


def test_cli_overrides_reach_the_run(tmp_path):
    spec = _runs.spec(strategies=["sma_cross"], optimizers=["random"], report=False)
    res = run_experiment(
        parse_experiment(spec), out_dir=tmp_path / "o", trials=3, seed=9, progress=False
    )
    config = yaml.safe_load((res.run_dir / "config.yaml").read_text())
    assert config["budget"]["n_trials"] == 3 and config["seed"] == 9
    assert set(_trial_counts(res.run_dir / "study.db").values()) == {3}
    assert not (res.run_dir / "report.html").exists()
    with pytest.raises(ConfigError, match="--trials: must be >= 1"):
        run_experiment(parse_experiment(spec), out_dir=tmp_path / "p", trials=0)


def test_recent_window_counts_back_from_the_last_bar(bars):
    exp = parse_experiment(_runs.spec(nightly={"window": 100}))
    assert recent_window(exp, bars) == (len(bars) - 100, len(bars))
    exp = parse_experiment(_runs.spec(nightly={"window": "6M"}))
    start, n = recent_window(exp, bars)
    assert bars.index[start] > bars.index[-1] - pd.DateOffset(months=6)
    assert bars.index[start - 1] <= bars.index[-1] - pd.DateOffset(months=6)
    with pytest.raises(DataTooShortError, match="leaves 0 bars of history"):
        recent_window(parse_experiment(_runs.spec(nightly={"window": 5000})), bars)


def _example(name: str):
    from research.experiment import load_experiment

    return load_experiment(ROOT / "experiments" / f"{name}.yaml")


def test_every_example_experiment_loads_and_validates():
    from research.experiment import validate_experiment

    names = sorted(p.stem for p in (ROOT / "experiments").glob("*.yaml"))
    assert {"quickstart", "lgbm_features", "pairs", "multi_objective", "hyperband"} <= set(names)
    for name in names:
        validate_experiment(_example(name))
    quick = _example("quickstart")
    assert len(quick.strategies) == 3 and {o.name for o in quick.optimizers} == {"tpe", "ga"}
    # the calibrated gates of docs/gates.md: PBO and SPA reported, not gated (breadth: universes)
    off = {k for k, v in vars(quick.gates).items() if v is None}
    assert off == {"max_pbo", "max_spa_pvalue", "min_breadth"}
    assert quick.gates.dsr_trials == "candidates"
    assert quick.data.source.startswith("sample:")
    assert len(_example("multi_objective").objectives) == 3
    assert _example("hyperband").budget.pruner == "hyperband"
    assert _example("lgbm_features").strategies[0].features == "explore"
    assert _example("pairs").data.symbols == ("GOOG", "IBM")


def test_quickstart_runs_from_the_command_line_with_a_tiny_budget(tmp_path, capsys):
    spec = ROOT / "experiments" / "quickstart.yaml"
    code = main(["run", str(spec), "--trials", "2", "--runs-root", str(tmp_path), "--no-progress"])
    assert code == 0
    out = capsys.readouterr().out
    (run_dir,) = (tmp_path / "quickstart").iterdir()
    assert f"report: {run_dir / 'report.html'}" in out
    results = json.loads((run_dir / "results.json").read_text())
    assert len(results["leaderboard"]) == 6 and len(results["folds"]) == 8
    assert set(_trial_counts(run_dir / "study.db").values()) == {2}


def _shortened(name: str, **changes):
    """An example spec on 2012-2016 data (three folds) so that it runs in seconds."""
    from dataclasses import replace

    exp = _example(name)
    data = replace(exp.data, start="2012-01-01", end="2016-12-31")
    wf = replace(exp.walk_forward, train=500, test=250)
    return replace(exp, data=data, walk_forward=wf, **changes)


def test_multi_objective_example_keeps_a_pareto_front(tmp_path):
    from dataclasses import replace

    exp = _shortened("multi_objective")
    exp = replace(exp, strategies=exp.strategies[:1], ranking=replace(exp.ranking, top_k=3))
    res = run_experiment(exp, out_dir=tmp_path / "mo", trials=8, progress=False)
    assert [o["metric"] for o in res.results.to_json()["objectives"]] == [
        "sharpe_ratio",
        "max_drawdown",
        "turnover",
    ]
    trials = pd.read_parquet(res.run_dir / "series" / "trials.parquet")
    for key, front in res.results.to_json()["pareto"].items():
        assert front, key
        t = trials[(trials["search"] == key) & (trials["state"] == "COMPLETE") & trials["feasible"]]
        for p in front:  # no feasible trial of the same fold dominates a front member
            same = t[t["fold"] == p["fold"]]
            vals = np.array([json.loads(v) for v in same["values"]], dtype=float)
            mine = np.array([p["sharpe_ratio"], p["max_drawdown"], -p["turnover"]])
            oriented = vals * np.array([1.0, 1.0, -1.0])
            dominates = (oriented >= mine).all(axis=1) & (oriented > mine).any(axis=1)
            assert not dominates.any()


def test_hyperband_example_prunes(tmp_path):
    from dataclasses import replace

    exp = _shortened("hyperband")
    exp = replace(exp, strategies=exp.strategies[:1], optimizers=exp.optimizers[:1])
    res = run_experiment(exp, out_dir=tmp_path / "hb", trials=24, progress=False)
    (search,) = res.results.to_json()["searches"]
    assert search["counts"]["pruned"] > 0
    assert search["counts"]["total"] == 3 * 24


def test_a_candidate_without_parameters_to_trade_is_never_champion(tmp_path):
    """Every gate off, but no trial can meet the guardrail: no fold has a pick, so there is
    nothing to trade and the candidate is flagged instead of crowned."""
    raw = _runs.spec(
        strategies=["sma_cross"],
        optimizers=["random"],
        guardrails={"min_trades": 10_000},
        gates={
            k: None for k in ("min_dsr", "max_pbo", "min_stability", "min_trades", "max_drawdown")
        },
        report=False,
    )
    res = run_experiment(parse_experiment(raw), out_dir=tmp_path / "o", trials=3, progress=False)
    (row,) = res.results.to_json()["leaderboard"]
    assert row["params"] == {} and row["fold_params"] == [None, None, None]
    assert not row["passed"] and "no parameters to trade" in row["failed_gates"]
    assert res.champion is None
    assert res.results.to_json()["verdict"]["message"].startswith("No candidate passes the gates")


def test_data_files_are_found_beside_the_spec_and_cut_inclusively(tmp_path, monkeypatch, bars):
    from research.experiment import load_experiment

    folder = tmp_path / "specs"
    folder.mkdir()
    bars.to_csv(folder / "bars.csv")
    raw = _runs.spec(data={"source": "bars.csv", "start": "2013-03-01", "end": "2013-03-28"})
    spec = _runs.write_spec(raw, folder)
    monkeypatch.chdir(tmp_path)  # the file is not in the working directory
    got = load_experiment_data(load_experiment(spec))
    expected = bars.loc["2013-03-01":"2013-03-28"]
    assert got.index.equals(expected.index) and got.index[-1].day == 28
    np.testing.assert_allclose(got[["open", "close"]], expected[["open", "close"]])


def test_a_folder_of_symbols_becomes_a_dict_each_on_its_own_calendar(tmp_path, bars):
    folder = tmp_path / "universe"
    folder.mkdir()
    bars.iloc[:300].to_csv(folder / "AAA.csv")
    bars.iloc[100:400].to_csv(folder / "BBB.csv")
    bars.iloc[:50].to_csv(folder / "CCC.csv")
    exp = parse_experiment(_runs.spec(data={"source": str(folder), "symbols": ["BBB", "AAA"]}))
    got = load_experiment_data(exp)
    assert list(got) == ["BBB", "AAA"]  # not cut to their common timestamps
    assert got["AAA"].index.equals(bars.index[:300]) and got["BBB"].index.equals(
        bars.index[100:400]
    )
    # the one-calendar multi-asset path refuses them in one line, naming both ways out
    from research.spec.build import strategy_bars
    from strategies.builtin.xs_momentum import XsMomentum

    with pytest.raises(ConfigError, match=r"k: xs_momentum trades its symbols on one calendar but "
                       r"BBB \(.*300 bars\) and AAA \(.*\) have calendars of their own; set "
                       r"universe\.mode: portfolio"):  # fmt: skip
        strategy_bars(XsMomentum, got, "k")
    assert strategy_bars(XsMomentum, got, "k", "portfolio") is got


def test_pairs_example_trades_two_symbols(tmp_path):
    """The multi-asset path: a dict of two aligned symbols, buy-and-hold of both, trades per leg."""
    from dataclasses import replace

    exp = _example("pairs")
    exp = replace(
        exp,
        data=replace(exp.data, start="2009-01-01"),
        walk_forward=replace(exp.walk_forward, train=500, test=250),
        optimizers=exp.optimizers[:1],
        ranking=replace(exp.ranking, top_k=3),
        explore=replace(exp.explore, enabled=False),
    )
    res = run_experiment(exp, out_dir=tmp_path / "pairs", trials=3, progress=False)
    assert res.results.to_json()["data"]["symbols"] == ["GOOG", "IBM"]
    trades = pd.read_parquet(res.run_dir / "series" / "champion_trades.parquet")
    assert set(trades["symbol"]) <= {"GOOG", "IBM"}
    bars = load_experiment_data(exp)
    bench = pd.read_parquet(res.run_dir / "series" / "benchmark.parquet")["buy_and_hold"]
    # equal weights, bought at the first open of the out-of-sample span
    growth = [
        bars[s].loc[bench.index[-1], "close"] / bars[s].loc[bench.index[0], "open"] for s in bars
    ]
    assert (1 + bench).prod() == pytest.approx(np.mean(growth) * (1 - 0.0005), rel=2e-3)


def test_every_stage_is_timed_in_run_json_results_and_the_report_footer(run):
    record = json.loads((run.run_dir / "run.json").read_text())
    stages = record["stage_seconds"]
    top = ["lookahead", "setup", "search", "judge", "importance", "stability grid", "trades"]
    top += ["write", "results", "report"]
    assert [k for k in stages if "/" not in k and k != "load"] == top
    # one sub-stage per strategy x optimizer (2 x 2 in the tiny spec), and the judge's parts
    assert len([k for k in stages if k.startswith("search/")]) == 4
    assert {"judge/pbo", "judge/stability", "judge/spa", "judge/leaderboard"} <= set(stages)
    for k, v in stages.items():
        assert v["wall"] >= 0 and v["cpu"] >= 0, k
    subs = sum(v["wall"] for k, v in stages.items() if k.startswith("search/"))
    assert subs <= stages["search"]["wall"] + 1e-3  # the parts lie inside their stage
    assert sum(stages[k]["wall"] for k in top) <= record["seconds"] + 0.01
    assert record["cpu_seconds"] >= stages["search"]["cpu"] + record["startup_cpu_seconds"] - 0.01
    timings = run.results.to_json()["timings"]
    assert timings["search"] == stages["search"]["wall"]
    html = (run.run_dir / "report.html").read_text()
    assert f"search {stages['search']['wall']:.2f} s" in html.split("<footer>")[1]
