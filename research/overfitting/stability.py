"""Parameter stability: is the pick on a plateau or on a spike?

The neighbourhood of a pick is every parameter set within ``k`` steps of it along each declared
numeric parameter (steps from the declaration: the ``step`` of an ``Int``/stepped ``Float``,
``(high - low) / float_steps`` for a continuous ``Float``, a factor
``(high / low) ** (1 / float_steps)`` on a log scale). Categorical parameters are held at the
pick's value unless ``vary_categorical=True`` (then every other choice is a neighbour), inactive
conditional parameters are never varied, and neighbours that break a constraint or leave the
bounds are dropped.

The **plateau score** is ``median(neighbour metric) / pick metric`` clipped to ``[0, 1]``
(0 when the pick's metric is not positive: there is no edge whose stability could be measured).
1 means the neighbours do as well as the pick (a plateau); near 0 means the pick is a spike.

Two ways to get the neighbours' metric:

* :func:`parameter_stability` calls ``evaluate(list_of_param_dicts) -> metrics`` (plug in a
  batch backtester);
* :func:`parameter_stability_from_trials` reuses already-evaluated trials (an Optuna
  ``study.trials_dataframe()`` or any frame with one column per parameter and a metric column).

:func:`stability_heatmap` gives a 2-D table of the metric over two chosen parameters.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from data_loaders.errors import DataValidationError, ParameterError, did_you_mean
from strategies.params import (
    Categorical,
    Constraint,
    Param,
    constraint_violations,
    parse_constraint,
)

__all__ = [
    "StabilityResult",
    "neighbourhood",
    "parameter_stability",
    "parameter_stability_from_trials",
    "stability_heatmap",
    "resolve_space",
    "step_info",
    "trial_params",
]


@dataclass
class StabilityResult:
    """Outcome of the parameter-stability checks: the table of the pick and its neighbours; the
    summary numbers are read off it (the neighbours: the rows after the pick whose ``value`` is
    finite).

    Attributes:
        table: one row per parameter set (the pick first) with the parameters, ``value``,
            ``is_pick`` and ``steps`` (largest distance from the pick, in steps).
        sampled: whether the neighbourhood was a random subset (more than ``max_neighbours``).
        score: plateau score in ``[0, 1]`` (NaN when there are no neighbours).
        pick_value: the pick's metric.
        neighbour_median, neighbour_mean, neighbour_min: statistics of the neighbours' metric.
        share_above_half: share of neighbours whose metric is at least half the pick's.
        n_neighbours: number of neighbours evaluated or found.
    """

    table: pd.DataFrame
    sampled: bool = False

    @property
    def pick_value(self) -> float:
        return float(self.table["value"].iloc[0])

    @property
    def n_neighbours(self) -> int:
        return int(self._neighbours.size)

    @property
    def score(self) -> float:
        if self.n_neighbours == 0:
            return math.nan
        pick = self.pick_value
        return float(np.clip(self.neighbour_median / pick, 0.0, 1.0)) if pick > 0 else 0.0

    @property
    def neighbour_median(self) -> float:
        return self._summary(np.median)

    @property
    def neighbour_mean(self) -> float:
        return self._summary(np.mean)

    @property
    def neighbour_min(self) -> float:
        return self._summary(np.min)

    @property
    def share_above_half(self) -> float:
        if self.n_neighbours == 0:
            return math.nan
        pick = self.pick_value
        return float(np.mean(self._neighbours >= 0.5 * pick)) if pick > 0 else 0.0

    @property
    def _neighbours(self) -> np.ndarray:
        """The neighbours' finite metric values."""
        neigh = self.table["value"].to_numpy(dtype=float)[1:]
        return neigh[np.isfinite(neigh)]

    def _summary(self, stat: Callable[[np.ndarray], Any]) -> float:
        neigh = self._neighbours
        return float(stat(neigh)) if neigh.size else math.nan


# --------------------------------------------------------------------------------------------
# space handling
# --------------------------------------------------------------------------------------------
def resolve_space(
    space: Any, constraints: Sequence[Constraint | str] = ()
) -> tuple[dict[str, Param], list[Constraint]]:
    """Accept a ``{name: Param}`` mapping or a ``Strategy`` subclass; parse string constraints."""
    parsed: list[Constraint] = []
    if isinstance(space, type) and hasattr(space, "space") and hasattr(space, "parsed_constraints"):
        params = dict(space.space())
        parsed.extend(space.parsed_constraints())
    elif isinstance(space, Mapping):
        params = dict(space)
    else:
        raise ParameterError(
            "`space` must be a {name: Param} mapping or a Strategy subclass, "
            f"got {type(space).__name__}"
        )
    for name, p in params.items():
        if not isinstance(p, Param):
            raise ParameterError(
                f"`space[{name!r}]` must be an Int, Float or Categorical, got {type(p).__name__}"
            )
    for c in constraints:
        parsed.append(c if isinstance(c, Constraint) else parse_constraint(c, list(params)))
    return params, parsed


