"""Pooled and portfolio searches ship to workers: their run-time classes pickle into a fresh
interpreter, and the same seed gives the same trials and leaderboard with 1 or 2 local workers
and on a Dask cluster of worker processes. A run's searches share one local process pool; a
worker holds one search's context at a time."""

from __future__ import annotations

import gc
import importlib.util
import multiprocessing
import pickle
import subprocess
import sys
import tempfile
import weakref
from pathlib import Path

import pandas as pd
import pytest

from backtest.splitters import WalkForward
from data_loaders.synthetic import synthetic_universe
from research.optimize import walk_forward_optimize
from research.optimize.evaluate import EvalContext, EvalTask, run_task
from research.run.pipeline import run_experiment
from research.run.universe import search_class
from research.spec import UniverseSpec, parse_experiment
from strategies.builtin.sma_cross import SmaCross
from strategies.builtin.xs_momentum import XsMomentum
from tests.research.run._universe import SMA_CROSS, sma_universe_raw
from tests.research.run.test_universe_calendars import gappy  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[3]
POOLED = (SmaCross, UniverseSpec(mode="pooled", aggregate="median"))
PORTFOLIO = (XsMomentum, UniverseSpec(mode="portfolio", rebalance="weekly", max_gross=0.8))


@pytest.mark.parametrize("made", [POOLED, PORTFOLIO], ids=["pooled", "portfolio"])
def test_search_classes_pickle_into_a_fresh_interpreter(made):
    cls = search_class(*made)
    assert pickle.loads(pickle.dumps(cls)) is cls  # the same class in this process
    code = (
        "import pickle, sys\n"
        "cls, inst = pickle.loads(sys.stdin.buffer.read())\n"
        "print(cls.__qualname__, cls.book.key(), type(inst) is cls, sorted(cls.space()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=pickle.dumps((cls, cls())), capture_output=True,
        cwd=ROOT, env={"PYTHONPATH": str(ROOT)}, check=True,
    ).stdout.decode()  # fmt: skip
    want = f"{cls.__qualname__} {cls.book.key()} True {sorted(cls.space())}"
    assert out.strip() == want


def _search(bars, made, tmp, **kw):
    return walk_forward_optimize(
        search_class(*made), bars, splitter=WalkForward(train=300, test=150),
        optimizer="tpe", n_trials=8, seed=6, run_dir=tmp, progress=False, **kw,
    )  # fmt: skip


def _same(a, b):
    cols = ["fold", "number", "params", "value"]
    pd.testing.assert_frame_equal(a.trials[cols], b.trials[cols])
    assert [f.best_params for f in a.folds] == [f.best_params for f in b.folds]
    pd.testing.assert_series_equal(a.oos_returns, b.oos_returns)


@pytest.mark.parametrize("made", [POOLED, PORTFOLIO], ids=["pooled", "portfolio"])
def test_same_trials_with_one_or_two_workers_and_on_dask(made, gappy, tmp_path):  # noqa: F811
    one = _search(gappy, made, tmp_path / "one")
    _same(_search(gappy, made, tmp_path / "two", workers=2), one)
    if importlib.util.find_spec("distributed") is None:
        pytest.skip("dask.distributed is not installed (pip install 'quant-research[distributed]')")
    from distributed import Client, LocalCluster

    # worker processes: the evaluation context (bars, the run-time class) is pickled to them
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                     dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):  # fmt: skip
        _same(_search(gappy, made, tmp_path / "dask", scheduler=client), one)


def test_pooled_and_portfolio_leaderboards_do_not_depend_on_workers(gappy, tmp_path):  # noqa: F811
    raw = {
        "name": "wk", "seed": 9, "data": {"source": "sample:sp500_20"},
        "universe": {"mode": "pooled", "aggregate": "mean"},
        "strategies": [
            SMA_CROSS,
            {"name": "xs_momentum", "mode": "portfolio"},
        ],
        "optimizers": ["tpe"], "budget": {"n_trials": 6},
        "walk_forward": {"train": 300, "test": 150}, "report": False,
        "gates": {"min_wfe": None},
    }  # fmt: skip
    boards = []
    for workers in (1, 2):
        exp = parse_experiment({**raw, "workers": workers})
        out = tmp_path / f"w{workers}" / "run"  # folders apart: no earlier looks counted
        boards.append(run_experiment(exp, bars=gappy, out_dir=out, progress=False).leaderboard)
    assert sorted(boards[0]["name"]) == ["sma_cross/tpe", "xs_momentum/tpe"]
    pd.testing.assert_frame_equal(boards[0], boards[1])


