"""The search of one fold's in-sample window: ask a batch, evaluate it step by step, tell, record.

(The fidelity plan is :mod:`research.optimize._plan`, the replay of recorded trials
:mod:`research.optimize._replay`, the progress counts :mod:`research.optimize._progress`.)

One coordinator does all the asking, telling and recording; workers only evaluate. Per batch:

1. ``optimizer.ask(k)``: ``k`` candidates numbered in ask order.
2. Candidates that break the strategy's constraints are not evaluated: they are *complete and
   infeasible* (constraint ``params`` = number broken).
3. The others are evaluated through the fidelity :class:`Plan`, step by step: every candidate
   still alive is evaluated on the step's window in one batch-path pass, reports its value
   (``optimizer.report``) and may be pruned (successive halving / Hyperband) before the next,
   larger step. With growing prefixes (``fractions``) a candidate is evaluated only at the
   steps where its pruner bracket can stop it (``optimizer.prune_steps``) and at the last one,
   so a trial that runs to the end costs one full window. An error or a NaN objective fails the
   trial with its reason.
4. ``optimizer.tell``; the told trials are written in one storage transaction once
   :data:`FLUSH_SECONDS` have passed since the last write (or :data:`FLUSH_TRIALS` wait, or the
   fold's budget is reached), so fast batches share a transaction instead of paying one each.

**Resume.** The recorded trials are loaded first. The optimizer absorbs what it can restore as
state (complete batches; a DEAP checkpoint); the remaining records are *replayed*: re-asked (the
same seed and history give the same parameters, which is checked) and told their recorded
outcome without being evaluated again. So a killed run continues exactly where it stopped: no
recorded trial is lost, repeated or changed, and the final trials equal an uninterrupted run's
(trials told but not yet written when the process died, at most :data:`FLUSH_SECONDS` of work,
are evaluated again).
"""

from __future__ import annotations

import contextlib
import gc
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from research.optimize._base import QR_ATTR, Candidate, Optimizer, Outcome, Problem
from research.optimize._plan import FIDELITIES, FRACTION_STEPS, INNER_FOLDS, Plan, Step, make_plan
from research.optimize._progress import FoldProgress, ProgressCounts
from research.optimize._replay import check_replay, recorded_outcome, replay_step
from research.optimize._workers import Workers
from research.optimize.evaluate import EvalTask, SetResult
from research.optimize.objectives import Guardrails, Objective, objective_values
from research.optimize.storage import TrialStore

__all__ = [
    "Step",
    "Plan",
    "make_plan",
    "FoldSearch",
    "run_search",
    "FIDELITIES",
    "FRACTION_STEPS",
    "INNER_FOLDS",
]

#: told trials are written at least this often (seconds) ...
FLUSH_SECONDS = 1.0
#: ... or as soon as this many wait
FLUSH_TRIALS = 1024


@dataclass
class FoldSearch:
    """What one fold's search produced: every trial (optuna FrozenTrial, by number) and costs."""

    trials: list[Any]
    evaluated_bars: int = 0
    full_bars: int = 0
    seconds: float = 0.0
    eval_seconds: float = 0.0
    ask_seconds: float = 0.0
    tell_seconds: float = 0.0
    store_seconds: float = 0.0


@dataclass
class _Live:
    """A candidate under evaluation."""

    cand: Candidate
    record: Any = None  # recorded trial when replaying
    scores: list[float] = field(default_factory=list)
    intermediate: dict[int, float] = field(default_factory=dict)
    bars: int = 0
    last_step: int = 0
    outcome: Outcome | None = None
    sim_state: Any = None  # backtest.resume.SimState of its prefix window (fractions + pruning)
    steps: frozenset[int] | None = None  # steps to evaluate at (None: every step)


