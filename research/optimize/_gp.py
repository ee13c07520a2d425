"""Gaussian-process Bayesian optimization through Optuna's ``GPSampler`` (needs PyTorch).

``GPSampler`` fits a GP with a Matern-5/2 kernel to the trials and maximises log expected
improvement (constrained when trials carry constraints). It imports ``torch`` when it samples;
without PyTorch this optimizer refuses to start with a message saying what to install.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from data_loaders.errors import ConfigError
from research.optimize._base import Problem
from research.optimize._optuna import OptunaOptimizer

__all__ = ["GPOptimizer"]


class GPOptimizer(OptunaOptimizer):
    """Optuna ``GPSampler``. Options: ``n_startup_trials``, ``deterministic_objective``."""

    name = "gp"
    OPTIONS = {"n_startup_trials": 10, "deterministic_objective": True}

    def check_available(self) -> None:
        if importlib.util.find_spec("torch") is None:
            raise ConfigError(
                "optimizer 'gp' needs the package 'torch' (PyTorch), which is not installed; "
                "pip install torch --index-url https://download.pytorch.org/whl/cpu, or use 'tpe'"
            )

    def setup(self, problem: Problem) -> None:
        self.check_available()
        super().setup(problem)

    def make_sampler(self, seed: int) -> Any:
        import optuna

        return optuna.samplers.GPSampler(
            seed=seed,
            n_startup_trials=int(self.option("n_startup_trials")),
            deterministic_objective=bool(self.option("deterministic_objective")),
            warn_independent_sampling=False,
        )
