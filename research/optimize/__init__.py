"""Hyperparameter search under walk-forward: Optuna and DEAP optimizers as plug-ins.

Entry point: :func:`walk_forward_optimize` (see :mod:`research.optimize.walkforward`). Every
optimizer is one module implementing the small interface of :mod:`research.optimize._base` and
one line in :data:`OPTIMIZERS` below; ``ls research/optimize`` shows them all:

=============  ====================================================================
``tpe``        Optuna TPE, multivariate, constraint-aware (the default)
``cmaes``      Optuna CMA-ES (numeric parameters; penalty for infeasible trials)
``gp``         Optuna Gaussian-process BO (needs PyTorch)
``random``     Optuna random search
``grid``       Optuna grid search over each parameter's grid
``nsga2``      Optuna NSGA-II (multi-objective, constrained domination)
``ga``         DEAP GA: tournament, blend crossover, bounded mutation, hall of fame
``deap_nsga2`` DEAP NSGA-II (multi-objective)
=============  ====================================================================

Example::

    from backtest.splitters import WalkForward
    from research.optimize import walk_forward_optimize

    result = walk_forward_optimize(
        "sma_cross", bars, splitter=WalkForward(train="3Y", test="1Y"),
        optimizer="tpe", n_trials=200, seed=7, guardrails={"min_trades": 10},
    )
    result.summary(); result.oos_returns; result.trials
"""

from __future__ import annotations

import importlib
from typing import Any

from data_loaders.errors import ParameterError, did_you_mean

__all__ = [
    "OPTIMIZERS",
    "get_optimizer",
    "list_optimizers",
    "walk_forward_optimize",
    "WalkForwardResult",
    "FoldResult",
    "Guardrails",
    "Objective",
    "SearchSpace",
    "Optimizer",
    "best_params",
]

#: registry: name -> ("module:Class", one-line description)
OPTIMIZERS: dict[str, tuple[str, str]] = {
    "tpe": ("research.optimize._tpe:TPEOptimizer", "Optuna TPE, multivariate (default)"),
    "cmaes": ("research.optimize._cmaes:CmaEsOptimizer", "Optuna CMA-ES"),
    "gp": ("research.optimize._gp:GPOptimizer", "Optuna Gaussian-process BO (needs torch)"),
    "random": ("research.optimize._random:RandomOptimizer", "Optuna random search"),
    "grid": ("research.optimize._grid:GridOptimizer", "Optuna grid search"),
    "nsga2": ("research.optimize._nsga2:NSGA2Optimizer", "Optuna NSGA-II, multi-objective"),
    "ga": ("research.optimize._deap_ga:DeapGA", "DEAP genetic algorithm with elitism"),
    "deap_nsga2": ("research.optimize._deap_nsga2:DeapNSGA2", "DEAP NSGA-II, multi-objective"),
}

_LAZY = {
    "walk_forward_optimize": "research.optimize.walkforward",
    "WalkForwardResult": "research.optimize.results",
    "FoldResult": "research.optimize.results",
    "Guardrails": "research.optimize.objectives",
    "Objective": "research.optimize.objectives",
    "SearchSpace": "research.optimize.space",
    "Optimizer": "research.optimize._base",
    "best_params": "research.optimize.storage",
}


def list_optimizers() -> dict[str, str]:
    """Registered optimizer names and their one-line descriptions (nothing is imported)."""
    return {name: desc for name, (_, desc) in OPTIMIZERS.items()}


def optimizer_class(name: str) -> type:
    """The plug-in class registered as ``name``.

    Raises:
        ParameterError: an unknown name (with "did you mean").
    """
    if name not in OPTIMIZERS:
        raise ParameterError(f"unknown optimizer {name!r}{did_you_mean(str(name), OPTIMIZERS)}")
    module, cls = OPTIMIZERS[name][0].split(":")
    return getattr(importlib.import_module(module), cls)


def get_optimizer(name: str, **options: Any) -> Any:
    """A new optimizer instance; options are checked (unknown ones raise ``ParameterError``)
    and so are its dependencies (a missing package raises ``ConfigError``)."""
    opt = optimizer_class(name)(**options)
    opt.check_options()
    opt.check_available()
    return opt


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'research.optimize' has no attribute {name!r}")