def run_search(
    *,
    fold: int,
    optimizer: Optimizer,
    problem: Problem,
    store: TrialStore,
    workers: Workers,
    plan: Plan,
    guardrails: Guardrails,
    n_trials: int,
    batch_size: int,
    timeout: float | None,
    progress: bool,
) -> FoldSearch:
    """Search one fold (see module docstring); returns every trial of the fold's study.

    The search stops at ``n_trials`` trials, or at the optimizer's ``max_trials`` when fewer (a
    finite grid). ``progress``: show fold ``fold``'s :class:`FoldProgress` bar (on a terminal).

    The cyclic garbage collector is paused meanwhile (:func:`paused_gc`): the told trials
    (nested dicts, thousands per fold) made its generational passes a sizeable share of a
    cheap trial's cost; what the search leaves is collected once the search ends.
    """
    t_start = time.perf_counter()
    deadline = None if timeout is None else time.monotonic() + float(timeout)
    records = store.load()
    absorbed = optimizer.restore(records)
    replay = {r.number: r for r in records[absorbed:]}
    trials: list[Any] = list(records[:absorbed])
    cap = optimizer.max_trials(problem)
    target = n_trials if cap is None else min(n_trials, cap)
    out = FoldSearch(trials=trials)
    out.evaluated_bars = sum(_recorded_bars(r, plan) for r in trials)
    loop = _Loop(optimizer, problem, store, workers, plan, guardrails, replay)
    loop.batch = 1 + max((_qr(r).get("batch", -1) for r in trials), default=-1)
    counts = ProgressCounts.of(trials, problem.objectives)
    told = absorbed
    with contextlib.closing(FoldProgress(fold, target, progress)) as bar, paused_gc():
        bar.update(told, counts.pruned, counts.failed, counts.best)
        try:
            while told < target:
                if deadline is not None and time.monotonic() > deadline and told >= len(records):
                    break
                frozen = loop.batch_of(min(batch_size, target - told), out, told, target)
                trials.extend(frozen)
                counts.add(frozen, problem.objectives)
                told += len(frozen)
                bar.update(told, counts.pruned, counts.failed, counts.best)
        except BaseException:  # an interrupt or an error keeps what was told
            with contextlib.suppress(Exception):
                loop.flush()
            raise
        t0 = time.perf_counter()
        loop.flush()  # a timeout ends the loop early
        out.store_seconds += time.perf_counter() - t0
    evaluated = sum(1 for t in trials if _qr(t).get("step", 0) > 0)
    out.full_bars = evaluated * plan.n_bars
    out.seconds = time.perf_counter() - t_start
    return out


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector meanwhile (if it was on); reference counting
    still frees everything not in a cycle."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _qr(trial: Any) -> dict[str, Any]:
    return trial.user_attrs.get(QR_ATTR, {})


def _recorded_bars(trial: Any, plan: Plan) -> int:
    """Bars a recorded trial's evaluation simulated (its ``cost`` in search windows)."""
    return int(round(_qr(trial).get("cost", 0.0) * plan.n_bars))


@dataclass
class _Loop:
    """One fold's batches: ask, evaluate (or replay), tell, and write the told trials once
    :data:`FLUSH_SECONDS` passed since the last write (or :data:`FLUSH_TRIALS` wait)."""

    optimizer: Optimizer
    problem: Problem
    store: TrialStore
    workers: Workers
    plan: Plan
    guardrails: Guardrails
    replay: dict[int, Any]
    batch: int = 0
    pending: list[Any] = field(default_factory=list)  # told, not yet written
    flushed: float = field(default_factory=time.perf_counter)
    synced: dict[str, Any] | None = None  # study-level sampler state as written

    def batch_of(self, n: int, out: FoldSearch, told: int, target: int) -> list[Any]:
        """Ask ``n`` candidates, evaluate, tell; the told trials (optuna FrozenTrial)."""
        opt, replay = self.optimizer, self.replay
        t0 = time.perf_counter()
        cands = opt.ask(n)
        out.ask_seconds += time.perf_counter() - t0
        lives = _evaluate(
            cands, replay, self.problem, self.plan, self.guardrails, opt, self.workers, out
        )
        outcomes = []
        for live in lives:
            if live.record is not None:
                outcomes.append(recorded_outcome(live.record))
                out.evaluated_bars += _recorded_bars(live.record, self.plan)
                continue
            outcome = live.outcome
            outcome.user_attrs = _user_attrs(live, outcome, self.batch, len(cands), self.plan)
            outcomes.append(outcome)
            out.evaluated_bars += live.bars
        t0 = time.perf_counter()
        frozen = opt.tell(cands, outcomes)
        out.tell_seconds += time.perf_counter() - t0
        t0 = time.perf_counter()
        self.pending += [f for f, c in zip(frozen, cands) if c.number not in replay]
        due = len(self.pending) >= FLUSH_TRIALS or t0 - self.flushed >= FLUSH_SECONDS
        if due or told + len(cands) >= target:
            self.flush()
        out.store_seconds += time.perf_counter() - t0
        self.batch += 1
        return frozen

    def flush(self) -> None:
        """Write the told trials not yet stored (one transaction) and the optimizer's
        study-level state entries that changed since the last write."""
        if self.synced is None:
            self.synced = self.store.study_system_attrs()
        self.store.write(self.pending)
        self.pending, self.flushed = [], time.perf_counter()
        attrs = self.optimizer.study_system_attrs()
        changed = {k: v for k, v in attrs.items() if self.synced.get(k) != v}
        if changed:
            self.store.write_study_system_attrs(changed)
            self.synced.update(changed)


