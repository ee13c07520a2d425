"""Nightly champion/challenger: two simulated nights, the lock, atomic files, the dry run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from research.cli import EXIT_LOCKED, main
from research.experiment import parse_experiment
from research.nightly import (
    NightlyLocked,
    champion_path,
    history_path,
    nightly_lock,
    read_champion,
    read_history,
    run_nightly,
)
from research.runner import load_experiment_data
from tests.research import _runs

ROOT = Path(__file__).resolve().parents[3]

RAW = _runs.spec(
    name="nightly",
    strategies=["sma_cross"],
    optimizers=["tpe"],
    data={"source": "sample:sp500", "start": "2012-01-01", "end": "2017-06-30"},
    gates={
        "min_dsr": None,
        "max_pbo": None,
        "min_stability": None,
        "max_drawdown": 0.5,
        "min_trades": 1,
        "min_wfe": None,
    },
    guardrails={"min_trades": 1},
    nightly={"n_trials": 6, "window": 250, "warm_start": 3, "min_improvement": 0.05},
)


@pytest.fixture(scope="module")
def data(exp):
    return load_experiment_data(exp)


@pytest.fixture(scope="module")
def nights(exp, data, tmp_path_factory):
    """Two nights: the first on data to the end of 2016, the second with six more months."""
    root = tmp_path_factory.mktemp("nightly-runs")
    first_bars = data.loc[:"2016-12-31"]
    first = run_nightly(exp, runs_root=root, bars=first_bars)
    champion_after_first = read_champion(root, "nightly")
    second = run_nightly(exp, runs_root=root, bars=data)
    return root, first_bars, first, champion_after_first, second


def test_first_night_promotes_a_challenger_that_passes_every_gate(nights):
    root, bars, first, champion, _ = nights
    assert first.decision == "promoted" and first.promoted
    assert first.reasons == [
        f"no champion yet; challenger {first.challenger['candidate']} passes every gate"
    ]
    assert first.window["n_bars"] == 250
    assert first.window["start"] == str(bars.index[-250])
    assert champion["params"] == first.challenger["params"] and set(champion["params"]) == {
        "fast",
        "slow",
    }
    assert champion["candidate"] == "sma_cross/tpe" and champion["run_dir"] == first.run_dir
    # the challenger came from a normal run folder, on the data before the window only
    results = json.loads((Path(first.run_dir) / "results.json").read_text())
    assert results["data"]["end"] == bars.index[-251].isoformat()
    assert (Path(first.run_dir) / "report.html").is_file()


def test_second_night_is_warm_started_and_its_decision_recorded(nights):
    root, _, first, champion, second = nights
    assert second.warm_start["sma_cross"] >= 1
    # the champion's parameters are the first trial of every fold of the new study
    trials = pd.read_parquet(Path(second.run_dir) / "series" / "trials.parquet")
    for _, fold in trials.groupby("fold"):
        first_trial = fold.sort_values("number").iloc[0]
        assert json.loads(first_trial["params"]) == champion["params"]
    history = read_history(root, "nightly")
    assert [h["decision"] for h in history] == ["promoted", second.decision]
    assert history[1]["reasons"] == second.reasons and second.reasons
    assert history[1]["champion"]["params"] == champion["params"]
    c = second.challenger["window_metrics"]["sharpe_ratio"]
    k = second.champion["window_metrics"]["sharpe_ratio"]
    if second.promoted:
        assert c - k > 0.05
        assert read_champion(root, "nightly")["params"] == second.challenger["params"]
    else:
        assert second.decision == "kept"
        assert read_champion(root, "nightly") == champion


def test_window_metrics_match_an_independent_backtest(nights, data):
    """The champion is judged on the last 250 bars: re-trade it with the vectorbt engine."""
    from backtest.costs import Costs
    from backtest.engine import run_backtest
    from backtest.metrics import sharpe_ratio
    from strategies.registry import get_strategy

    _, _, _, champion, second = nights
    start = len(data) - 250
    pos = get_strategy("sma_cross")(**champion["params"]).positions(data)
    bt = run_backtest(
        data.iloc[start - 1 :],
        pos.iloc[start - 1 :],
        costs=Costs(fees=0.001),
        execution="next-open",
    )
    expected = sharpe_ratio(bt.returns.iloc[1:].to_numpy(), periods_per_year=252)
    assert second.champion["window_metrics"]["sharpe_ratio"] == pytest.approx(expected, rel=1e-9)


def test_a_second_concurrent_night_exits_with_a_clear_message(nights, tmp_path, capsys):
    root = nights[0]
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from research.nightly import nightly_lock\n"
            f"with nightly_lock({str(root)!r}, 'nightly'):\n"
            "    print('locked', flush=True)\n"
            "    time.sleep(60)\n",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        spec = _runs.write_spec(RAW, tmp_path)
        before = history_path(root, "nightly").read_text()
        assert main(["nightly", str(spec), "--runs-root", str(root)]) == EXIT_LOCKED == 75
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1
        assert "another nightly run of 'nightly' is in progress" in err
        assert f"pid {holder.pid}" in err
        assert history_path(root, "nightly").read_text() == before  # nothing done
        with pytest.raises(NightlyLocked):
            run_nightly(parse_experiment(RAW), runs_root=root, dry_run=True)
    finally:
        holder.kill()
        holder.wait()
    # the kernel released the lock with the process: it can be taken again
    with nightly_lock(root, "nightly"):
        pass


def test_a_crash_while_writing_leaves_champion_and_history_intact(nights, data, monkeypatch):
    import research.run.store

    root = nights[0]
    champ_before = champion_path(root, "nightly").read_text()
    hist_before = history_path(root, "nightly").read_text()
    real_replace = os.replace
    protected = {champion_path(root, "nightly").name, history_path(root, "nightly").name}

    def crash(src, dst, *args, **kwargs):
        if Path(dst).name in protected:
            raise OSError("simulated crash before the rename")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(research.run.store.os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        run_nightly(parse_experiment(RAW), runs_root=root, bars=data)
    assert champion_path(root, "nightly").read_text() == champ_before
    assert history_path(root, "nightly").read_text() == hist_before
    json.loads(champ_before)
    leftovers = [p.name for p in (root / "nightly").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_dry_run_writes_nothing(nights, tmp_path, capsys):
    root = nights[0]

    def snapshot() -> dict[str, float]:
        return {str(p): p.stat().st_mtime_ns for p in root.rglob("*")}

    before = snapshot()
    spec = _runs.write_spec(RAW, tmp_path)
    assert main(["nightly", str(spec), "--runs-root", str(root), "--dry-run", "--trials", "2"]) == 0
    out = capsys.readouterr().out
    assert "(dry run: nothing written)" in out
    assert "champion: sma_cross/tpe" in out
    assert snapshot() == before
    assert main(["nightly", str(spec), "--runs-root", str(root), "--dry-run", "--json"]) == 0
    decision = json.loads(capsys.readouterr().out)
    assert decision["dry_run"] is True and decision["run_dir"] is None
    assert np.isfinite(decision["champion"]["window_metrics"]["sharpe_ratio"])
    assert snapshot() == before


def test_the_challenger_dsr_counts_the_night_and_the_earlier_nights(nights):
    # second night: challenger and champion compared on the window, plus 1 earlier night
    import math

    from scipy import stats

    _, _, first, _, second = nights
    assert first.challenger["window_dsr"]["n_trials"] == 1  # no champion, no history yet
    w = second.challenger["window_dsr"]
    assert w["n_trials"] == 3
    assert w["note"].startswith("N = 2 candidates compared plus 1 earlier champion")
    n = second.window["n_bars"]
    sr = second.challenger["window_metrics"]["sharpe_ratio"] / math.sqrt(252)
    v = 1 / (n - 1)  # two Sharpe ratios: the zero-skill sampling variance (floor)
    g = 0.5772156649015329
    bar = math.sqrt(v) * (
        (1 - g) * stats.norm.ppf(1 - 1 / 3) + g * stats.norm.ppf(1 - 1 / (3 * math.e))
    )
    want = stats.norm.cdf((sr - bar) * math.sqrt(n - 1) / math.sqrt(1 + sr * sr / 2))
    assert w["dsr"] == pytest.approx(want, rel=1e-9)
