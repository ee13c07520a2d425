"""CMA-ES (covariance matrix adaptation evolution strategy) through Optuna's ``CmaEsSampler``.

CMA-ES adapts a multivariate normal over the numeric parameters; categorical (and conditional)
parameters fall back to Optuna's independent sampler. It does not read constraints, so
infeasible trials are told penalty values (worse than any feasible trial). Its state lives in the
trials' system attributes, which the RDB record keeps, so a resumed search continues the same
generation. The default batch is one CMA-ES generation (``popsize``).
"""

from __future__ import annotations

import math
from typing import Any

from research.optimize._base import Problem
from research.optimize._optuna import OptunaOptimizer

__all__ = ["CmaEsOptimizer"]


class CmaEsOptimizer(OptunaOptimizer):
    """Optuna ``CmaEsSampler``. Options: ``sigma0``, ``popsize`` (default ``4 + 3 ln d``),
    ``n_startup_trials``, ``use_separable_cma``, ``with_margin`` (for integer parameters)."""

    name = "cmaes"
    OPTIONS = {
        "sigma0": None,
        "popsize": None,
        "n_startup_trials": 1,
        "use_separable_cma": False,
        "with_margin": False,
    }
    multi_objective = False
    native_constraints = False

    def popsize(self, problem: Problem) -> int:
        size = self.option("popsize")
        if size:
            return int(size)
        return 4 + int(math.floor(3 * math.log(max(problem.space.n_genes, 1))))

    def default_batch_size(self, problem: Problem) -> int:
        return self.popsize(problem)

    def make_sampler(self, seed: int) -> Any:
        import optuna

        return optuna.samplers.CmaEsSampler(
            seed=seed,
            sigma0=self.option("sigma0"),
            popsize=self.popsize(self.problem_),
            n_startup_trials=int(self.option("n_startup_trials")),
            use_separable_cma=bool(self.option("use_separable_cma")),
            with_margin=bool(self.option("with_margin")),
            warn_independent_sampling=False,
        )