# --- evaluation of one batch --------------------------------------------------------------------
def _evaluate(
    cands: Sequence[Candidate],
    replay: dict[int, Any],
    problem: Problem,
    plan: Plan,
    guardrails: Guardrails,
    optimizer: Optimizer,
    workers: Workers,
    out: FoldSearch,
) -> list[_Live]:
    objectives = problem.objectives
    lives, alive = _admit(cands, replay, problem)
    pruning = problem.pruner is not None
    if plan.mode == "fractions":
        _assign_rungs(alive, plan, optimizer, pruning)
    # growing prefixes under pruning: a promoted trial continues its saved simulation state
    resume = plan.mode == "fractions" and pruning
    for index, step in enumerate(plan.steps):
        last = index == len(plan.steps) - 1
        fresh = [
            lv
            for lv in alive
            if lv.record is None and (last or lv.steps is None or step.step in lv.steps)
        ]
        waiting = {id(lv) for lv in alive if lv.record is None} - {id(lv) for lv in fresh}
        results: dict[int, SetResult] = {}
        if fresh:
            task = EvalTask(
                numbers=tuple(lv.cand.number for lv in fresh),
                params=tuple(lv.cand.params for lv in fresh),
                stop=step.stop,
                windows=step.windows,
                fit=step.fit,
                resume=tuple(lv.sim_state for lv in fresh) if resume else None,
                keep_state=resume,
            )
            (res,), seconds = workers.run([task])
            out.eval_seconds += seconds
            results = {r.number: r for r in res}
            for lv in fresh:
                extra = results[lv.cand.number].extra
                lv.sim_state = extra.get("state")
                lv.bars += int(extra.get("bars", task.bars_simulated))
        survivors = []
        for lv in alive:
            if lv.record is not None:
                if replay_step(lv, step, last, optimizer, pruning):
                    survivors.append(lv)
                continue
            if id(lv) in waiting:
                survivors.append(lv)
                continue
            res = results[lv.cand.number]
            lv.last_step = step.step
            if res.error is not None:
                lv.outcome = Outcome("fail", None, {}, dict(lv.intermediate), {"reason": res.error})
                continue
            lv.last_step = step.step
            score = objective_values(res.metrics[0], objectives)[0]
            lv.scores.append(score)
            value = _mean_finite(lv.scores) if plan.mode == "folds" else score
            if not last and not math.isfinite(value):
                # no evidence yet (e.g. no position in a short window): nothing is reported, so
                # the rung check waits for the next finite value - evaluate every step from now
                lv.steps = None
                survivors.append(lv)
                continue
            if pruning and math.isfinite(value):
                lv.intermediate[step.step] = value
                if not last and optimizer.report(lv.cand, step.step, value):
                    lv.outcome = Outcome(
                        "pruned", None, {}, dict(lv.intermediate), {"step_metrics": res.metrics[0]}
                    )
                    continue
            if last:
                lv.outcome = _final_outcome(
                    lv, res, step, value, plan, objectives, guardrails, problem
                )
            survivors.append(lv)
        alive = survivors
    return lives