# --- one process pool per run ----------------------------------------------------------------
def test_per_symbol_searches_share_one_process_pool(tmp_path, monkeypatch):
    from research.optimize import _workers

    bars = synthetic_universe(("AAA", "BBB", "CCC"), 900, seed=11)
    started = []

    class Counted(_workers.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            started.append(kwargs["max_workers"])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(_workers, "ProcessPoolExecutor", Counted)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    raw = sma_universe_raw("pool", 5, 5, universe={"mode": "per_symbol"},
                           strategies=[SMA_CROSS, "rsi_reversion"])  # fmt: skip
    runs = {}
    for workers in (1, 2):
        exp = parse_experiment({**raw, "workers": workers})
        out = tmp_path / f"w{workers}" / "run"  # folders apart: no earlier looks counted
        runs[workers] = run_experiment(exp, bars=bars, out_dir=out, progress=False)
    assert len(runs[2].results.searches) == 6  # 3 symbols x 2 strategies
    # one pool for the six searches (none with one worker); sma_cross with the spec's space
    # overrides is a class made at run time, shipped as "SmaCross with these overrides"
    assert started == [2]
    assert multiprocessing.active_children() == []  # shut down when the searches end
    assert list((tmp_path / "tmp").iterdir()) == []  # the shipped contexts are removed
    assert _workers._SHARED is None
    cols = ["name", "params", "sharpe_ratio", "dsr", "n_trials"]
    pd.testing.assert_frame_equal(runs[1].leaderboard[cols], runs[2].leaderboard[cols])


def test_a_worker_holds_one_search_context_at_a_time(monkeypatch):
    from research.optimize import _workers

    monkeypatch.setattr(_workers, "_WORKER_CTX", None)
    monkeypatch.setattr(_workers, "_WORKER_KEY", None)
    bars = synthetic_universe(("AAA", "BBB"), 500, seed=3)
    ctxs = [EvalContext(SmaCross, bars[s], None, "next-open") for s in ("AAA", "BBB")]
    task = EvalTask(numbers=(0,), params=({"fast": 10, "slow": 50},), stop=500,
                    windows=((100, 500),))  # fmt: skip
    shared = _workers._SharedPool(2)
    try:
        shipped = [shared.ship(c) for c in ctxs]
        got = [_workers._run_in_worker(task, *shipped[0])[0]]
        held = weakref.ref(_workers._WORKER_CTX)
        got.append(_workers._run_in_worker(task, *shipped[1])[0])
        gc.collect()
        assert held() is None  # the first search's context was dropped for the second's
        for c, g in zip(ctxs, got):
            assert g[0].metrics == run_task(c, task)[0][0].metrics
        assert got[0][0].metrics != got[1][0].metrics
        folder = Path(shared.folder)
    finally:
        shared.close()
    assert not folder.exists()


def test_a_context_that_does_not_pickle_gets_a_pool_of_its_own():
    from research.optimize import _workers

    class Local(SmaCross):  # a local class does not pickle: forked with its own pool instead
        pass

    bars = synthetic_universe(("AAA",), 500, seed=3)["AAA"]
    ctx = EvalContext(Local, bars, None, "next-open")
    task = EvalTask(numbers=(0, 1), params=({"fast": 10, "slow": 50}, {"fast": 5, "slow": 60}),
                    stop=500, windows=((100, 500),))  # fmt: skip
    with _workers.shared_pool(2), _workers.Workers(ctx, workers=2) as pool:
        assert pool.shipped_ is None and pool.pool_ is not _workers._SHARED.pool
        (got,), _ = pool.run([task])
    assert [r.metrics for r in got] == [r.metrics for r in run_task(ctx, task)[0]]
