"""Fixtures of the optimizer tests: short real daily bars, two walk-forward folds, a runner."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from backtest.splitters import WalkForward
from tests.research.optimize._strategies import sample_bars

#: optimizers that run without optional packages (``gp`` needs torch)
MULTI_OBJECTIVE = ("nsga2", "deap_nsga2")
SMALL_OPTIONS: dict[str, dict[str, Any]] = {
    "ga": {"population_size": 8},
    "deap_nsga2": {"population_size": 8},
    "nsga2": {"population_size": 8},
    "cmaes": {"popsize": 6},
    "grid": {"points": 10},
}


@pytest.fixture(scope="session")
def bars():
    """The last 700 bars of the bundled daily S&P 500 sample."""
    return sample_bars(700)


@pytest.fixture(scope="session")
def splitter():
    """Two folds: train 300 bars, test 200 bars."""
    return WalkForward(train=300, test=200)


@pytest.fixture
def wfo(tmp_path, bars, splitter) -> Callable[..., Any]:
    """``walk_forward_optimize`` on the short bars, in a fresh run folder per call."""
    from research.optimize import walk_forward_optimize

    counter = itertools.count()

    def run(strategy: Any = "sma_cross", **kw: Any) -> Any:
        kw.setdefault("run_dir", tmp_path / f"run{next(counter)}")
        kw.setdefault("progress", False)
        kw.setdefault("n_trials", 16)
        kw.setdefault("seed", 11)
        kw.setdefault("splitter", splitter)
        name = kw.get("optimizer", "tpe")
        if isinstance(name, str) and "optimizer_options" not in kw and name in SMALL_OPTIONS:
            kw["optimizer_options"] = SMALL_OPTIONS[name]
        return walk_forward_optimize(strategy, kw.pop("bars", bars), **kw)

    return run
