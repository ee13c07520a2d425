"""Walk-forward optimization: search each fold's in-sample window, judge the pick out of sample.

The call runs in four steps, the way Optuna splits ``Study.optimize``: check the arguments
(:func:`research.optimize._setup.check_arguments`), plan the folds and name their studies
(:func:`~research.optimize._setup.plan_studies`), search each fold (:func:`_search_fold`), and
assemble the result (:func:`_assemble`). For each fold of ``splitter.split(bars.index)``:

1. **Search** the train window with the chosen optimizer (:mod:`research.optimize._search`):
   batches of asked parameter sets evaluated through the batch path (positions of the whole batch
   computed once on the bars up to the window's end, simulated on the window only), optionally
   multi-fidelity with pruning. Every trial is recorded in the fold's Optuna study.
2. **Pick** the best *feasible* complete trial by the objective (ties: the lowest trial number).
   With several objectives: the Pareto front of feasible trials, and the front member best on
   the first objective. With ``inner_validation=f``: the search runs on the first ``1 - f`` of the
   train window; the pick is, among the ``inner_top_k`` best trials by the search objective (the
   Pareto front with several objectives), the one best on the first objective over the last
   ``f`` of the window (held out from the search; strategies that learn are fitted on the search
   part when scored there).
3. **Judge** the pick: metrics on the whole train window (IS, refitted on it for strategies that
   learn) and on the test window (OOS); its OOS returns and positions are kept.

The folds' OOS returns are stitched into one series; the walk-forward efficiency is the OOS
annualised Sharpe ratio over the IS one (see :mod:`research.optimize.results`).

Studies are named ``<study_name>.fold<k>`` in one storage (SQLite file ``optuna.db`` under
``run_dir`` by default). ``study_name`` defaults to a hash of everything that defines the trials
(strategy and space, optimizer and options, objectives, guardrails, costs, folds, fidelity,
seed, warm starts, data fingerprint), so rerunning the same call after a crash resumes it, and a
different call never mixes with it. ``n_trials`` may grow between calls (the search extends).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backtest.execution import Execution
from research.optimize._base import Optimizer, trial_seed
from research.optimize._fold import (
    concat_frames,
    fold_frame,
    fold_windows,
    judge_pick,
    pick_trial,
    stitch_folds,
)
from research.optimize._search import make_plan, paused_gc, run_search
from research.optimize._setup import (
    PRUNERS,
    StudyPlan,
    WalkForwardSetup,
    check_arguments,
    plan_studies,
    slug,
)
from research.optimize._workers import Workers
from research.optimize.evaluate import EvalContext
from research.optimize.objectives import Objective
from research.optimize.results import FoldResult, WalkForwardResult
from research.optimize.storage import TrialStore, safe_url
from research.overfitting.efficiency import sharpe_efficiency

__all__ = ["walk_forward_optimize", "check_study_code", "PRUNERS"]


def walk_forward_optimize(
    strategy_cls: Any,
    bars: Any,
    *,
    splitter: Any,
    optimizer: str | Optimizer = "tpe",
    n_trials: int = 100,
    objective: str | Sequence[str] | Objective | Sequence[Objective] = "sharpe_ratio",
    directions: str | Sequence[str] | None = None,
    guardrails: Any = None,
    costs: Any = None,
    execution: str | Execution = "next-open",
    direction: str | None = None,
    init_cash: float | None = None,
    seed: int = 0,
    storage: str | None = None,
    study_name: str | None = None,
    run_dir: str | Path | None = None,
    workers: int = 1,
    scheduler: Any = None,
    warm_start: Sequence[Mapping[str, Any]] | None = None,
    inner_validation: float | None = None,
    inner_top_k: int = 10,
    fidelity: str | None = None,
    pruner: str | None = None,
    reduction_factor: int = 3,
    batch_size: int | None = None,
    timeout: float | None = None,
    trial_timeout: float | None = None,
    allow_changed_code: bool = False,
    progress: bool = True,
    features: pd.DataFrame | None = None,
    periods_per_year: float | None = None,
    optimizer_options: Mapping[str, Any] | None = None,
) -> WalkForwardResult:
    """Optimize ``strategy_cls`` fold by fold and evaluate each fold's pick out of sample.

    Args:
        strategy_cls: a :class:`strategies.Strategy` subclass, or its registry name / ``file.py:Class``.
        bars: bars (DataFrame), or ``dict[symbol, DataFrame]`` for a multi-asset strategy.
        splitter: a :class:`backtest.splitters.WalkForward` (anything with ``split(index)``
            returning folds with ``number``, ``train`` and ``test`` position slices).
        optimizer: a registry name (``tpe`` default, ``cmaes``, ``gp``, ``random``, ``grid``,
            ``nsga2``, ``ga``, ``deap_nsga2``) or an :class:`Optimizer` instance.
        n_trials: trials per fold (a finite grid caps it at its size).
        objective: a metric (``sharpe_ratio``), ``psr``, an expression over metric names
            (``"sharpe_ratio - 0.5 * abs(max_drawdown)"``), a callable
            ``fn(metrics, returns) -> float``, or a list of these (multi-objective); see
            :mod:`research.optimize.derived`.
        directions: ``maximize``/``minimize`` per objective (defaults per metric).
        guardrails: :class:`Guardrails`, a mapping (``min_trades``, ``max_drawdown`` as a
            positive fraction, ``max_turnover``) or None. Infeasible trials are never picked.
        costs: :class:`backtest.Costs` (default ``Costs()``); ``execution``, ``direction``
            (default ``both``), ``init_cash`` (default 100 000): as in
            :func:`backtest.run_backtest`. Or ``execution`` is a
            :class:`backtest.execution.Execution` holding all of them and ``periods_per_year``
            (then leave those four unset).
        seed: seeds every sampler; the same seed gives the same trials and picks with any number
            of workers.
        storage: Optuna RDB URL (``postgresql://user@host/db`` for several hosts); None: SQLite
            ``<run_dir>/optuna.db``.
        study_name: base name of the folds' studies (default: derived from the configuration).
        run_dir: folder of the default SQLite storage and of DEAP checkpoints (default
            ``runs/optimize/<study_name>``).
        workers: parallel evaluations in a local process pool (1: in-process).
        scheduler: Dask scheduler address (``"tcp://host:8786"``) or ``distributed.Client``.
        warm_start: parameter sets tried first in every fold (last champion, user seeds,
            :func:`research.optimize.storage.best_params` of a previous study).
        inner_validation: fraction of each train window held out to choose among the best
            trials (see module docstring); None: pick on the search objective.
        inner_top_k: how many best trials the inner validation chooses among.
        fidelity: None, ``"fractions"`` (report at 1/8, 1/4, 1/2 and all of the window) or
            ``"folds"`` (report after each of 4 inner folds; value = mean objective). Default
            ``"fractions"`` when a pruner is set.
        pruner: None, ``"hyperband"`` or ``"sha"`` (successive halving); Optuna optimizers only,
            one objective.
        reduction_factor: the pruner's reduction factor (default 3: with the ``fractions`` steps
            Hyperband checks rungs at 1/8 and 1/2 of the window; 2 prunes at 1/8, 1/4 and 1/2
            and, in ``benchmarks/bench_optimize.py``, seldom reaches the unpruned run's best).
        batch_size: candidates asked and evaluated together (default: the optimizer's, e.g. 16
            for TPE, one generation for CMA-ES / NSGA-II / DEAP).
        timeout: seconds per fold after which no new batch is started (makes the trial count
            depend on speed).
        trial_timeout: seconds one trial's evaluation may take; past it the trial is stopped
            and recorded as failed with the reason, and the search goes on (evaluations then
            run in child processes that can be stopped, with one worker too). None: no limit.
        allow_changed_code: reopen a study whose trials were made by other code (an edited
            strategy file or another version of numpy, pandas, numba, vectorbt, optuna or
            scipy); by default that is refused with a ConfigError saying what changed.
        progress: a progress bar per fold (only on a terminal).
        features: feature matrix aligned with the bars, passed to the strategy.
        periods_per_year: annualisation of every metric (default 252, daily stock bars).
        optimizer_options: options of a named optimizer (e.g. ``{"population_size": 40}``).

    Returns:
        :class:`WalkForwardResult`.

    Raises:
        ParameterError: bad arguments (the message names the argument, rule and value).
        ConfigError: a study of the same name made by another configuration; an unreachable
            storage or scheduler; an optimizer whose dependency is missing.
        DataTooShortError: folds too short for the fidelity plan.
    """
    given = dict(locals())  # the arguments, handed on by name to the steps that take them
    setup = check_arguments(**_named(check_arguments, given))
    plan = plan_studies(setup, **_named(plan_studies, given))
    ctx = EvalContext(
        setup.strategy_cls, setup.bars, setup.features, setup.execution, derived=setup.derived
    )
    outcomes = []
    # the cyclic GC stays paused over the folds' searches and tables (their trials are
    # thousands of small dicts; see research.optimize._search.paused_gc)
    with paused_gc():
        with Workers(
            ctx, workers=workers, scheduler=scheduler, trial_timeout=trial_timeout
        ) as pool:
            for fold in plan.folds:
                outcomes.append(_search_fold(setup, plan, ctx, pool, fold))
        return _assemble(setup, plan, outcomes)


def _named(step: Any, given: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``given`` that ``step`` takes as parameters (by name)."""
    return {k: given[k] for k in inspect.signature(step).parameters if k in given}


def check_study_code(strategy_cls: Any, bars: Any, **kwargs: Any) -> None:
    """Without searching: raise the ConfigError :func:`walk_forward_optimize` (same arguments)
    would raise on reopening a study whose trials other code made (an edited strategy file,
    other library versions). Studies not yet in the storage are not created."""
    from research.optimize.storage import TrialStore, open_storage

    if kwargs.pop("allow_changed_code", False):
        return
    own = {k: kwargs.pop(k, None) for k in ("splitter", "study_name", "storage", "run_dir")}
    for k in ("workers", "scheduler", "trial_timeout"):
        kwargs.pop(k, None)
    defaults = {"inner_validation": None, "inner_top_k": 10, "fidelity": None,
                "reduction_factor": 3, "batch_size": None, "timeout": None, "costs": None,
                "direction": None, "init_cash": None, "periods_per_year": None}  # fmt: skip
    setup = check_arguments(strategy_cls, bars, **{**defaults, **kwargs, "progress": False})
    plan = plan_studies(
        setup, own["splitter"], study_name=own["study_name"], storage=own["storage"],
        run_dir=own["run_dir"],
    )  # fmt: skip
    storage = open_storage(plan.url)
    names = {s.study_name: s for s in storage.get_all_studies()}
    for fold in plan.folds:
        study = names.get(f"{plan.study_name}.fold{int(fold.number)}")
        if study is not None:
            store = TrialStore(plan.url, study.study_name, [], plan.study_attrs)
            store.check_code(study.user_attrs.get("code_identity"))


@dataclass
class _FoldOutcome:
    """What one fold's search hands to :func:`_assemble`."""

    result: FoldResult
    frame: pd.DataFrame
    front: pd.DataFrame | None


def _search_fold(
    setup: WalkForwardSetup, plan: StudyPlan, ctx: EvalContext, pool: Workers, fold: Any
) -> _FoldOutcome:
    """Search one fold's train window in its own study, pick a trial and judge the pick."""
    k = int(fold.number)
    name = f"{plan.study_name}.fold{k}"
    search_window, val_window = fold_windows(fold, setup.inner_validation)
    fidelity_plan = make_plan(setup.fidelity, search_window, val_window)
    objectives = setup.objectives
    store = TrialStore(
        plan.url,
        name,
        [o.direction for o in objectives],
        {**plan.study_attrs, "fold": k},
        allow_changed_code=plan.allow_changed_code,
    ).open()
    problem = dataclasses.replace(
        plan.problem,
        study_name=name,
        seed=trial_seed(setup.seed, k),
        pruner=setup.pruner,
        max_step=fidelity_plan.steps[-1].step,
        reduction_factor=setup.reduction_factor,
        checkpoint=plan.run_path / "checkpoints" / f"{slug(name)}.json",
        study_system_attrs=store.study_system_attrs(),
    )
    opt: Optimizer = type(setup.optimizer)(**setup.optimizer.options)
    opt.setup(problem)
    search = run_search(
        fold=k,
        optimizer=opt,
        problem=problem,
        store=store,
        workers=pool,
        plan=fidelity_plan,
        guardrails=setup.guardrails,
        n_trials=setup.n_trials,
        batch_size=plan.batch_size,
        timeout=setup.timeout,
        progress=setup.progress,
    )
    frame = fold_frame(search.trials, k, name, setup.space, objectives)
    validation = setup.inner_validation is not None
    pick, front = pick_trial(frame, objectives, validation, setup.inner_top_k)
    result = judge_pick(ctx, fold, pick, frame, search, name, plan.index)
    return _FoldOutcome(result, frame, front if len(objectives) > 1 else None)


def _assemble(
    setup: WalkForwardSetup, plan: StudyPlan, outcomes: Sequence[_FoldOutcome]
) -> WalkForwardResult:
    """Stitch the folds' out-of-sample returns and compute the walk-forward efficiency: the
    stitched OOS annualised Sharpe over the mean IS Sharpe of the folds with a pick."""
    from backtest.metrics import sharpe_ratio

    folds = [o.result for o in outcomes]
    trials = concat_frames([o.frame for o in outcomes])
    oos_returns, oos_positions = stitch_folds(folds)
    ppy = setup.execution.periods_per_year
    is_sharpes = [
        f.is_metrics.get("sharpe_ratio", math.nan) for f in folds if f.best_params is not None
    ]
    oos_sharpe = (
        float(sharpe_ratio(oos_returns.to_numpy(), periods_per_year=ppy))
        if len(oos_returns)
        else math.nan
    )
    wfe = sharpe_efficiency(oos_sharpe, float(np.mean(is_sharpes)) if is_sharpes else math.nan)
    objectives: Sequence[Objective] = setup.objectives
    pareto = None
    if len(objectives) > 1:
        parts = [o.front for o in outcomes if o.front is not None]
        pareto = pd.concat(parts, ignore_index=True) if parts else trials.iloc[0:0]
    return WalkForwardResult(
        strategy=setup.strategy_cls.label(),
        optimizer=setup.optimizer.name,
        folds=folds,
        oos_returns=oos_returns,
        oos_positions=oos_positions,
        trials=trials,
        final_params=folds[-1].best_params if folds else None,
        wfe=wfe,
        study_names=[f"{plan.study_name}.fold{int(f.number)}" for f in plan.folds],
        seed=setup.seed,
        objectives=[(o.metric, o.direction) for o in objectives],
        pareto=pareto,
        storage=safe_url(plan.url),
        strategy_cls=setup.strategy_cls,
        config={**plan.config, "config_hash": plan.config_hash, "study_name": plan.study_name},
        periods_per_year=float(ppy),
    )
