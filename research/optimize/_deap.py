"""Shared machinery of the DEAP plug-ins: genomes, generations as ask/tell, checkpoints.

* **Genome.** One gene in ``[0, 1]`` per parameter, decoded by
  :meth:`research.optimize.space.SearchSpace.decode` (mixed int/float/log/categorical).
* **Generations as ask/tell.** A generation is bred (selection, crossover, mutation) when the
  previous one is fully told; its individuals without a valid fitness are the candidates, asked
  in population order. The whole generation is the default batch, so it is evaluated in one pass
  of the batch path.
* **Feasibility.** An individual that breaks a constraint or a guardrail, or fails, gets
  :func:`research.optimize.objectives.penalty_values` as fitness: it loses to every feasible
  individual (DEAP compares and sorts fitnesses), and a smaller violation beats a larger one.
* **Randomness.** DEAP's operators draw from Python's global :mod:`random`; every draw happens
  inside :func:`rng_scope`, which swaps in this optimizer's own generator state (seeded from the
  study's seed) and restores the caller's state afterwards.
* **Checkpoints.** At the start of the first generation, then of every generation that begins
  at least :data:`CHECKPOINT_SECONDS` after the last checkpoint, the population, hall of fame /
  parents, generator state (Mersenne Twister words) and trial counter are written atomically as
  JSON to ``problem.checkpoint`` (no pickle: loading a checkpoint runs no code). On resume the
  checkpoint is loaded and only the recorded trials asked after it are replayed (re-asked and
  told their recorded outcome, not evaluated); a checkpoint that does not match the search, or
  is damaged, is ignored and every recorded trial is replayed from generation 0.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any

from data_loaders.errors import ParameterError
from research.optimize._base import Candidate, Optimizer, Outcome, Problem
from research.optimize._checkpoint import load_checkpoint, save_checkpoint
from research.optimize._optuna import finished_trial
from research.optimize.objectives import penalty_values

__all__ = [
    "DeapOptimizer",
    "Individual",
    "rng_scope",
    "rng_state_to_json",
    "rng_state_from_json",
]

_CHECKPOINT_VERSION = 2
#: a generation's checkpoint is written when the last one is at least this old (seconds)
CHECKPOINT_SECONDS = 1.0
#: violation told for a failed evaluation (worse than any constraint violation)
_FAILED_VIOLATION = 1e6
#: generations bred in a row without a new individual before giving up
_MAX_EMPTY_GENERATIONS = 1000


def _jsonable(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists), for comparisons."""
    return json.loads(json.dumps(value, default=str))


def rng_state_to_json(state: tuple) -> dict[str, Any]:
    """A :func:`random.getstate` tuple as JSON-ready data."""
    version, words, gauss_next = state
    return {"version": int(version), "words": [int(w) for w in words], "gauss_next": gauss_next}


def rng_state_from_json(data: Any) -> tuple:
    """The inverse of :func:`rng_state_to_json`; ``ValueError`` if it is not a valid state."""
    if not isinstance(data, dict):
        raise ValueError("rng state must be a mapping")
    gauss = data.get("gauss_next")
    state = (
        int(data["version"]),
        tuple(int(w) for w in data["words"]),
        None if gauss is None else float(gauss),
    )
    random.Random().setstate(state)  # raises ValueError/TypeError on a malformed state
    return state


class Individual(list):
    """A genome (list of genes in ``[0, 1]``) with a DEAP ``fitness`` attribute."""

    fitness: Any


@contextlib.contextmanager
def rng_scope(owner: Any) -> Iterator[None]:
    """Run DEAP operators on ``owner.rng_state_`` instead of the global :mod:`random` state."""
    saved = random.getstate()
    random.setstate(owner.rng_state_)
    try:
        yield
    finally:
        owner.rng_state_ = random.getstate()
        random.setstate(saved)