def _check_best(best_params: Mapping[str, Any], space: Mapping[str, Param]) -> dict[str, Any]:
    for name in best_params:
        if name not in space:
            raise ParameterError(
                f"`best_params` has unknown parameter {name!r}{did_you_mean(name, space)}"
            )
    best = {}
    for name, p in space.items():
        best[name] = p.validate(best_params[name]) if name in best_params else p.default
    return best


def step_info(p: Param, float_steps: int) -> tuple[str, float]:
    """``("linear", step)``, ``("log", log_factor)`` or ``("categorical", nan)``."""
    if isinstance(p, Categorical):
        return "categorical", math.nan
    if p.log:
        return "log", math.log(p.high / p.low) / float_steps
    if p.step:
        return "linear", float(p.step)
    return "linear", (p.high - p.low) / float_steps


def _ladder(p: Param, best: Any, k: int, float_steps: int, vary_categorical: bool) -> list[Any]:
    """Values of ``p`` within ``k`` steps of ``best`` (``best`` included, bounds respected)."""
    kind, step = step_info(p, float_steps)
    if kind == "categorical":
        return list(p.choices) if vary_categorical else [best]
    out: list[Any] = []
    for i in range(-k, k + 1):
        raw = best * math.exp(i * step) if kind == "log" else best + i * step
        if p.kind == "int":
            raw = int(round(raw))
        else:
            raw = float(raw)
        if not (p.low - 1e-12 <= raw <= p.high + 1e-12):
            continue
        raw = min(max(raw, p.low), p.high)
        if raw not in out:
            out.append(raw)
    if best not in out:
        out.append(best)
    return sorted(out, key=float)


def _steps_between(p: Param, best: Any, value: Any, float_steps: int) -> float:
    kind, step = step_info(p, float_steps)
    if kind == "categorical":
        return 0.0 if value == best else math.inf
    if kind == "log":
        if value <= 0:
            return math.inf
        return abs(math.log(value / best)) / step
    return abs(float(value) - float(best)) / step


