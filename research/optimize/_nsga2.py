"""NSGA-II through Optuna's ``NSGAIISampler``: several objectives, a Pareto front.

Non-dominated sorting with crowding distance, uniform crossover and mutation on Optuna's
encoding; constrained domination (a feasible trial dominates an infeasible one; between
infeasible trials the smaller violation wins) from the trials' constraints. Generations and the
parent cache live in trial/study system attributes, which the RDB record keeps. The default
batch is one generation (``population_size``).
"""

from __future__ import annotations

from typing import Any

from research.optimize._base import Problem
from research.optimize._optuna import OptunaOptimizer

__all__ = ["NSGA2Optimizer"]


class NSGA2Optimizer(OptunaOptimizer):
    """Optuna ``NSGAIISampler``. Options: ``population_size``, ``crossover_prob``,
    ``mutation_prob``, ``swapping_prob``."""

    name = "nsga2"
    OPTIONS = {
        "population_size": 32,
        "crossover_prob": 0.9,
        "mutation_prob": None,
        "swapping_prob": 0.5,
    }
    supports_pruning = False

    def default_batch_size(self, problem: Problem) -> int:
        return int(self.option("population_size"))

    def make_sampler(self, seed: int) -> Any:
        import optuna

        return optuna.samplers.NSGAIISampler(
            seed=seed,
            population_size=int(self.option("population_size")),
            crossover_prob=float(self.option("crossover_prob")),
            mutation_prob=self.option("mutation_prob"),
            swapping_prob=float(self.option("swapping_prob")),
        )
