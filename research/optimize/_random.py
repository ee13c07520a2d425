"""Random search: independent uniform (or log-uniform) draws from the declared space.

The baseline every smarter optimizer must beat at equal budget.

Trial ``k`` draws from ``numpy.random.RandomState(trial_seed(seed, k))``, one
``RandomSampler`` draw per active parameter in the space's order (warm starts and one-value
ranges take no draw), and nothing else: no trial depends on another. So without a pruner the
candidates are drawn here directly, exactly as Optuna's ``RandomSampler`` would draw them, and
told as finished trials without an Optuna study (no per-trial study bookkeeping). With a pruner
(which reads the study's intermediate values), or if Optuna's private transform ever moves,
every ask and tell goes through the Optuna study of :class:`OptunaOptimizer`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from research.optimize._base import Candidate, Outcome, Problem, complete_batches, trial_seed
from research.optimize._optuna import OptunaOptimizer, finished_trial
from research.optimize._optuna_internals import random_draw
from research.optimize.objectives import penalty_values
from strategies.params import Categorical, Int

__all__ = ["RandomOptimizer"]


class RandomOptimizer(OptunaOptimizer):
    """Optuna ``RandomSampler`` (no options)."""

    name = "random"
    OPTIONS: dict[str, Any] = {}
    native_constraints = False

    def make_sampler(self, seed: int) -> Any:
        import optuna

        return optuna.samplers.RandomSampler(seed=seed)

    def setup(self, problem: Problem) -> None:
        super().setup(problem)
        self.draws_: dict[str, Any] | None = None
        self.dists_ = problem.space.distributions()
        self.rng_ = np.random.RandomState(0)
        if problem.pruner is None:
            try:
                self.draws_ = {name: random_draw(d) for name, d in self.dists_.items()}
            except (ImportError, AttributeError, TypeError):
                self.draws_ = None

    def restore(self, records: Sequence[Any]) -> int:
        if self.draws_ is None:
            return super().restore(records)
        self.next_number_ = complete_batches(records)  # no history to rebuild
        return self.next_number_

    def ask(self, n: int) -> list[Candidate]:
        if self.draws_ is None:
            return super().ask(n)
        problem = self.problem_
        out = []
        for _ in range(max(1, int(n))):
            number = self.next_number_
            fixed = (
                problem.space.active(problem.warm_start[number])
                if number < len(problem.warm_start)
                else None
            )
            params, drawn = self._draw(trial_seed(problem.seed, number), fixed)
            out.append(Candidate(number, params, handle=(drawn, fixed)))
            self.next_number_ += 1
        return out

    def _draw(
        self, seed: int, fixed: dict[str, Any] | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The full parameter set and the active (suggested) parameters of one trial: what
        :meth:`research.optimize.space.SearchSpace.suggest` gets from an Optuna trial."""
        space = self.problem_.space
        dists = self.dists_
        rng = self.rng_
        rng.seed(seed)  # the state of RandomState(seed), without building a generator per trial
        values = space.defaults()
        drawn: dict[str, Any] = {}
        for name, p in space.params.items():
            if not p.is_active(values):
                continue
            if fixed is not None and name in fixed:
                value = fixed[name]
            elif dists[name].single():  # Optuna takes the one value without a draw
                value = p.choices[0] if isinstance(p, Categorical) else dists[name].low
            else:
                value = self.draws_[name](rng)
            value = int(value) if isinstance(p, Int) else value
            values[name] = drawn[name] = value
        return {name: values[name] for name in space.strategy_cls.space()}, drawn

    def tell(self, candidates: Sequence[Candidate], outcomes: Sequence[Outcome]) -> list[Any]:
        if self.draws_ is None:
            return super().tell(candidates, outcomes)
        import datetime as dt

        objectives = self.problem_.objectives
        when = dt.datetime.now()
        out = []
        for cand, outcome in zip(candidates, outcomes):
            drawn, fixed = cand.handle
            values = None
            if outcome.state == "complete":  # what OptunaOptimizer.tell tells (no constraints)
                ok = outcome.values is not None and outcome.violation <= 0
                values = outcome.values if ok else penalty_values(objectives, outcome.violation)
            dists = {name: self.dists_[name] for name in drawn}
            system = {} if fixed is None else {"fixed_params": fixed}
            out.append(
                finished_trial(
                    cand.number, outcome.state, values, drawn, dists, outcome, system, when
                )
            )
        return out
