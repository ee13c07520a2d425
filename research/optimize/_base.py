"""The one small interface every optimizer plug-in implements.

The walk-forward driver (:mod:`research.optimize._search`) owns the loop; an optimizer only
proposes and learns::

    opt.setup(problem)                 # space, objectives, seed, warm starts, pruner
    absorbed = opt.restore(records)    # recorded trials of this study (resume); returns how many
                                       # it absorbed as its own state; the rest are replayed
    while budget left:
        cands = opt.ask(n)             # up to n Candidates, numbered 0, 1, 2, ... in ask order
        ...evaluate (possibly calling opt.report(cand, step, value) -> prune?)...
        frozen = opt.tell(cands, outcomes)   # -> optuna FrozenTrials, recorded in the RDB

Determinism contract (what makes 1 worker == N workers and kill-and-resume exact): ``ask`` is a
pure function of ``problem.seed``, the trial numbers and everything told before; it never depends
on wall time, worker count or evaluation order. A plug-in is one module subclassing
:class:`Optimizer` (or :class:`research.optimize._optuna.OptunaOptimizer` /
:class:`research.optimize._deap.DeapOptimizer`) plus one line in the registry.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from data_loaders.errors import ParameterError, did_you_mean
from research.optimize.objectives import Objective
from research.optimize.space import SearchSpace

__all__ = [
    "Optimizer",
    "Problem",
    "Candidate",
    "Outcome",
    "trial_seed",
    "complete_batches",
    "QR_ATTR",
]

#: user attribute holding the driver's bookkeeping of a trial (batch, status, reason, ...)
QR_ATTR = "qr"


def trial_seed(seed: int, *keys: int) -> int:
    """A 32-bit seed derived from ``seed`` and integer keys (fold, trial number, ...)."""
    return _trial_seed(int(seed), tuple(int(k) for k in keys))


@functools.lru_cache(maxsize=4096)
def _trial_seed(seed: int, keys: tuple[int, ...]) -> int:
    return int(np.random.SeedSequence([seed % 2**63, *keys]).generate_state(1)[0])


@dataclass(frozen=True)
class Problem:
    """What an optimizer searches, as the driver describes it for one study (one fold).

    Attributes:
        space: the strategy's :class:`SearchSpace`.
        objectives: one or more :class:`Objective`.
        constraint_names: names of the constraint values every evaluated trial reports
            (``params`` plus the enabled guardrails), feasible when ``<= 0``.
        study_name: the study's name (Optuna's Hyperband bracket assignment hashes it).
        seed: this study's base seed.
        warm_start: full parameter sets to try first, in order.
        pruner: ``"hyperband"``, ``"sha"`` or None.
        max_step: last fidelity step a trial reports (pruners' ``max_resource``).
        reduction_factor: pruners' reduction factor.
        checkpoint: file where a stateful optimizer checkpoints (None: no checkpoint).
        study_system_attrs: sampler state shared by the study's trials, as recorded.
    """

    space: SearchSpace
    objectives: tuple[Objective, ...]
    constraint_names: tuple[str, ...] = ("params",)
    study_name: str = "study"
    seed: int = 0
    warm_start: tuple[dict[str, Any], ...] = ()
    pruner: str | None = None
    max_step: int = 1
    reduction_factor: int = 3
    checkpoint: Path | None = None
    study_system_attrs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def directions(self) -> list[str]:
        return [o.direction for o in self.objectives]


@dataclass
class Candidate:
    """One asked trial: its number in the study, its full parameter set, optimizer state."""

    number: int
    params: dict[str, Any]
    handle: Any = None
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    """What the driver learned about a candidate.

    Attributes:
        state: ``"complete"`` (evaluated, or rejected unevaluated for breaking the strategy's
            constraints), ``"pruned"`` or ``"fail"`` (error or NaN objective).
        values: objective values of an evaluated complete trial (finite), else None.
        constraints: constraint values (``<= 0`` met) of a complete trial, else empty.
        intermediate: fidelity step -> reported value.
        user_attrs: attributes recorded with the trial (metrics, bookkeeping).
    """

    state: str
    values: tuple[float, ...] | None = None
    constraints: dict[str, float] = field(default_factory=dict)
    intermediate: dict[int, float] = field(default_factory=dict)
    user_attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def violation(self) -> float:
        """Sum of the positive constraint values (0 when feasible)."""
        return float(sum(v for v in self.constraints.values() if v > 0))

    @property
    def feasible(self) -> bool:
        return self.state == "complete" and self.values is not None and self.violation <= 0


class Optimizer(ABC):
    """Base of every optimizer plug-in. Subclasses set :attr:`name`, :attr:`OPTIONS` and the
    abstract methods; constructors only store options (checked by :meth:`check_options`).

    Class attributes:
        name: registry name.
        OPTIONS: accepted options and their defaults.
        multi_objective: whether several objectives are supported.
        supports_pruning: whether :meth:`report` can prune (multi-fidelity).
    """

    name: ClassVar[str] = ""
    OPTIONS: ClassVar[dict[str, Any]] = {}
    multi_objective: ClassVar[bool] = True
    supports_pruning: ClassVar[bool] = False

    def __init__(self, **options: Any) -> None:
        self.options = options

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in sorted(self.options.items()))
        return f"{type(self).__name__}({args})"

    # --- options -----------------------------------------------------------------------------
    def check_options(self) -> None:
        """Raise :class:`ParameterError` for an unknown option (with "did you mean")."""
        for key in self.options:
            if key not in self.OPTIONS:
                raise ParameterError(
                    f"unknown option {key!r} for optimizer {self.name!r}"
                    f"{did_you_mean(key, self.OPTIONS)}"
                )

    def check_available(self) -> None:
        """Raise :class:`data_loaders.errors.ConfigError` (one line naming what to install)
        when a package this optimizer needs is missing. Default: nothing is needed."""
        return None

    def option(self, key: str) -> Any:
        """An option's value (the default when not given)."""
        return self.options.get(key, self.OPTIONS[key])

    def check_problem(self, problem: Problem) -> None:
        """Raise :class:`ParameterError` when this optimizer cannot handle ``problem``."""
        n = len(problem.objectives)
        if n > 1 and not self.multi_objective:
            raise ParameterError(
                f"optimizer {self.name!r} handles one objective, got {n}; use 'nsga2', "
                "'tpe', 'random' or 'deap_nsga2' for several"
            )
        if problem.pruner is not None and not self.supports_pruning:
            raise ParameterError(
                f"optimizer {self.name!r} does not support pruning, got pruner="
                f"{problem.pruner!r}; use an Optuna optimizer (tpe, random, cmaes, ...) or pruner=None"
            )

    def options_key(self) -> dict[str, Any]:
        """The options that define the search (part of the study's configuration hash)."""
        return {k: self.option(k) for k in sorted(self.OPTIONS)}

    # --- the interface -----------------------------------------------------------------------
    def default_batch_size(self, problem: Problem) -> int:
        """Candidates asked at once when the caller gives no batch size."""
        return 16

    def max_trials(self, problem: Problem) -> int | None:
        """The most trials this optimizer can propose (a finite grid), None when unbounded."""
        return None

    @abstractmethod
    def setup(self, problem: Problem) -> None:
        """Prepare a fresh search of ``problem`` (called once, before anything else)."""

    @abstractmethod
    def restore(self, records: Sequence[Any]) -> int:
        """Absorb recorded trials (optuna ``FrozenTrial``, by number) as state; return how many.

        The driver replays the records it did not absorb through ask/tell with their recorded
        outcomes, so a plug-in may absorb none (return 0) and stay exact.
        """

    @abstractmethod
    def ask(self, n: int) -> list[Candidate]:
        """Up to ``n`` (at least one) new candidates, numbered consecutively."""

    def report(self, candidate: Candidate, step: int, value: float) -> bool:
        """Report an intermediate value; return whether the candidate should be pruned."""
        return False

    def prune_steps(self, candidate: Candidate) -> frozenset[int] | None:
        """The resources (step numbers) of the pruning rungs of ``candidate`` (None: unknown).

        A report at step ``s`` can only prune at a rung ``r <= s`` not yet checked. With
        growing-prefix fidelities the driver therefore evaluates a candidate only at the first
        plan step at or above each rung (and at the last step): the other values could not
        change any decision, only cost bars.
        """
        return None

    @abstractmethod
    def tell(self, candidates: Sequence[Candidate], outcomes: Sequence[Outcome]) -> list[Any]:
        """Learn the outcomes; return the finished trials as optuna ``FrozenTrial`` objects."""

    def study_system_attrs(self) -> dict[str, Any]:
        """Sampler state kept at study level, to record beside the trials (default: none)."""
        return {}


def complete_batches(records: Sequence[Any]) -> int:
    """How many leading records form complete ask batches (per the driver's ``qr`` attribute).

    A batch is complete when all ``batch_size`` of its trials are recorded; an optimizer that
    restores from records absorbs these and leaves a trailing partial batch to be replayed.
    """
    done = 0
    i = 0
    while i < len(records):
        info = records[i].user_attrs.get(QR_ATTR, {})
        batch, size = info.get("batch"), info.get("batch_size")
        if batch is None or not size:
            break
        members = [
            r for r in records[i : i + size] if r.user_attrs.get(QR_ATTR, {}).get("batch") == batch
        ]
        if len(members) != size:
            break
        done += size
        i += size
    return done