def neighbourhood(
    best_params: Mapping[str, Any],
    space: Any,
    *,
    k: int = 1,
    params: Sequence[str] | None = None,
    mode: str = "grid",
    float_steps: int = 20,
    vary_categorical: bool = False,
    constraints: Sequence[Constraint | str] = (),
    max_neighbours: int = 256,
    seed: int = 0,
) -> tuple[list[dict[str, Any]], bool]:
    """Parameter sets within ``k`` steps of the pick (the pick itself excluded).

    Args:
        best_params: the pick (missing parameters take their declared default).
        space: ``{name: Param}`` or a ``Strategy`` subclass (its constraints are applied too).
        k: steps on each side (``>= 1``).
        params: names to vary (default: every active parameter; categoricals only with
            ``vary_categorical``).
        mode: ``"grid"`` = every combination of per-parameter offsets (``(2k+1)^d - 1`` points),
            ``"axes"`` = one parameter at a time (``2kd`` points).
        float_steps: number of steps across a continuous or log-scale parameter's range.
        vary_categorical: also try every other choice of categorical parameters.
        constraints: extra constraints (``Constraint`` or ``"a < b"`` strings).
        max_neighbours: cap; a larger neighbourhood is replaced by a seeded random subset.
        seed: seed of that subset.

    Returns:
        ``(neighbours, sampled)``.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ParameterError(f"`k` must be an integer >= 1, got k={k!r}")
    if mode not in ("grid", "axes"):
        raise ParameterError(f"`mode` must be 'grid' or 'axes', got {mode!r}")
    if float_steps < 1:
        raise ParameterError(f"`float_steps` must be >= 1, got {float_steps}")
    space_, cons = resolve_space(space, constraints)
    best = _check_best(best_params, space_)
    names = _vary_names(space_, best, params, vary_categorical)
    ladders = {n: _ladder(space_[n], best[n], k, float_steps, vary_categorical) for n in names}
    points: list[dict[str, Any]] = []
    if mode == "grid":
        for values in itertools.product(*(ladders[n] for n in names)):
            cand = dict(best)
            cand.update(zip(names, values))
            points.append(cand)
    else:
        for n in names:
            for v in ladders[n]:
                points.append({**best, n: v})
    seen = set()
    out = []
    key_best = tuple(best.items())
    for cand in points:
        key = tuple(cand.items())
        if key == key_best or key in seen or constraint_violations(cons, cand):
            continue
        seen.add(key)
        out.append(cand)
    sampled = len(out) > max_neighbours
    if sampled:
        rng = np.random.default_rng(seed)
        keep = np.sort(rng.choice(len(out), size=max_neighbours, replace=False))
        out = [out[i] for i in keep]
    return out, sampled


def _vary_names(
    space: Mapping[str, Param],
    best: Mapping[str, Any],
    params: Sequence[str] | None,
    vary_categorical: bool,
) -> list[str]:
    if params is not None:
        for n in params:
            if n not in space:
                raise ParameterError(f"unknown parameter {n!r} in `params`{did_you_mean(n, space)}")
        names = list(params)
    else:
        names = [n for n, p in space.items() if vary_categorical or not isinstance(p, Categorical)]
    return [n for n in names if space[n].is_active(best)]


# --------------------------------------------------------------------------------------------
# scoring
# --------------------------------------------------------------------------------------------
def _result(
    rows: list[dict[str, Any]],
    values: np.ndarray,
    steps: np.ndarray,
    sampled: bool,
) -> StabilityResult:
    """The result of the pick (``rows[0]``) and its neighbours: their table."""
    table = pd.DataFrame(rows)
    table["value"] = values
    table["is_pick"] = np.arange(len(rows)) == 0
    table["steps"] = steps
    return StabilityResult(table=table, sampled=sampled)


def _max_steps(space, best, cand, float_steps) -> float:
    return max(
        (_steps_between(space[n], best[n], cand[n], float_steps) for n in space), default=0.0
    )


def parameter_stability(
    evaluate: Callable[[list[dict[str, Any]]], Any],
    best_params: Mapping[str, Any],
    space: Any,
    *,
    float_steps: int = 20,
    constraints: Sequence[Constraint | str] = (),
    **options: Any,
) -> StabilityResult:
    """Plateau score of the pick by evaluating its neighbourhood with ``evaluate``.

    Args:
        evaluate: ``evaluate([params, ...]) -> sequence of floats``, one metric per parameter
            set (higher is better), e.g. the Sharpe ratio from a batch backtest. It is called
            once, with the pick first and then its neighbours.
        best_params, space, float_steps, constraints: see :func:`neighbourhood`.
        options: the other keyword arguments of :func:`neighbourhood` (``k``, ``params``,
            ``mode``, ``vary_categorical``, ``max_neighbours``, ``seed``).
    """
    space_, cons = resolve_space(space, constraints)
    best = _check_best(best_params, space_)
    neigh, sampled = neighbourhood(
        best, space_, float_steps=float_steps, constraints=cons, **options
    )
    rows = [best, *neigh]
    values = np.asarray(evaluate([dict(r) for r in rows]), dtype=float).reshape(-1)
    if values.shape[0] != len(rows):
        raise DataValidationError(
            f"`evaluate` must return one metric per parameter set ({len(rows)}), "
            f"got {values.shape[0]}"
        )
    steps = np.array([_max_steps(space_, best, r, float_steps) for r in rows])
    return _result(rows, values, steps, sampled)


def trial_params(trials: pd.DataFrame, names: Sequence[str], metric: str) -> pd.DataFrame:
    """Plain-named parameter columns (``params_x`` or ``x``) plus the metric, completed only."""
    if "state" in trials.columns:
        trials = trials[trials["state"].astype(str).str.upper().str.endswith("COMPLETE")]
    if metric not in trials.columns:
        raise DataValidationError(
            f"trials have no metric column {metric!r}{did_you_mean(metric, trials.columns)}"
        )
    out = pd.DataFrame(index=trials.index)
    for n in names:
        if f"params_{n}" in trials.columns:
            out[n] = trials[f"params_{n}"]
        elif n in trials.columns:
            out[n] = trials[n]
        else:
            raise DataValidationError(
                f"trials have no column for parameter {n!r} (expected 'params_{n}' or '{n}')"
            )
    out["value"] = pd.to_numeric(trials[metric], errors="coerce")
    return out[np.isfinite(out["value"])]


def parameter_stability_from_trials(
    trials: pd.DataFrame,
    best_params: Mapping[str, Any],
    space: Any,
    *,
    metric: str = "value",
    k: int = 1,
    float_steps: int = 20,
    vary_categorical: bool = False,
    pick_value: float | None = None,
) -> StabilityResult:
    """Plateau score of the pick from trials that were already evaluated.

    Neighbours are the trials whose every parameter is within ``k`` steps of the pick (same
    steps as :func:`neighbourhood`; categoricals must match unless ``vary_categorical``),
    excluding trials at the pick itself. The pick's metric is ``pick_value`` if given, else the
    mean metric of the trials at exactly the pick's parameters.

    Args:
        trials: one row per trial, parameter columns ``params_<name>`` (Optuna's
            ``trials_dataframe()``) or ``<name>``, a metric column, optionally ``state``
            (only ``COMPLETE`` rows are used).
        metric: metric column, higher is better.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ParameterError(f"`k` must be an integer >= 1, got k={k!r}")
    space_, _ = resolve_space(space)
    best = _check_best(best_params, space_)
    frame = trial_params(trials, list(space_), metric)
    active = [n for n in space_ if space_[n].is_active(best)]
    records = frame.to_dict("records")
    steps = np.array(
        [
            max(
                (
                    0.0
                    if (vary_categorical and isinstance(space_[n], Categorical))
                    else _steps_between(space_[n], best[n], row[n], float_steps)
                )
                for n in active
            )
            if active
            else 0.0
            for row in records
        ]
    )
    at_pick = np.array([all(row[n] == best[n] for n in active) for row in records], dtype=bool)
    if pick_value is None:
        if not at_pick.any():
            raise DataValidationError(
                "no trial has exactly the pick's parameters; pass `pick_value` (the pick's metric)"
            )
        pick_value = float(frame.loc[at_pick, "value"].mean())
    near = (steps <= k + 1e-9) & ~at_pick
    rows = [best, *frame.loc[near, list(space_)].to_dict("records")]
    values = np.concatenate([[pick_value], frame.loc[near, "value"].to_numpy(dtype=float)])
    return _result(rows, values, np.concatenate([[0.0], steps[near]]), False)


