"""Shared adaptor for the Optuna samplers: ask/tell on an in-memory study, one sampler per ask.

How it stays deterministic and fast:

* The sampler works on an **in-memory** study (:class:`optuna.storages.InMemoryStorage`); the
  driver records every finished trial in the RDB storage after each batch (one transaction per
  batch). On resume the recorded trials of complete batches are added back to a fresh
  in-memory study (:meth:`OptunaOptimizer.restore`), trial by trial, in number order, so the
  sampler sees exactly the study it saw before the interruption.
* Each ask uses a **fresh sampler seeded from** ``(problem.seed, trial number)``: what trial
  ``k`` gets depends only on the seed and on the trials before it, never on how many asks a
  process made before (which a kill and resume would change). Samplers keep their state in the
  study (CMA-ES and NSGA-II write it to trial/study system attributes), so nothing is lost. The
  fresh sampler takes over the previous one's exact, incremental search-space caches
  (:func:`research.optimize._optuna_internals.carry_search_space_caches`), so an ask does not rescan every trial.
* Constraints: samplers that read Optuna's trial constraints (``native_constraints = True``:
  TPE, NSGA-II, GP) get them through ``Trial.set_constraint`` (the Optuna 5 replacement of
  ``constraints_func``); the others are told penalty values for infeasible trials
  (:func:`research.optimize.objectives.penalty_values`).
* Warm starts are enqueued just before the ask of their trial number (``enqueue_trial``).
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from data_loaders.errors import ParameterError
from research.optimize._base import (
    Candidate,
    Optimizer,
    Outcome,
    Problem,
    complete_batches,
    trial_seed,
)
from research.optimize._optuna_internals import (
    carry_search_space_caches,
    hyperband_bracket_id,
    tell_shallow,
)
from research.optimize.objectives import penalty_values

__all__ = ["OptunaOptimizer", "quiet_optuna", "finished_trial"]


@contextlib.contextmanager
def quiet_optuna() -> Iterator[None]:
    """Silence Optuna's per-trial INFO logs and its experimental/independent-sampling warnings."""
    import optuna

    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            warnings.filterwarnings("ignore", message=".*independent sampl.*")
            warnings.filterwarnings("ignore", message=".*will not use them for optimization.*")
            yield
    finally:
        optuna.logging.set_verbosity(level)


def finished_trial(
    number: int,
    state: str,
    values: Sequence[float] | None,
    params: dict[str, Any],
    distributions: dict[str, Any],
    outcome: Outcome,
    system_attrs: dict[str, Any],
    when: Any = None,
) -> Any:
    """A told trial as an Optuna ``FrozenTrial`` numbered ``number``, built without a study:
    ``state`` ``"complete"`` (with ``values``), ``"pruned"`` or ``"fail"``; ``params`` the
    suggested (active) parameters with their ``distributions``; user attributes and
    intermediate values from ``outcome``; started and completed ``when`` (default: now; a
    batch's trials share one time).

    Built directly, without ``optuna.trial.create_trial``'s validation (~60 us a trial): the
    params are the space's own draws or decodings, in their distributions by construction."""
    import datetime as dt

    from optuna.trial import FrozenTrial

    states = _states()
    kind = states.get(state, states["fail"])
    complete = state == "complete"
    when = dt.datetime.now() if when is None else when
    return FrozenTrial(
        number=number,
        state=kind,
        value=None,
        values=list(values) if complete and values is not None else None,
        datetime_start=when,
        datetime_complete=when,
        params=params,
        distributions=distributions,
        user_attrs=dict(outcome.user_attrs),
        system_attrs=system_attrs,
        intermediate_values=dict(outcome.intermediate),
        trial_id=-1,
    )


@functools.cache
def _states() -> dict[str, Any]:
    from optuna.trial import TrialState

    return {"complete": TrialState.COMPLETE, "pruned": TrialState.PRUNED, "fail": TrialState.FAIL}


