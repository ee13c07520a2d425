"""Kill-and-resume: an interrupted search rerun with the same call loses, repeats and changes
nothing; the final trials equal an uninterrupted run's (Optuna studies and DEAP checkpoints)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.research.optimize._strategies import Interrupting, SlowSma

ROOT = Path(__file__).resolve().parents[3]
COLS = ["fold", "number", "state", "feasible", "value", "step"]


def _same_trials(a, b) -> None:
    assert a.trials[COLS].equals(b.trials[COLS])
    assert a.trials["params"].tolist() == b.trials["params"].tolist()
    assert [f.best_params for f in a.folds] == [f.best_params for f in b.folds]


CASES = [
    ("tpe", {}, 6, {}),
    ("tpe", {}, 6, {"pruner": "hyperband"}),  # up to 4 evaluation calls per batch
    ("cmaes", {"popsize": 6}, None, {}),
    ("nsga2", {"population_size": 8}, None, {}),
    ("ga", {"population_size": 8}, 3, {}),  # batches cut generations: the replay path
    ("deap_nsga2", {"population_size": 8}, 5, {}),
]


@pytest.mark.parametrize(("name", "options", "batch", "extra"), CASES)
def test_interrupted_search_resumes_exactly(wfo, tmp_path, name, options, batch, extra):
    objective = ["sharpe_ratio", "max_drawdown"] if "nsga2" in name else "sharpe_ratio"
    kw = dict(optimizer=name, optimizer_options=options, batch_size=batch, objective=objective)
    kw.update(n_trials=16, guardrails={"min_trades": 2}, **extra)
    Interrupting.budget, Interrupting.calls = None, 0
    reference = wfo(Interrupting, run_dir=tmp_path / "ref", **kw)
    # Interrupt every run at its n-th evaluation call until one finishes: each run records at
    # least one more batch (a fold's final judgement is one call too, a batch up to 4 with
    # pruning).
    budget = 7 if "pruner" in extra else 4
    interruptions = 0
    for _ in range(40):
        Interrupting.budget, Interrupting.calls = budget, 0
        try:
            resumed = wfo(Interrupting, run_dir=tmp_path / "resumed", **kw)
        except KeyboardInterrupt:
            interruptions += 1
        else:
            break
    Interrupting.budget = None
    assert interruptions >= 1
    _same_trials(resumed, reference)
    assert len(resumed.trials) == 32
    if "pruner" in extra:
        assert (resumed.trials["state"] == "pruned").any()


def test_a_larger_budget_extends_the_recorded_search(wfo, tmp_path):
    small = wfo(optimizer="tpe", n_trials=10, run_dir=tmp_path / "r", study_name="grow")
    large = wfo(optimizer="tpe", n_trials=24, run_dir=tmp_path / "r", study_name="grow")
    assert len(large.trials) == 48
    head = large.trials[large.trials["number"] < 10].reset_index(drop=True)
    assert head[COLS].equals(small.trials[COLS])


SCRIPT = textwrap.dedent(
    """
    import sys
    from backtest.splitters import WalkForward
    from research.optimize import walk_forward_optimize
    from tests.research.optimize._strategies import SlowSma, sample_bars

    # an Optuna search, then a DEAP search whose batches cut its generations
    for name, options, batch in (("tpe", {}, 4), ("ga", {"population_size": 8}, 3)):
        res = walk_forward_optimize(
            SlowSma, sample_bars(700), splitter=WalkForward(train=300, test=200),
            optimizer=name, n_trials=20, seed=11, run_dir=f"{sys.argv[1]}/{name}",
            batch_size=batch, optimizer_options=options, guardrails={"min_trades": 2},
            progress=False,
        )
        print("DONE", name, len(res.trials))
    """
)
OPTIONS = {"tpe": ({}, 4), "ga": ({"population_size": 8}, 3)}


def _stored(db: Path) -> list[tuple]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as con:
        return con.execute(
            "select t.study_id, t.number, t.trial_id, t.state, t.datetime_start, v.value "
            "from trials t left join trial_values v on v.trial_id = t.trial_id "
            "order by t.study_id, t.number"
        ).fetchall()


def _count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
            return int(con.execute("select count(*) from trials").fetchone()[0])
    except sqlite3.OperationalError:  # tables not created yet
        return 0


def _run_and_kill(cmd: list[str], env: dict, db: Path, kill_after: int) -> None:
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _count(db) < kill_after:
        assert proc.poll() is None, f"search ended before the kill: {proc.communicate()}"
        assert time.monotonic() < deadline, "search too slow to reach the kill point"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


def test_sigkill_and_rerun_the_same_command(wfo, tmp_path):
    """SIGKILL mid-way through the Optuna search, rerun, SIGKILL mid-way through the DEAP
    search, rerun: every recorded trial survives unchanged, none is redone, each fold ends with
    exactly the requested 20 trials, equal to an uninterrupted run's."""
    script = tmp_path / "search.py"
    script.write_text(SCRIPT)
    run_dir = tmp_path / "run"
    dbs = {name: run_dir / name / "optuna.db" for name in OPTIONS}
    cmd = [sys.executable, str(script), str(run_dir)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QR_TEST_DELAY": "0.3"}

    _run_and_kill(cmd, env, dbs["tpe"], 10)
    tpe_before = _stored(dbs["tpe"])
    assert 10 <= len(tpe_before) < 40 and not dbs["ga"].exists()
    _run_and_kill(cmd, env, dbs["ga"], 13)
    ga_before = _stored(dbs["ga"])
    assert 13 <= len(ga_before) < 40
    assert (run_dir / "ga" / "checkpoints").is_dir()

    env["QR_TEST_DELAY"] = "0"
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "DONE tpe 40" in done.stdout and "DONE ga 40" in done.stdout
    for name, before in (("tpe", tpe_before), ("ga", ga_before)):
        after = _stored(dbs[name])
        assert after[: len(before)] == before  # nothing completed was lost, redone or changed
        keys = [(study, number) for study, number, *_ in after]
        assert len(keys) == len(set(keys)) == 40
        for study in {k[0] for k in keys}:
            assert sorted(n for s, n in keys if s == study) == list(range(20))

        options, batch = OPTIONS[name]
        kw = dict(optimizer=name, optimizer_options=options, n_trials=20, batch_size=batch)
        kw.update(guardrails={"min_trades": 2})
        reference = wfo(SlowSma, run_dir=tmp_path / f"ref-{name}", **kw)
        final = wfo(SlowSma, run_dir=run_dir / name, **kw)  # evaluates nothing: all recorded
        _same_trials(final, reference)
        assert _stored(dbs[name]) == after


@pytest.mark.parametrize("flush_seconds", [0.0, 1e9])
def test_told_trials_are_written_in_shared_transactions(wfo, tmp_path, monkeypatch, flush_seconds):
    """Fast batches share a storage transaction (one per FLUSH_SECONDS, and the fold's last);
    every trial ends up stored either way, and the search is the same."""
    from research.optimize import _search
    from research.optimize.storage import TrialStore

    writes: list[int] = []
    original = TrialStore.write

    def counting(self, trials):
        if trials:
            writes.append(len(trials))
        return original(self, trials)

    monkeypatch.setattr(TrialStore, "write", counting)
    monkeypatch.setattr(_search, "FLUSH_SECONDS", flush_seconds)
    kw = dict(optimizer="ga", optimizer_options={"population_size": 8}, batch_size=4)
    res = wfo(run_dir=tmp_path / "r", n_trials=16, **kw)
    n_folds = len(res.folds)
    assert sum(writes) == len(res.trials) == 16 * n_folds
    if flush_seconds == 0:  # one write per batch (at most 4 trials; a generation may end one)
        assert len(writes) >= 4 * n_folds and max(writes) == 4
    else:  # one write per fold: nothing was due before the fold's budget was reached
        assert writes == [16] * n_folds
    assert _count(tmp_path / "r" / "optuna.db") == 16 * n_folds
    monkeypatch.setattr(_search, "FLUSH_SECONDS", 0.0)
    _same_trials(res, wfo(run_dir=tmp_path / "ref", n_trials=16, **kw))
