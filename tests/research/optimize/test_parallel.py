"""Reproducibility across workers: one coordinator samples and records, workers only evaluate.

The same seed gives the same trials and the same picks with 1 worker, a 2-process pool or a
Dask cluster; another seed gives other trials (so the comparison can fail).
"""

from __future__ import annotations

import importlib.util

import pytest

from data_loaders.errors import ParameterError

COLS = ["fold", "number", "state", "feasible", "value", "step", "batch"]


def _same(a, b) -> None:
    assert a.trials[COLS].equals(b.trials[COLS])
    assert a.trials["params"].tolist() == b.trials["params"].tolist()
    assert [f.best_params for f in a.folds] == [f.best_params for f in b.folds]
    assert a.oos_returns.equals(b.oos_returns)


@pytest.mark.parametrize(
    ("name", "kw"),
    [
        ("tpe", {}),
        ("tpe", {"pruner": "hyperband"}),
        ("nsga2", {"objective": ["sharpe_ratio", "turnover"]}),
        ("ga", {}),
    ],
)
def test_one_worker_and_two_workers_give_identical_trials_and_picks(wfo, name, kw):
    one = wfo(optimizer=name, n_trials=20, seed=4, guardrails={"min_trades": 2}, **kw)
    two = wfo(optimizer=name, n_trials=20, seed=4, guardrails={"min_trades": 2}, workers=2, **kw)
    _same(one, two)


def test_another_seed_gives_other_trials(wfo):
    a = wfo(optimizer="tpe", n_trials=12, seed=1)
    b = wfo(optimizer="tpe", n_trials=12, seed=2)
    assert a.trials["params"].tolist() != b.trials["params"].tolist()


def test_dask_local_cluster_gives_the_same_trials(wfo):
    if importlib.util.find_spec("distributed") is None:
        pytest.skip("dask.distributed is not installed (pip install 'quant-research[distributed]')")
    from distributed import Client, LocalCluster

    reference = wfo(optimizer="tpe", n_trials=16, seed=8)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        on_dask = wfo(optimizer="tpe", n_trials=16, seed=8, scheduler=client)
        assert client.status == "running"  # a caller's client is left open
    _same(on_dask, reference)


def test_bad_workers_and_scheduler_are_refused(wfo):
    with pytest.raises(ParameterError, match="`workers` must be an int >= 1, got 0"):
        wfo(workers=0)
    if importlib.util.find_spec("distributed") is not None:
        with pytest.raises(ParameterError, match="`scheduler` must be a Dask address"):
            wfo(scheduler=42)
