"""DEAP genetic algorithm: tournament selection, blend crossover, bounded polynomial mutation,
elitism through a hall of fame. One objective.

Each generation (after the first, random one seeded with warm starts) is bred like DEAP's
``eaSimple`` with elitism: the ``n_elite`` best individuals ever seen (``tools.HallOfFame``) pass
unchanged; the rest are chosen by ``tools.selTournament`` (``tournsize``), paired and crossed with
``tools.cxBlend`` (``alpha``) with probability ``cxpb`` (genes clipped to ``[0, 1]``), and mutated
with ``tools.mutPolynomialBounded`` (``eta``, per-gene probability ``indpb``, default
``1 / n_genes``) with probability ``mutpb``. Only changed individuals are evaluated (trials).
"""

from __future__ import annotations

import random
from typing import Any

from data_loaders.errors import ParameterError
from research.optimize._deap import DeapOptimizer, Individual

__all__ = ["DeapGA"]


class DeapGA(DeapOptimizer):
    """DEAP GA. Options: ``population_size`` (32), ``n_elite`` (1), ``tournsize`` (3),
    ``cxpb`` (0.7), ``alpha`` (0.5), ``mutpb`` (0.3), ``eta`` (20), ``indpb`` (1/n_genes),
    ``seed_fraction`` (share of the first population taken from warm starts, 0.5)."""

    name = "ga"
    OPTIONS = {
        **DeapOptimizer.OPTIONS,
        "n_elite": 1,
        "tournsize": 3,
        "cxpb": 0.7,
        "alpha": 0.5,
        "mutpb": 0.3,
        "eta": 20.0,
        "indpb": None,
    }
    multi_objective = False

    def check_options(self) -> None:
        super().check_options()
        for key in ("cxpb", "mutpb"):
            if not 0 <= self.option(key) <= 1:
                raise ParameterError(
                    f"option `{key}` of 'ga' must be in [0, 1], got {self.option(key)!r}"
                )
        if self.option("cxpb") + self.option("mutpb") <= 0:
            raise ParameterError("options `cxpb` and `mutpb` of 'ga' cannot both be 0")
        elite = self.option("n_elite")
        if not isinstance(elite, int) or not 0 <= elite < self.option("population_size"):
            raise ParameterError(
                f"option `n_elite` of 'ga' must be an int in [0, population_size), got {elite!r}"
            )

    def setup(self, problem: Any) -> None:
        from deap import tools

        super().setup(problem)
        self.hof_ = tools.HallOfFame(max(int(self.option("n_elite")), 1))

    def _breed(self) -> list[Individual]:
        from deap import tools

        pop = self.population_
        self.hof_.update(pop)
        n_elite = int(self.option("n_elite"))
        elites = [self.clone(ind) for ind in self.hof_[:n_elite]]
        chosen = tools.selTournament(pop, len(pop) - len(elites), int(self.option("tournsize")))
        offspring = [self.clone(ind) for ind in chosen]
        indpb = self.option("indpb") or 1.0 / max(self.problem_.space.n_genes, 1)
        for i in range(1, len(offspring), 2):
            if random.random() < self.option("cxpb"):
                tools.cxBlend(offspring[i - 1], offspring[i], float(self.option("alpha")))
                for ind in (offspring[i - 1], offspring[i]):
                    self._clip(ind)
                    del ind.fitness.values
        for ind in offspring:
            if random.random() < self.option("mutpb"):
                tools.mutPolynomialBounded(ind, float(self.option("eta")), 0.0, 1.0, indpb)
                self._clip(ind)
                del ind.fitness.values
        return elites + offspring

    def _extra_state(self) -> dict[str, Any]:
        return {"hof": self._plain(list(self.hof_))}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        for ind in self._from_plain(state["hof"]):
            self.hof_.insert(ind)