def stability_heatmap(
    source: pd.DataFrame | Callable[[list[dict[str, Any]]], Any],
    best_params: Mapping[str, Any],
    space: Any,
    x: str,
    y: str,
    *,
    k: int = 3,
    metric: str = "value",
    float_steps: int = 20,
    constraints: Sequence[Constraint | str] = (),
) -> pd.DataFrame:
    """2-D table of the metric over parameters ``x`` (columns) and ``y`` (rows) around the pick.

    With a callable ``source`` (``evaluate(list_of_param_dicts) -> metrics``) the
    ``(2k+1) x (2k+1)`` ladder points are evaluated with every other parameter at the pick's
    value; constraint-breaking cells are NaN. With a trials DataFrame each trial is snapped to
    the nearest ladder point of ``x`` and ``y`` (trials further than ``k`` steps are ignored) and
    the cell is the mean metric over the other parameters (a marginal view); empty cells are NaN.
    """
    space_, cons = resolve_space(space, constraints)
    best = _check_best(best_params, space_)
    for n in (x, y):
        if n not in space_:
            raise ParameterError(
                f"unknown parameter {n!r} for the heatmap{did_you_mean(n, space_)}"
            )
    if x == y:
        raise ParameterError(f"the heatmap needs two different parameters, got x=y={x!r}")
    xs = _ladder(space_[x], best[x], k, float_steps, True)
    ys = _ladder(space_[y], best[y], k, float_steps, True)
    table = pd.DataFrame(np.nan, index=pd.Index(ys, name=y), columns=pd.Index(xs, name=x))
    if callable(source) and not isinstance(source, pd.DataFrame):
        cells = [(vy, vx) for vy in ys for vx in xs]
        cands = [{**best, x: vx, y: vy} for vy, vx in cells]
        ok = [not constraint_violations(cons, c) for c in cands]
        todo = [c for c, good in zip(cands, ok) if good]
        values = np.asarray(source(todo), dtype=float).reshape(-1) if todo else np.array([])
        if values.shape[0] != len(todo):
            raise DataValidationError(
                f"`evaluate` must return one metric per parameter set ({len(todo)}), "
                f"got {values.shape[0]}"
            )
        it = iter(values)
        for (vy, vx), good in zip(cells, ok):
            if good:
                table.loc[vy, vx] = next(it)
        return table
    frame = trial_params(source, [x, y], metric)
    xs_arr, ys_arr = np.array(xs, dtype=object), np.array(ys, dtype=object)
    snapped = []
    for row in frame.to_dict("records"):
        ix = _nearest(space_[x], xs_arr, row[x], float_steps)
        iy = _nearest(space_[y], ys_arr, row[y], float_steps)
        if ix is not None and iy is not None:
            snapped.append((ys[iy], xs[ix], row["value"]))
    if snapped:
        means = pd.DataFrame(snapped, columns=["y", "x", "value"]).groupby(["y", "x"])["value"]
        for (vy, vx), v in means.mean().items():
            table.loc[vy, vx] = v
    return table


def _nearest(p: Param, ladder: np.ndarray, value: Any, float_steps: int) -> int | None:
    if isinstance(p, Categorical):
        hits = [i for i, v in enumerate(ladder) if v == value]
        return hits[0] if hits else None
    dist = [_steps_between(p, v, value, float_steps) for v in ladder]
    i = int(np.argmin(dist))
    return i if dist[i] <= 0.5 + 1e-9 else None
