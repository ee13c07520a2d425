"""The per-fold pieces of :func:`research.optimize.walk_forward_optimize`: the trials table,
the pick among a fold's trials, and its judgement in and out of sample (see the module
docstring of :mod:`research.optimize.walkforward` for the rules)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

from data_loaders.errors import ParameterError
from research.optimize._base import QR_ATTR
from research.optimize._search import FoldSearch
from research.optimize.evaluate import EvalContext, EvalTask, run_task
from research.optimize.objectives import METRICS, Objective, pareto_mask
from research.optimize.results import FoldResult
from research.optimize.space import SearchSpace
from research.overfitting.efficiency import sharpe_efficiency

__all__ = [
    "fold_windows",
    "trial_row",
    "trials_frame",
    "fold_frame",
    "concat_frames",
    "pick_trial",
    "judge_pick",
    "stitch_folds",
]


def fold_windows(
    fold: Any, inner_validation: float | None
) -> tuple[tuple[int, int], tuple[int, int] | None]:
    """The search window and the held-out validation window (None) of a fold's train window."""
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


def trial_row(
    t: Any, fold: int, study: str, space: SearchSpace, objectives: Sequence[Objective]
) -> dict[str, Any]:
    """One row of the trials table from a stored Optuna trial."""
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


def fold_frame(
    trials: Sequence[Any],
    fold: int,
    study: str,
    space: SearchSpace,
    objectives: Sequence[Objective],
) -> pd.DataFrame:
    """The trials table of one fold's stored trials, built column by column: equal to
    ``trials_frame([trial_row(t, fold, study, space, objectives) for t in trials])`` (same
    columns in the same order, values and dtypes) at a fraction of the cost."""
    if not trials:
        return trials_frame([])
    n = len(trials)
    qrs = [t.user_attrs.get(QR_ATTR, {}) for t in trials]
    k = len(objectives)
    values = [q.get("objective") or [None] * k for q in qrs]
    val_values = [q.get("val_objective") or [None] * k for q in qrs]
    has_val_value = [q.get("val_objective") is not None for q in qrs]
    val_metrics = [t.user_attrs.get("val_metrics") for t in trials]
    widths = [min(k, len(v), len(vv)) for v, vv in zip(values, val_values)]
    # a row's keys depend on its shape; columns come in order of first appearance over the
    # rows, as a frame made from the rows' dicts has them
    shapes = list(zip(widths, has_val_value, [m is not None for m in val_metrics]))
    order: dict[str, None] = {}
    for shape in dict.fromkeys(shapes):
        order.update(dict.fromkeys(_row_keys(shape, objectives, space)))
    nan = math.nan
    cols: dict[str, list[Any]] = {
        "fold": [fold] * n,
        "number": [int(t.number) for t in trials],
        "state": [q.get("status", "fail") for q in qrs],
        "feasible": [bool(q.get("feasible", False)) for q in qrs],
        "reason": [q.get("reason", "") for q in qrs],
        "value": [_num(v[0]) for v in values],
    }
    for i, o in enumerate(objectives):
        cols[f"value_{o.metric}"] = [_num(v[i]) if w > i else nan for v, w in zip(values, widths)]
        cols[f"val_value_{o.metric}"] = [
            _num(vv[i]) if w > i and h else nan
            for vv, w, h in zip(val_values, widths, has_val_value)
        ]
    completed: dict[tuple, dict[str, Any]] = {}  # the same params recur (a GA's elites)
    params = []
    for t in trials:
        key = tuple(t.params.items())
        full = completed.get(key)
        if full is None:
            full = completed[key] = space.complete(t.params)
        params.append(dict(full))
    cols["params"] = params
    for name in space.strategy_cls.space():
        cols[f"param_{name}"] = [p[name] for p in params]
    is_m = _metric_matrix([t.user_attrs.get("metrics") or {} for t in trials])
    val_m = _metric_matrix([d or {} for d in val_metrics])
    for j, m in enumerate(METRICS):
        cols[f"is_{m}"] = is_m[:, j]
    for j, m in enumerate(METRICS):
        cols[f"val_{m}"] = val_m[:, j]
    cols["step"] = [q.get("step", 0) for q in qrs]
    cols["cost"] = [float(q.get("cost", 0.0)) for q in qrs]
    cols["batch"] = [q.get("batch", -1) for q in qrs]
    cols["study"] = [study] * n
    return pd.DataFrame({name: cols[name] for name in order})


