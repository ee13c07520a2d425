"""DEAP NSGA-II: several objectives, non-dominated sorting with crowding distance.

The standard DEAP NSGA-II loop: the ``population_size`` parents (a multiple of 4) are chosen by
``tools.selNSGA2`` from the previous parents plus their offspring; offspring are drawn by
``tools.selTournamentDCD`` (dominance, then crowding distance), crossed with
``tools.cxSimulatedBinaryBounded`` (``eta_cx``) with probability ``cxpb`` and mutated with
``tools.mutPolynomialBounded`` (``eta_mut``, per-gene probability ``indpb``). Infeasible and
failed individuals carry penalty fitnesses, so every feasible individual dominates them
(constrained domination).
"""

from __future__ import annotations

import random
from typing import Any

from data_loaders.errors import ParameterError
from research.optimize._deap import DeapOptimizer, Individual

__all__ = ["DeapNSGA2"]


class DeapNSGA2(DeapOptimizer):
    """DEAP NSGA-II. Options: ``population_size`` (32, multiple of 4), ``cxpb`` (0.9),
    ``eta_cx`` (15), ``eta_mut`` (20), ``indpb`` (1/n_genes), ``seed_fraction`` (0.5)."""

    name = "deap_nsga2"
    OPTIONS = {
        **DeapOptimizer.OPTIONS,
        "cxpb": 0.9,
        "eta_cx": 15.0,
        "eta_mut": 20.0,
        "indpb": None,
    }

    def check_options(self) -> None:
        super().check_options()
        size = self.option("population_size")
        if size % 4:
            raise ParameterError(
                f"option `population_size` of 'deap_nsga2' must be a multiple of 4, got {size}"
            )
        if not 0 <= self.option("cxpb") <= 1:
            raise ParameterError(
                f"option `cxpb` of 'deap_nsga2' must be in [0, 1], got {self.option('cxpb')!r}"
            )

    def setup(self, problem: Any) -> None:
        super().setup(problem)
        self.parents_: list[Individual] = []

    def _breed(self) -> list[Individual]:
        from deap import tools

        mu = int(self.option("population_size"))
        self.parents_ = tools.selNSGA2(self.parents_ + self.population_, mu)
        offspring = [
            self.clone(ind) for ind in tools.selTournamentDCD(self.parents_, len(self.parents_))
        ]
        indpb = self.option("indpb") or 1.0 / max(self.problem_.space.n_genes, 1)
        for i in range(1, len(offspring), 2):
            a, b = offspring[i - 1], offspring[i]
            if random.random() <= self.option("cxpb"):
                tools.cxSimulatedBinaryBounded(a, b, float(self.option("eta_cx")), 0.0, 1.0)
            tools.mutPolynomialBounded(a, float(self.option("eta_mut")), 0.0, 1.0, indpb)
            tools.mutPolynomialBounded(b, float(self.option("eta_mut")), 0.0, 1.0, indpb)
            for ind in (a, b):
                self._clip(ind)
                del ind.fitness.values
        return offspring

    def _extra_state(self) -> dict[str, Any]:
        return {"parents": self._plain(self.parents_)}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.parents_ = self._from_plain(state["parents"])