def _admit(
    cands: Sequence[Candidate], replay: dict[int, Any], problem: Problem
) -> tuple[list[_Live], list[_Live]]:
    """Every candidate as a :class:`_Live`, and those to evaluate (or replay): a candidate
    breaking the strategy's constraints is complete and infeasible without any simulation."""
    space = problem.space
    lives = [_Live(c, record=replay.get(c.number)) for c in cands]
    alive: list[_Live] = []
    for live in lives:
        if live.record is not None:
            check_replay(live, space, problem.study_name)
            alive.append(live)
            continue
        broken = space.violations(live.cand.params)
        if broken:
            constraints = {
                "params": float(len(broken)),
                **dict.fromkeys(problem.constraint_names[1:], 0.0),
            }
            live.outcome = Outcome(
                "complete", None, constraints, {}, {"reason": "constraint: " + "; ".join(broken)}
            )
        else:
            alive.append(live)
    return lives, alive


def _assign_rungs(alive: Sequence[_Live], plan: Plan, optimizer: Optimizer, pruning: bool) -> None:
    """A prefix's value does not depend on the smaller prefixes: evaluate a candidate only at
    the first step at or above each of its pruning rungs, and at the last step."""
    numbers = [st.step for st in plan.steps]
    for lv in alive:
        if lv.record is None:
            rungs = optimizer.prune_steps(lv.cand) if pruning else frozenset()
            lv.steps = None if rungs is None else _steps_for(rungs, numbers)


def _steps_for(rungs: frozenset[int], steps: Sequence[int]) -> frozenset[int]:
    """The plan steps where the rungs are checked: for each rung, the first step at or above it."""
    out = set()
    for r in rungs:
        above = [s for s in steps if s >= r]
        if above:
            out.add(above[0])
    return frozenset(out)


def _mean_finite(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def _final_outcome(
    lv: _Live,
    res: SetResult,
    step: Step,
    value: float,
    plan: Plan,
    objectives: Sequence[Objective],
    guardrails: Guardrails,
    problem: Problem,
) -> Outcome:
    metrics = res.metrics[step.full]
    values = list(objective_values(metrics, objectives))
    if plan.mode == "folds":
        values[0] = value
    attrs: dict[str, Any] = {"metrics": metrics}
    if step.val is not None:
        val_metrics = res.metrics[step.val]
        attrs["val_metrics"] = val_metrics
        attrs["val_objective"] = list(objective_values(val_metrics, objectives))
    bad = [o.metric for o, v in zip(objectives, values) if not math.isfinite(v)]
    if bad:
        attrs["reason"] = f"objective `{bad[0]}` is NaN (e.g. no position taken in the window)"
        return Outcome("fail", None, {}, dict(lv.intermediate), attrs)
    constraints = {"params": 0.0, **guardrails.constraint_values(metrics)}
    constraints = {k: constraints.get(k, 0.0) for k in problem.constraint_names}
    reason = guardrails.describe(metrics)
    if reason:
        attrs["reason"] = reason
    return Outcome("complete", tuple(values), constraints, dict(lv.intermediate), attrs)


def _user_attrs(
    live: _Live, outcome: Outcome, batch: int, batch_size: int, plan: Plan
) -> dict[str, Any]:
    """The user attributes recorded with a trial (:mod:`research.optimize._records`): its
    metrics and the driver's bookkeeping ``qr`` (the run's seed, the fold, the data fingerprint
    and the code version are the study's attributes; the trial's sampler seed is
    ``trial_seed(problem.seed, number)``)."""
    extra = outcome.user_attrs
    qr = {
        "batch": batch,
        "batch_size": batch_size,
        "status": outcome.state,
        "feasible": bool(outcome.feasible),
        "reason": extra.pop("reason", ""),
        "objective": None if outcome.values is None else list(outcome.values),
        "val_objective": extra.pop("val_objective", None),
        "step": live.last_step,
        "cost": live.bars / plan.n_bars if plan.n_bars else 0.0,
        **live.cand.attrs,
    }
    if outcome.constraints:
        qr["constraints"] = outcome.constraints
    extra[QR_ATTR] = qr
    return extra
