"""Pooled and portfolio searches ship to workers: their run-time classes pickle into a fresh
interpreter, and the same seed gives the same trials and leaderboard with 1 or 2 local workers
and on a Dask cluster of worker processes."""

from __future__ import annotations

import importlib.util
import pickle
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from backtest.splitters import WalkForward
from research.optimize import walk_forward_optimize
from research.run.pipeline import run_experiment
from research.run.universe import search_class
from research.spec import UniverseSpec, parse_experiment
from strategies.builtin.sma_cross import SmaCross
from strategies.builtin.xs_momentum import XsMomentum
from tests.research.run._universe import SMA_CROSS
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