class DeapOptimizer(Optimizer):
    """Base of the DEAP plug-ins; subclasses implement :meth:`_breed` (and may keep extra state
    through :meth:`_extra_state` / :meth:`_load_extra_state`)."""

    OPTIONS: dict[str, Any] = {"population_size": 32, "seed_fraction": 0.5}

    # --- setup -------------------------------------------------------------------------------
    def check_options(self) -> None:
        super().check_options()
        size = self.option("population_size")
        if isinstance(size, bool) or not isinstance(size, int) or size < 2:
            raise ParameterError(
                f"option `population_size` of {self.name!r} must be an int >= 2, got {size!r}"
            )
        frac = self.option("seed_fraction")
        if not isinstance(frac, int | float) or not 0 <= frac <= 1:
            raise ParameterError(
                f"option `seed_fraction` of {self.name!r} must be in [0, 1], got {frac!r}"
            )

    def default_batch_size(self, problem: Problem) -> int:
        return int(self.option("population_size"))

    def setup(self, problem: Problem) -> None:
        from deap import base

        self.check_options()
        self.check_problem(problem)
        self.problem_ = problem
        weights = tuple(o.sign for o in problem.objectives)
        self.fitness_cls_ = type("Fitness", (base.Fitness,), {"weights": weights})
        self.rng_state_ = random.Random(problem.seed).getstate()
        self.generation_ = -1
        self.population_: list[Individual] = []
        self.queue_: list[Individual] = []
        self.cursor_ = 0
        self.checkpoint_at_: float | None = None
        self.n_asked_ = 0
        self.dists_ = problem.space.distributions()

    # --- individuals -------------------------------------------------------------------------
    def _individual(
        self, genes: Sequence[float], values: Sequence[float] | None = None
    ) -> Individual:
        ind = Individual(float(g) for g in genes)
        ind.fitness = self.fitness_cls_()
        if values is not None:
            ind.fitness.values = tuple(values)
        return ind

    def _random_individual(self) -> Individual:
        return self._individual([random.random() for _ in range(self.problem_.space.n_genes)])

    def _initial_population(self) -> list[Individual]:
        """Warm starts (up to ``seed_fraction`` of the population) then uniform random genomes."""
        size = int(self.option("population_size"))
        n_seed = min(len(self.problem_.warm_start), int(round(size * self.option("seed_fraction"))))
        pop = [
            self._individual(self.problem_.space.encode(p))
            for p in self.problem_.warm_start[:n_seed]
        ]
        while len(pop) < size:
            pop.append(self._random_individual())
        return pop

    @staticmethod
    def _clip(ind: Individual) -> None:
        for i, g in enumerate(ind):
            ind[i] = min(max(float(g), 0.0), 1.0)

    def clone(self, ind: Individual) -> Individual:
        """A copy of ``ind`` with its own fitness (what ``copy.deepcopy`` gives, cheaper)."""
        return self._individual(ind, ind.fitness.values if ind.fitness.valid else None)

    @abstractmethod
    def _breed(self) -> list[Individual]:
        """The next generation from ``self.population_`` (fully evaluated). Runs in rng scope."""

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        return None

    def _plain(self, individuals: Sequence[Individual]) -> list[list]:
        """``[[genes...], [values...] | None]`` per individual (JSON-ready)."""
        return [
            [
                [float(g) for g in ind],
                [float(v) for v in ind.fitness.values] if ind.fitness.valid else None,
            ]
            for ind in individuals
        ]

    def _from_plain(self, items: Sequence[Sequence[Any]]) -> list[Individual]:
        n_genes = self.problem_.space.n_genes
        out = []
        for genes, values in items:
            if len(genes) != n_genes:
                raise ValueError(f"checkpoint genome of {len(genes)} genes, expected {n_genes}")
            out.append(self._individual(genes, None if values is None else tuple(values)))
        return out

    # --- generations -------------------------------------------------------------------------
    def _advance(self) -> None:
        for _ in range(_MAX_EMPTY_GENERATIONS):
            with rng_scope(self):
                pop = self._initial_population() if self.generation_ < 0 else self._breed()
            self.generation_ += 1
            self.population_ = pop
            self.queue_ = [ind for ind in pop if not ind.fitness.valid]
            self.cursor_ = 0
            if self.queue_:
                self._checkpoint()
                return
        raise RuntimeError(
            f"{self.name}: {_MAX_EMPTY_GENERATIONS} generations in a row bred no new individual; "
            "raise the crossover or mutation probability"
        )

    def _checkpoint(self) -> None:
        if self.problem_.checkpoint is None:
            return
        now = time.monotonic()
        last = self.checkpoint_at_
        if last is not None and now - last < CHECKPOINT_SECONDS:
            return  # a recent checkpoint: resuming replays the few generations since then
        self.checkpoint_at_ = now
        state = {
            "version": _CHECKPOINT_VERSION,
            "optimizer": self.name,
            "options": _jsonable(self.options_key()),
            "study_name": self.problem_.study_name,
            "seed": self.problem_.seed,
            "generation": self.generation_,
            "population": self._plain(self.population_),
            "n_asked": self.n_asked_,
            "rng_state": rng_state_to_json(self.rng_state_),
            "extra": self._extra_state(),
        }
        save_checkpoint(self.problem_.checkpoint, state)

    def restore(self, records: Sequence[Any]) -> int:
        state = load_checkpoint(self.problem_.checkpoint)
        if (
            not isinstance(state, dict)
            or state.get("version") != _CHECKPOINT_VERSION
            or state.get("optimizer") != self.name
            or state.get("options") != _jsonable(self.options_key())
            or state.get("study_name") != self.problem_.study_name
            or state.get("seed") != self.problem_.seed
            or not isinstance(state.get("n_asked"), int)
            or state["n_asked"] > len(records)
        ):
            return 0  # no usable checkpoint: the driver replays every record from generation 0
        try:
            rng_state = rng_state_from_json(state["rng_state"])
            population = self._from_plain(state["population"])
            generation = int(state["generation"])
            self._load_extra_state(state["extra"])
        except (KeyError, TypeError, ValueError):
            self.setup(self.problem_)  # damaged: start afresh; every record is replayed
            return 0
        self.generation_ = generation
        self.population_ = population
        self.queue_ = [ind for ind in self.population_ if not ind.fitness.valid]
        self.cursor_ = 0
        self.n_asked_ = int(state["n_asked"])
        self.rng_state_ = rng_state
        return self.n_asked_

    # --- ask / tell --------------------------------------------------------------------------
    def ask(self, n: int) -> list[Candidate]:
        if self.cursor_ >= len(self.queue_):
            self._advance()
        take = self.queue_[self.cursor_ : self.cursor_ + max(1, int(n))]
        self.cursor_ += len(take)
        out = []
        for ind in take:
            params = self.problem_.space.decode(ind)
            attrs = {"generation": self.generation_}
            out.append(Candidate(self.n_asked_, params, handle=ind, attrs=attrs))
            self.n_asked_ += 1
        return out

    def _fitness(self, outcome: Outcome) -> tuple[float, ...]:
        if outcome.state == "complete" and outcome.values is not None and outcome.violation <= 0:
            return tuple(outcome.values)
        if outcome.state == "complete":
            return penalty_values(self.problem_.objectives, outcome.violation)
        return penalty_values(self.problem_.objectives, _FAILED_VIOLATION)

    def tell(self, candidates: Sequence[Candidate], outcomes: Sequence[Outcome]) -> list[Any]:
        """Set the fitnesses; the trials as ``FrozenTrial`` told their fitness (a penalty when
        infeasible or failed; the constraint values and the generation are recorded with the
        driver's bookkeeping, the genome in the checkpoint)."""
        import datetime as dt

        space = self.problem_.space
        when = dt.datetime.now()
        dists = self.dists_
        frozen = []
        for cand, outcome in zip(candidates, outcomes):
            values = self._fitness(outcome)
            cand.handle.fitness.values = values
            active = space.active(cand.params)
            state = "complete" if outcome.state == "complete" else "fail"
            frozen.append(
                finished_trial(
                    cand.number, state, values, active, {name: dists[name] for name in active},
                    outcome, {}, when,
                )
            )  # fmt: skip
        return frozen
