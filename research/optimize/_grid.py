"""Grid search through Optuna's ``GridSampler`` over each parameter's :meth:`Param.grid` values.

The grid is the cartesian product of up to ``points`` values per numeric parameter (evenly
spaced, log-spaced for log parameters, every step when there are fewer) and every choice of a
categorical; it is visited in an order shuffled by the seed, so a budget smaller than the grid
is a uniform random subset. The study stops at the grid's size (``max_trials``). Grid points that
break the strategy's constraints are recorded as infeasible without being evaluated.
"""

from __future__ import annotations

import math
from typing import Any

from research.optimize._base import Problem
from research.optimize._optuna import OptunaOptimizer

__all__ = ["GridOptimizer"]


class GridOptimizer(OptunaOptimizer):
    """Optuna ``GridSampler``. Option: ``points`` per numeric parameter (default 10)."""

    name = "grid"
    OPTIONS = {"points": 10}
    native_constraints = False

    def _grid(self, problem: Problem) -> dict[str, list[Any]]:
        return problem.space.grid(int(self.option("points")))

    def max_trials(self, problem: Problem) -> int | None:
        return math.prod(len(v) for v in self._grid(problem).values())

    def make_sampler(self, seed: int) -> Any:
        # Trial k visits grid point k of an order shuffled once by the study's base seed, so one
        # sampler serves every ask (it draws no other random numbers below the grid's size).
        sampler = getattr(self, "sampler_", None)
        if sampler is None:
            sampler = _quiet_grid_sampler()(self._grid(self.problem_), seed=self.problem_.seed)
            self.sampler_ = sampler
        return sampler


def _quiet_grid_sampler() -> type:
    """``GridSampler`` that does not call ``study.stop()`` once the grid is exhausted.

    Optuna's sampler stops the study from ``after_trial``, which is only allowed inside
    ``Study.optimize``; this driver tells trials through ask/tell and caps the trial count at
    the grid's size itself (:meth:`GridOptimizer.max_trials`).
    """
    import optuna

    class QuietGridSampler(optuna.samplers.GridSampler):
        def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
            return None

    return QuietGridSampler
