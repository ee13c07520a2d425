"""TPE (Tree-structured Parzen Estimator): the default optimizer; multivariate, constraint-aware.

Optuna's ``TPESampler(multivariate=True)`` models the parameters jointly; ``group=True`` is
switched on when the space has conditional parameters (so each conditional sub-space gets its
own joint model). ``constant_liar`` (on by default) lets a batch of asks avoid proposing the
same point. Constraints are read from the trials (``Trial.set_constraint``). With a Hyperband
pruner this is the BOHB idea (a model-based sampler with successive-halving brackets).
"""

from __future__ import annotations

from typing import Any

from research.optimize._optuna import OptunaOptimizer

__all__ = ["TPEOptimizer"]


class TPEOptimizer(OptunaOptimizer):
    """Optuna TPE. Options: ``n_startup_trials`` (random trials first), ``n_ei_candidates``,
    ``constant_liar``, ``multivariate``."""

    name = "tpe"
    OPTIONS = {
        "n_startup_trials": 10,
        "n_ei_candidates": 24,
        "constant_liar": True,
        "multivariate": True,
    }

    def make_sampler(self, seed: int) -> Any:
        import optuna

        multivariate = bool(self.option("multivariate"))
        return optuna.samplers.TPESampler(
            seed=seed,
            n_startup_trials=int(self.option("n_startup_trials")),
            n_ei_candidates=int(self.option("n_ei_candidates")),
            multivariate=multivariate,
            group=multivariate and self.problem_.space.is_conditional,
            constant_liar=bool(self.option("constant_liar")),
        )
