"""Walk-forward optimization: search each fold's in-sample window, judge the pick out of sample.

For each fold of ``splitter.split(bars.index)``:

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
import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backtest.execution import Execution
from data_loaders.bars import bars_index
from data_loaders.errors import DataValidationError, ParameterError
from research._version import code_version_text
from research.optimize._base import QR_ATTR, Optimizer, Problem, trial_seed
from research.optimize._progress import FoldProgress
from research.optimize._search import FIDELITIES, FoldSearch, Plan, make_plan, run_search
from research.optimize._workers import Workers
from research.optimize.evaluate import EvalContext, EvalTask, run_task
from research.optimize.objectives import (
    METRICS,
    Guardrails,
    Objective,
    pareto_mask,
    resolve_objectives,
)
from research.optimize.results import FoldResult, WalkForwardResult, efficiency
from research.optimize.space import SearchSpace
from research.optimize.storage import (
    TrialStore,
    data_fingerprint,
    default_storage_url,
    jsonable,
    safe_url,
)

__all__ = ["walk_forward_optimize", "PRUNERS"]

#: accepted ``pruner`` names -> canonical name
PRUNERS = {"hyperband": "hyperband", "sha": "sha", "successive_halving": "sha"}


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
    execution: str = "next-open",
    direction: str = "both",
    init_cash: float = 100_000.0,
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
    reduction_factor: int = 2,
    batch_size: int | None = None,
    timeout: float | None = None,
    progress: bool = True,
    features: pd.DataFrame | None = None,
    periods_per_year: float = 252,
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
        objective: a metric (``sharpe_ratio``) or a list of metrics (multi-objective).
        directions: ``maximize``/``minimize`` per objective (defaults per metric).
        guardrails: :class:`Guardrails`, a mapping (``min_trades``, ``max_drawdown`` as a
            positive fraction, ``max_turnover``) or None. Infeasible trials are never picked.
        costs: :class:`backtest.Costs` (default ``Costs()``); ``execution``, ``direction``,
            ``init_cash``: as in :func:`backtest.run_backtest`.
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
        reduction_factor: the pruner's reduction factor.
        batch_size: candidates asked and evaluated together (default: the optimizer's, e.g. 16
            for TPE, one generation for CMA-ES / NSGA-II / DEAP).
        timeout: seconds per fold after which no new batch is started (makes the trial count
            depend on speed).
        progress: a progress bar per fold (only on a terminal).
        features: feature matrix aligned with the bars, passed to the strategy.
        periods_per_year: annualisation of every metric (252 for daily bars).
        optimizer_options: options of a named optimizer (e.g. ``{"population_size": 40}``).

    Returns:
        :class:`WalkForwardResult`.

    Raises:
        ParameterError: bad arguments (the message names the argument, rule and value).
        ConfigError: a study of the same name made by another configuration; an unreachable
            storage or scheduler; an optimizer whose dependency is missing.
        DataTooShortError: folds too short for the fidelity plan.
    """
    from backtest.costs import Costs

    cls = _resolve_strategy(strategy_cls)
    _check_bars(cls, bars)
    costs = Costs() if costs is None else costs
    if not isinstance(costs, Costs):
        raise ParameterError(f"`costs` must be a backtest.Costs, got {type(costs).__name__}")
    features = _check_features(features, bars)
    space = SearchSpace(cls)
    objectives = resolve_objectives(objective, directions)
    rails = Guardrails.coerce(guardrails)
    opt = _resolve_optimizer(optimizer, optimizer_options)
    n_trials = _positive_int(n_trials, "n_trials")
    inner_top_k = _positive_int(inner_top_k, "inner_top_k")
    pruner_name = _resolve_pruner(pruner, objectives)
    if fidelity not in FIDELITIES:
        raise ParameterError(f"`fidelity` must be None, 'fractions' or 'folds', got {fidelity!r}")
    if pruner_name is not None and fidelity is None:
        fidelity = "fractions"
    if inner_validation is not None and not (
        isinstance(inner_validation, int | float) and 0 < inner_validation < 1
    ):
        raise ParameterError(
            f"`inner_validation` must be a fraction in (0, 1), got {inner_validation!r}"
        )
    rf = _positive_int(reduction_factor, "reduction_factor")
    if rf < 2:
        raise ParameterError(f"`reduction_factor` must be >= 2, got {reduction_factor!r}")
    if batch_size is not None:
        batch_size = _positive_int(batch_size, "batch_size")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ParameterError(f"`seed` must be an int, got {seed!r}")
    warm = _warm_starts(cls, space, warm_start)

    index = bars_index(bars)
    folds = list(splitter.split(index))
    _check_folds(folds)
    fp = data_fingerprint(bars, features)
    constraint_names = ("params", *rails.names)
    problem0 = Problem(space, objectives, constraint_names, warm_start=warm)
    default_batch = opt.default_batch_size(problem0)
    config = {
        "strategy": cls.label(),
        "strategy_class": f"{cls.__module__}.{cls.__qualname__}",
        "space": {name: repr(p) for name, p in space.params.items()},
        "constraints": list(cls.constraints),
        "optimizer": opt.name,
        "options": opt.options_key(),
        "objectives": [[o.metric, o.direction] for o in objectives],
        "guardrails": dataclasses.asdict(rails),
        "costs": repr(costs),
        "execution": execution,
        "direction": direction,
        "init_cash": float(init_cash),
        "periods_per_year": float(periods_per_year),
        "seed": int(seed),
        "splitter": repr(splitter),
        "folds": [[f.train.start, f.train.stop, f.test.start, f.test.stop] for f in folds],
        "fidelity": fidelity,
        "pruner": pruner_name,
        "reduction_factor": rf,
        "inner_validation": inner_validation,
        "inner_top_k": inner_top_k,
        "batch_size": batch_size or default_batch,
        "warm_start": jsonable(list(warm)),
        "data_fingerprint": fp,
    }
    config_hash = hashlib.sha256(
        json.dumps(config, sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    if study_name is None:
        study_name = f"{_slug(cls.label())}-{opt.name}-s{int(seed)}-{config_hash[:10]}"
    elif not isinstance(study_name, str) or not study_name:
        raise ParameterError(f"`study_name` must be a non-empty string, got {study_name!r}")
    run_path = (
        Path(run_dir) if run_dir is not None else Path("runs") / "optimize" / _slug(study_name)
    )
    url = storage if storage is not None else default_storage_url(run_path)
    if not isinstance(url, str):
        raise ParameterError(f"`storage` must be a database URL string or None, got {url!r}")
    base_attrs = {"seed": int(seed), "data_fingerprint": fp, "code_version": code_version_text()}

    ctx = EvalContext(
        strategy_cls=cls,
        bars=bars,
        features=features,
        execution=Execution(
            costs=costs,
            fill=execution,
            direction=direction,
            init_cash=float(init_cash),
            periods_per_year=float(periods_per_year),
        ),
    )
    fold_results: list[FoldResult] = []
    rows: list[dict[str, Any]] = []
    pareto_parts: list[pd.DataFrame] = []
    names: list[str] = []
    with Workers(ctx, workers=workers, scheduler=scheduler) as pool:
        for fold in folds:
            k = int(fold.number)
            name = f"{study_name}.fold{k}"
            names.append(name)
            search_window, val_window = _windows(fold, inner_validation)
            plan = make_plan(fidelity, search_window, val_window)
            store = TrialStore(
                url,
                name,
                [o.direction for o in objectives],
                {
                    "config_hash": config_hash,
                    "config": config,
                    "strategy": cls.label(),
                    "optimizer": opt.name,
                    "seed": int(seed),
                    "fold": k,
                    "data_fingerprint": fp,
                    "code_version": base_attrs["code_version"],
                },
            ).open()
            problem = dataclasses.replace(
                problem0,
                study_name=name,
                seed=trial_seed(int(seed), k),
                pruner=pruner_name,
                max_step=plan.steps[-1].step,
                reduction_factor=rf,
                checkpoint=run_path / "checkpoints" / f"{_slug(name)}.pkl",
                study_system_attrs=store.study_system_attrs(),
            )
            fold_opt = type(opt)(**opt.options)
            fold_opt.setup(problem)
            bar = FoldProgress(k, min(n_trials, fold_opt.max_trials(problem) or n_trials), progress)
            try:
                search = run_search(
                    fold=k,
                    optimizer=fold_opt,
                    problem=problem,
                    store=store,
                    workers=pool,
                    plan=plan,
                    guardrails=rails,
                    n_trials=n_trials,
                    batch_size=batch_size or default_batch,
                    timeout=timeout,
                    progress=bar,
                    base_attrs=base_attrs,
                )
            finally:
                bar.close()
            fold_rows = [_row(t, k, name, space, objectives) for t in search.trials]
            rows.extend(fold_rows)
            frame = _frame(fold_rows)
            pick, front = _pick(frame, objectives, inner_validation is not None, inner_top_k)
            if len(objectives) > 1 and front is not None:
                pareto_parts.append(front)
            fold_results.append(
                _judge(ctx, fold, pick, frame, search, plan, name, objectives, index)
            )

    trials = _frame(rows)
    oos_returns, oos_positions = _stitch(fold_results)
    from backtest.metrics import sharpe_ratio

    is_sharpes = [
        f.is_metrics.get("sharpe_ratio", math.nan)
        for f in fold_results
        if f.best_params is not None
    ]
    oos_sharpe = (
        float(sharpe_ratio(oos_returns.to_numpy(), periods_per_year=periods_per_year))
        if len(oos_returns)
        else math.nan
    )
    wfe = efficiency(oos_sharpe, float(np.mean(is_sharpes)) if is_sharpes else math.nan)
    pareto = None
    if len(objectives) > 1:
        pareto = pd.concat(pareto_parts, ignore_index=True) if pareto_parts else trials.iloc[0:0]
    return WalkForwardResult(
        strategy=cls.label(),
        optimizer=opt.name,
        folds=fold_results,
        oos_returns=oos_returns,
        oos_positions=oos_positions,
        trials=trials,
        final_params=fold_results[-1].best_params if fold_results else None,
        wfe=wfe,
        study_names=names,
        seed=int(seed),
        objectives=[(o.metric, o.direction) for o in objectives],
        pareto=pareto,
        storage=safe_url(url),
        strategy_cls=cls,
        config={**config, "config_hash": config_hash, "study_name": study_name},
        periods_per_year=float(periods_per_year),
    )


# --- argument checks ----------------------------------------------------------------------------
def _resolve_strategy(strategy: Any) -> Any:
    from strategies.base import Strategy

    if isinstance(strategy, str):
        from strategies.registry import get_strategy

        strategy = get_strategy(strategy)
    if not (isinstance(strategy, type) and issubclass(strategy, Strategy)):
        raise ParameterError(
            f"`strategy_cls` must be a Strategy subclass or a registry name, got {strategy!r}"
        )
    return strategy


def _resolve_optimizer(optimizer: Any, options: Mapping[str, Any] | None) -> Optimizer:
    from research.optimize import get_optimizer

    if isinstance(optimizer, Optimizer):
        if options:
            raise ParameterError("pass `optimizer_options` only with an optimizer name")
        optimizer.check_options()
        optimizer.check_available()
        return optimizer
    if not isinstance(optimizer, str):
        raise ParameterError(
            f"`optimizer` must be a registry name or an Optimizer, got {type(optimizer).__name__}"
        )
    return get_optimizer(optimizer, **dict(options or {}))


def _resolve_pruner(pruner: Any, objectives: Sequence[Objective]) -> str | None:
    if pruner is None:
        return None
    if pruner not in PRUNERS:
        raise ParameterError(f"`pruner` must be one of {sorted(PRUNERS)} or None, got {pruner!r}")
    if len(objectives) > 1:
        raise ParameterError(
            "pruning needs one objective; drop `pruner` for multi-objective search"
        )
    return PRUNERS[pruner]


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ParameterError(f"`{name}` must be an int >= 1, got {value!r}")
    return int(value)


def _check_bars(cls: Any, bars: Any) -> None:
    frames = bars.values() if isinstance(bars, Mapping) else [bars]
    if isinstance(bars, Mapping) != bool(cls.multi_asset):
        kind = "a dict of bars per symbol" if cls.multi_asset else "one DataFrame of bars"
        raise DataValidationError(f"{cls.label()} needs {kind}, got {type(bars).__name__}")
    for df in frames:
        if not isinstance(df, pd.DataFrame):
            raise DataValidationError(f"bars must be DataFrames, got {type(df).__name__}")
        missing = [c for c in ("open", "close") if c not in df.columns]
        if missing:
            raise DataValidationError(f"bars lack column(s) {missing}; columns: {list(df.columns)}")


def _check_features(features: Any, bars: Any) -> pd.DataFrame | None:
    if features is None:
        return None
    if not isinstance(features, pd.DataFrame):
        raise DataValidationError(f"`features` must be a DataFrame, got {type(features).__name__}")
    if not features.index.equals(bars_index(bars)):
        raise DataValidationError(
            f"`features` must be indexed like the bars ({len(bars_index(bars))} rows), got "
            f"{len(features)} rows with a different index"
        )
    return features


def _warm_starts(cls: Any, space: SearchSpace, warm: Any) -> tuple[dict[str, Any], ...]:
    if warm is None:
        return ()
    if isinstance(warm, Mapping):
        warm = [warm]
    out = []
    for i, params in enumerate(warm):
        if not isinstance(params, Mapping):
            raise ParameterError(f"`warm_start[{i}]` must be a dict of params, got {params!r}")
        try:
            cls(**dict(params))
        except ParameterError as exc:
            raise ParameterError(f"`warm_start[{i}]`: {exc}") from None
        out.append(space.complete(params))
    return tuple(out)


def _check_folds(folds: Sequence[Any]) -> None:
    if not folds:
        raise ParameterError("the splitter produced no folds")
    for prev, cur in zip(folds, folds[1:]):
        if cur.test.start < prev.test.stop:
            raise ParameterError(
                f"test windows of folds {prev.number} and {cur.number} overlap; stitched "
                "out-of-sample returns need `step` >= `test`"
            )


def _windows(
    fold: Any, inner_validation: float | None
) -> tuple[tuple[int, int], tuple[int, int] | None]:
    a, b = int(fold.train.start), int(fold.train.stop)
    if inner_validation is None:
        return (a, b), None
    n_val = max(1, int(round((b - a) * float(inner_validation))))
    if b - a - n_val < 2:
        raise ParameterError(
            f"`inner_validation`={inner_validation} leaves {b - a - n_val} bars to search in "
            f"fold {fold.number}'s {b - a}-bar train window"
        )
    return (a, b - n_val), (b - n_val, b)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "study"


# --- trials table ---------------------------------------------------------------------------------
def _row(
    t: Any, fold: int, study: str, space: SearchSpace, objectives: Sequence[Objective]
) -> dict[str, Any]:
    qr = t.user_attrs.get(QR_ATTR, {})
    params = space.complete(t.params)
    values = qr.get("objective") or [None] * len(objectives)
    val_values = qr.get("val_objective") or [None] * len(objectives)
    row: dict[str, Any] = {
        "fold": fold,
        "number": int(t.number),
        "state": qr.get("status", "fail"),
        "feasible": bool(qr.get("feasible", False)),
        "reason": qr.get("reason", ""),
        "value": _num(values[0]),
    }
    for o, v, vv in zip(objectives, values, val_values):
        row[f"value_{o.metric}"] = _num(v)
        if qr.get("val_objective") is not None:
            row[f"val_value_{o.metric}"] = _num(vv)
    row["params"] = params
    for name, value in params.items():
        row[f"param_{name}"] = value
    metrics = t.user_attrs.get("metrics") or {}
    for m in METRICS:
        row[f"is_{m}"] = _num(metrics.get(m))
    val = t.user_attrs.get("val_metrics")
    if val is not None:
        for m in METRICS:
            row[f"val_{m}"] = _num(val.get(m))
    row.update(
        step=qr.get("step", 0),
        cost=float(qr.get("cost", 0.0)),
        batch=qr.get("batch", -1),
        study=study,
    )
    return row


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


def _frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame(
            columns=["fold", "number", "state", "feasible", "reason", "value", "params"]
        )
    return pd.DataFrame(list(rows))


def _pick(
    frame: pd.DataFrame, objectives: Sequence[Objective], validation: bool, top_k: int
) -> tuple[pd.Series | None, pd.DataFrame | None]:
    """The chosen trial row (None when no trial is feasible) and the Pareto front (or None)."""
    if frame.empty:
        return None, None
    cols = [f"value_{o.metric}" for o in objectives]
    ok = (frame["state"] == "complete") & frame["feasible"]
    ok &= np.all(np.isfinite(frame[cols].to_numpy(dtype=np.float64)), axis=1)
    cand = frame[ok]
    if cand.empty:
        return None, None
    front = None
    first = objectives[0]
    if len(objectives) > 1:
        mask = pareto_mask(cand[cols].to_numpy(dtype=np.float64), objectives)
        front = cand[mask]
        pool = front
    else:
        key = cand[cols[0]] * first.sign
        pool = (
            cand.assign(_key=-key)
            .sort_values(["_key", "number"], kind="stable")
            .drop(columns="_key")
        )
        if validation:
            pool = pool.head(top_k)
    if validation:
        vcol = f"val_value_{first.metric}"
        if vcol in pool:
            scored = pool[np.isfinite(pool[vcol].to_numpy(dtype=np.float64))]
            if not scored.empty:
                pool = (
                    scored.assign(_key=-scored[vcol] * first.sign)
                    .sort_values(["_key", "number"], kind="stable")
                    .drop(columns="_key")
                )
                return pool.iloc[0], front
    best = pool.assign(_key=-pool[cols[0]] * first.sign).sort_values(
        ["_key", "number"], kind="stable"
    )
    return best.iloc[0], front


def _judge(
    ctx: EvalContext,
    fold: Any,
    pick: pd.Series | None,
    frame: pd.DataFrame,
    search: FoldSearch,
    plan: Plan,
    study: str,
    objectives: Sequence[Objective],
    index: pd.Index,
) -> FoldResult:
    """Evaluate the pick in and out of sample and assemble the fold's result."""
    train, test = fold.train, fold.test
    states = frame["state"] if not frame.empty else pd.Series(dtype=object)
    out = FoldResult(
        fold=int(fold.number),
        train_range=range(train.start, train.stop),
        test_range=range(test.start, test.stop),
        train_period=(index[train.start], index[train.stop - 1]),
        test_period=(index[test.start], index[test.stop - 1]),
        best_params=None,
        best_number=-1,
        is_metrics={},
        oos_metrics={},
        oos_returns=pd.Series(0.0, index=index[test.start : test.stop], name="returns"),
        oos_positions=pd.Series(0.0, index=index[test.start : test.stop], name="position"),
        n_trials=int(len(frame)),
        n_pruned=int((states == "pruned").sum()),
        n_failed=int((states == "fail").sum()),
        n_feasible=int(((states == "complete") & frame["feasible"]).sum())
        if not frame.empty
        else 0,
        study_name=study,
        evaluated_bars=int(search.evaluated_bars),
        full_bars=int(search.full_bars),
        seconds=search.seconds,
        eval_seconds=search.eval_seconds,
        timings={
            "ask": search.ask_seconds,
            "eval": search.eval_seconds,
            "tell": search.tell_seconds,
            "store": search.store_seconds,
            "other": max(
                search.seconds
                - search.ask_seconds
                - search.eval_seconds
                - search.tell_seconds
                - search.store_seconds,
                0.0,
            ),
        },
    )
    if pick is None:
        return out
    params = dict(pick["params"])
    task = EvalTask(
        numbers=(int(pick["number"]),),
        params=(params,),
        stop=int(test.stop),
        windows=((int(train.start), int(train.stop)), (int(test.start), int(test.stop))),
        fit=(int(train.start), int(train.stop)),
        returns=True,
    )
    (res,), _ = run_task(ctx, task)
    out.best_params = params
    out.best_number = int(pick["number"])
    if res.error is not None:
        raise RuntimeError(
            f"fold {fold.number}: the pick {params} failed out of sample: {res.error}"
        )
    out.is_metrics, out.oos_metrics = res.metrics[0], res.metrics[1]
    out.val_metrics = {
        m[4:]: float(pick[m])
        for m in pick.index
        if m.startswith("val_") and not m.startswith("val_value")
    }
    test_index = index[test.start : test.stop]
    out.oos_returns = pd.Series(res.returns[1], index=test_index, name="returns")
    pos = res.positions[1]
    if pos.ndim == 2 and pos.shape[1] > 1 and isinstance(ctx.bars, Mapping):
        out.oos_positions = pd.DataFrame(pos, index=test_index, columns=list(ctx.bars))
    else:
        out.oos_positions = pd.Series(np.ravel(pos), index=test_index, name="position")
    out.wfe = efficiency(
        out.oos_metrics.get("sharpe_ratio", math.nan), out.is_metrics.get("sharpe_ratio", math.nan)
    )
    return out


def _stitch(folds: Sequence[FoldResult]) -> tuple[pd.Series, Any]:
    if not folds:
        return pd.Series(dtype=np.float64, name="returns"), pd.Series(dtype=np.float64)
    returns = pd.concat([f.oos_returns for f in folds])
    returns.name = "returns"
    positions = pd.concat([f.oos_positions for f in folds])
    return returns, positions