def _metric_matrix(dicts: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """``n x len(METRICS)`` floats of the metrics dicts (NaN for None or absent)."""
    out = np.full((len(dicts), len(METRICS)), np.nan)
    shapes = list(map(tuple, dicts))
    groups: dict[tuple[str, ...], Any] = {}
    if len(set(shapes)) == 1:  # the usual case: every dict has the same keys
        groups[shapes[0]] = range(len(dicts))
    else:
        for i, shape in enumerate(shapes):
            groups.setdefault(shape, []).append(i)
    for shape, rows in groups.items():
        keys = set(shape)
        cols = [j for j, m in enumerate(METRICS) if m in keys]
        if not cols:
            continue
        get = itemgetter(*(METRICS[j] for j in cols), METRICS[cols[0]])  # always a tuple
        picked = dicts if len(rows) == len(dicts) else [dicts[i] for i in rows]
        block = np.array([get(d)[:-1] for d in picked], dtype=np.float64)
        out[np.ix_(list(rows), cols)] = block.reshape(len(picked), len(cols))
    return out


def _row_keys(
    shape: tuple[int, bool, bool], objectives: Sequence[Objective], space: SearchSpace
) -> list[str]:
    """The keys :func:`trial_row` gives a row of this shape (objectives it lists, whether it
    has validation objective values, whether it has validation metrics), in its order."""
    width, val_value, val = shape
    keys = ["fold", "number", "state", "feasible", "reason", "value"]
    for o in objectives[:width]:
        keys.append(f"value_{o.metric}")
        if val_value:
            keys.append(f"val_value_{o.metric}")
    keys.append("params")
    keys += [f"param_{name}" for name in space.strategy_cls.space()]
    keys += [f"is_{m}" for m in METRICS]
    if val:
        keys += [f"val_{m}" for m in METRICS]
    return keys + ["step", "cost", "batch", "study"]


def concat_frames(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The folds' trials tables end to end (what one frame of all their rows gives); empty
    tables add no rows (nor dtypes)."""
    parts = [f for f in frames if not f.empty]
    if not parts:
        return trials_frame([])
    if len(parts) == 1:
        return parts[0].reset_index(drop=True)
    return pd.concat(parts, ignore_index=True)


def trials_frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The trials table of ``rows`` (the basic columns when there is none)."""
    if not rows:
        return pd.DataFrame(
            columns=["fold", "number", "state", "feasible", "reason", "value", "params"]
        )
    return pd.DataFrame(list(rows))


def pick_trial(
    frame: pd.DataFrame, objectives: Sequence[Objective], validation: bool, top_k: int
) -> tuple[pd.Series | None, pd.DataFrame | None]:
    """The chosen trial row (None when no trial is feasible) and the Pareto front (or None)."""
    if frame.empty:
        return None, None
    cols = [f"value_{o.metric}" for o in objectives]
    ok = (frame["state"] == "complete") & frame["feasible"]
    ok &= np.all(np.isfinite(frame[cols].to_numpy(dtype=np.float64)), axis=1)
    if len(objectives) == 1 and not validation:  # the best value, ties to the lowest number
        rows = np.flatnonzero(ok.to_numpy(dtype=bool))
        if not len(rows):
            return None, None
        key = -objectives[0].sign * frame[cols[0]].to_numpy(dtype=np.float64)[rows]
        numbers = frame["number"].to_numpy()[rows]
        return frame.iloc[rows[np.lexsort((numbers, key))[0]]], None
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


def judge_pick(
    ctx: EvalContext,
    fold: Any,
    pick: pd.Series | None,
    frame: pd.DataFrame,
    search: FoldSearch,
    study: str,
    index: pd.Index,
) -> FoldResult:
    """Evaluate the pick in and out of sample and assemble the fold's result."""
    out = _unpicked_result(fold, frame, search, study, index)
    if pick is None:
        return out
    train, test = fold.train, fold.test
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
    out.wfe = sharpe_efficiency(
        out.oos_metrics.get("sharpe_ratio", math.nan), out.is_metrics.get("sharpe_ratio", math.nan)
    )
    return out


def _unpicked_result(
    fold: Any, frame: pd.DataFrame, search: FoldSearch, study: str, index: pd.Index
) -> FoldResult:
    """The fold's result before a pick is judged: counts, timings, flat OOS returns."""
    train, test = fold.train, fold.test
    states = frame["state"] if not frame.empty else pd.Series(dtype=object)
    return FoldResult(
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


def stitch_folds(folds: Sequence[FoldResult]) -> tuple[pd.Series, Any]:
    """The folds' out-of-sample returns and positions, end to end."""
    if not folds:
        return pd.Series(dtype=np.float64, name="returns"), pd.Series(dtype=np.float64)
    returns = pd.concat([f.oos_returns for f in folds])
    returns.name = "returns"
    positions = pd.concat([f.oos_positions for f in folds])
    return returns, positions