class OptunaOptimizer(Optimizer):
    """Base of the Optuna plug-ins: subclasses implement :meth:`make_sampler` only."""

    supports_pruning = True
    #: whether the sampler reads trial constraints (else infeasible trials get penalty values)
    native_constraints: ClassVar[bool] = True

    @abstractmethod
    def make_sampler(self, seed: int) -> Any:
        """A fresh Optuna sampler for one ask, seeded with ``seed``."""

    # --- setup / restore ---------------------------------------------------------------------
    def setup(self, problem: Problem) -> None:
        import optuna

        self.check_options()
        self.check_problem(problem)
        self.problem_ = problem
        self.storage_ = optuna.storages.InMemoryStorage()
        with quiet_optuna():
            self.study_ = optuna.create_study(
                storage=self.storage_,
                study_name=problem.study_name,
                directions=problem.directions,
                sampler=self.make_sampler(problem.seed),
                pruner=self._make_pruner(problem),
            )
        self.study_id_ = self.storage_.get_study_id_from_name(problem.study_name)
        for key, value in problem.study_system_attrs.items():
            self.storage_.set_study_system_attr(self.study_id_, key, value)
        self.next_number_ = 0
        self.shallow_tell_ = True

    def _make_pruner(self, problem: Problem) -> Any:
        import optuna

        if problem.pruner is None:
            return optuna.pruners.NopPruner()
        if problem.pruner == "hyperband":
            return optuna.pruners.HyperbandPruner(
                min_resource=1,
                max_resource=max(problem.max_step, 1),
                reduction_factor=problem.reduction_factor,
            )
        if problem.pruner == "sha":
            return optuna.pruners.SuccessiveHalvingPruner(
                min_resource=1, reduction_factor=problem.reduction_factor
            )
        raise ParameterError(f"`pruner` must be 'hyperband', 'sha' or None, got {problem.pruner!r}")

    def restore(self, records: Sequence[Any]) -> int:
        n = complete_batches(records)
        if n:
            with quiet_optuna():
                self.study_.add_trials(records[:n])
        self.next_number_ = n
        return n

    # --- ask / report / tell -----------------------------------------------------------------
    def ask(self, n: int) -> list[Candidate]:
        problem = self.problem_
        out: list[Candidate] = []
        with quiet_optuna():
            for _ in range(max(1, int(n))):
                number = self.next_number_
                self.study_.sampler = self.sampler_for(trial_seed(problem.seed, number))
                if number < len(problem.warm_start):
                    self.study_.enqueue_trial(problem.space.active(problem.warm_start[number]))
                trial = self.study_.ask()
                if trial.number != number:
                    raise RuntimeError(f"optuna numbered a trial {trial.number}, expected {number}")
                params = problem.space.suggest(trial)
                out.append(Candidate(number, params, handle=trial))
                self.next_number_ += 1
        return out

    def sampler_for(self, seed: int) -> Any:
        """The sampler of one ask: a fresh one seeded with ``seed``, with the search-space
        caches of the previous one."""
        sampler = self.make_sampler(seed)
        carry_search_space_caches(self.study_.sampler, sampler)
        return sampler

    def report(self, candidate: Candidate, step: int, value: float) -> bool:
        trial = candidate.handle
        with quiet_optuna():
            trial.report(float(value), int(step))
            return bool(trial.should_prune())

    def prune_steps(self, candidate: Candidate) -> frozenset[int] | None:
        """Rungs of the candidate's successive-halving bracket (Hyperband: its bracket).

        A report below the trial's next rung never prunes (Optuna's ``SuccessiveHalvingPruner``
        returns early without side effects), so skipping it changes no decision. Reads the
        pruner's private bracket layout; None (evaluate every step) if that ever changes.
        """
        problem = self.problem_
        if problem.pruner is None:
            return frozenset()
        try:
            if problem.pruner == "hyperband":
                rate = hyperband_bracket_id(self.study_, candidate.handle)
            else:
                rate = 0
            rf, lo = int(problem.reduction_factor), 1
            steps = set()
            k = 0
            while lo * rf ** (rate + k) <= problem.max_step:
                steps.add(lo * rf ** (rate + k))
                k += 1
            return frozenset(steps)
        except Exception:  # Optuna's internals changed: evaluate every step (exact, slower)
            return None

    def tell(self, candidates: Sequence[Candidate], outcomes: Sequence[Outcome]) -> list[Any]:
        from optuna.trial import TrialState

        frozen: list[Any] = []
        objectives = self.problem_.objectives
        with quiet_optuna():
            for cand, outcome in zip(candidates, outcomes):
                trial = cand.handle
                if outcome.state == "complete":
                    if self.native_constraints:
                        for key, value in outcome.constraints.items():
                            trial.set_constraint(key, float(value))
                    if outcome.values is not None and (
                        self.native_constraints or outcome.violation <= 0
                    ):
                        values: Sequence[float] = outcome.values
                    else:
                        values = penalty_values(objectives, outcome.violation)
                    result = self._tell(trial, list(values), None)
                elif outcome.state == "pruned":
                    result = self._tell(trial, None, TrialState.PRUNED)
                else:
                    result = self._tell(trial, None, TrialState.FAIL)
                # Recorded with the trial, not shown to the sampler: no sampler or pruner reads
                # user attributes, and setting them after ``tell`` (on its copy) keeps them
                # out of the in-memory study, which Optuna copies trials of.
                result.user_attrs = dict(outcome.user_attrs)
                frozen.append(result)
        return frozen

    def _tell(self, trial: Any, values: list[float] | None, state: Any) -> Any:
        """Tell one trial; the finished trial (a shallow copy, see
        :func:`research.optimize._optuna_internals.tell_shallow`)."""
        if self.shallow_tell_:
            try:
                return tell_shallow(self.study_, trial, values, state)
            except (ImportError, AttributeError):
                self.shallow_tell_ = False  # Optuna's layout changed: its public tell
        if state is None:
            return self.study_.tell(trial, values)
        return self.study_.tell(trial, state=state)

    def study_system_attrs(self) -> dict[str, Any]:
        return dict(self.storage_.get_study_system_attrs(self.study_id_))
