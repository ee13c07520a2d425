"""Hyperparameter importance of one run, per strategy: the ``importance`` entry of results.json.

Pools every complete, feasible trial of a strategy's searches (every fold, every optimizer) and
runs the library of :mod:`research.judge.importance` on it: OLS with robust errors, fANOVA, and a
narrowed space for the next run. The objective explained is each trial's in-sample value of the
first objective.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from research._json import finite
from research._timing import stage
from research.judge.importance import (
    fanova_importance,
    regress_metric_on_params,
    suggest_narrowed_space,
)
from strategies.params import Categorical, Param

__all__ = ["importance_by_strategy", "FANOVA_ROWS", "FANOVA_TREES"]


#: fANOVA rows at most (the forest's cost grows fast with rows; 300 suffice)
FANOVA_ROWS = 300
#: trees of the fANOVA forest: 8 rank the quickstart's parameters as 16 or 64 do, at half the
#: cost of 16 (each tree's marginal variances are computed in Python)
FANOVA_TREES = 8


def importance_by_strategy(searches: Sequence[Any], direction: str, seed: int = 0) -> dict:
    """Which hyperparameters matter for one strategy (its searches, every fold pooled).

    ``searches`` are :class:`research.judge.SearchOutcome` of one strategy. Returns the
    ``importance[<strategy>]`` entry of results.json: ``n`` trials used, ``r2``, ``ols`` terms and
    ``significant`` (:func:`regress_metric_on_params` of the in-sample objective), ``fanova``
    (:func:`fanova_importance` of an in-memory study of at most :data:`FANOVA_ROWS` trials, a
    seeded sample, :data:`FANOVA_TREES` trees),
    ``suggested_space`` (spec overrides narrowing the space for the next run) and ``notes``.
    """
    cls = searches[0].strategy_cls
    df = _pooled_trials(searches, list(cls.space()))
    out: dict[str, Any] = {"n": 0, "notes": []}
    if df is None:
        return out
    out["n"] = int(len(df))
    names = list(cls.space())
    varied = [n for n in names if df[f"params_{n}"].astype(str).nunique() > 1]
    try:
        reg = regress_metric_on_params(df, params=varied or names, metric="value")
        out["r2"] = finite(reg.r_squared)
        cols = ("coef", "std_err", "t", "p_value")
        out["ols"] = [
            {"term": str(term), **{c: finite(r[c]) for c in cols}}
            | {"significant": bool(r["significant"])}
            for term, r in reg.terms.iterrows()
        ]
        out["significant"] = list(reg.significant)
        out["notes"] += list(reg.notes)
    except Exception as exc:  # noqa: BLE001 - too few trials, constant parameters: reported
        out["notes"].append(f"OLS not computed: {exc}")
    if len(varied) >= 1 and len(df) >= 4:
        try:
            with stage("importance/fanova"):
                out["fanova"] = _study_fanova(df, cls, names, varied, direction, seed, out["notes"])
        except Exception as exc:  # noqa: BLE001
            out["notes"].append(f"fANOVA not computed: {exc}")
    try:
        narrowed = suggest_narrowed_space(df, cls, metric="value", maximize=direction == "maximize")
        out["suggested_space"] = _space_overrides(narrowed, cls.space())
    except Exception as exc:  # noqa: BLE001
        out["notes"].append(f"no narrowed space: {exc}")
    return out


def _pooled_trials(searches: Sequence[Any], names: list[str]) -> pd.DataFrame | None:
    """Complete, feasible, finite trials of the searches: ``params_<name>`` columns, ``value``."""
    frames = []
    for s in searches:
        t = s.result.trials
        if t.empty:
            continue
        ok = (t["state"] == "complete") & t["feasible"] & np.isfinite(t["value"].astype(float))
        t = t[ok]
        frames.append(
            pd.DataFrame(
                {
                    **{f"params_{n}": t[f"param_{n}"].to_numpy() for n in names},
                    "value": t["value"].astype(float).to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else None


def _study_fanova(
    df: pd.DataFrame,
    cls: Any,
    names: list[str],
    varied: list[str],
    direction: str,
    seed: int,
    notes: list[str],
) -> dict[str, float]:
    import optuna

    from research.optimize.space import SearchSpace

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        dists = SearchSpace(cls).distributions()
        study = optuna.create_study(directions=[direction])
        sample = df
        if len(df) > FANOVA_ROWS:
            sample = df.sample(FANOVA_ROWS, random_state=seed).sort_index()
            notes.append(f"fANOVA on {FANOVA_ROWS} of the {len(df)} trials (random, seeded)")
        study.add_trials(
            [
                optuna.trial.create_trial(
                    params={n: _py(row[f"params_{n}"]) for n in names},
                    distributions=dists,
                    value=float(row["value"]),
                )
                for _, row in sample.iterrows()
            ]
        )
        imp = fanova_importance(study, params=varied, seed=seed, n_trees=FANOVA_TREES)
        return {str(k): float(v) for k, v in imp.items()}
    finally:
        optuna.logging.set_verbosity(verbosity)


def _space_overrides(narrowed: dict[str, Param], space: dict[str, Param]) -> dict[str, Any]:
    """The spec ``space:`` overrides of the parameters :func:`suggest_narrowed_space` changed."""
    out: dict[str, Any] = {}
    for n, p in narrowed.items():
        if isinstance(p, Categorical):
            if list(p.choices) != list(space[n].choices):
                out[n] = [_py(c) for c in p.choices]
        elif (p.low, p.high) != (space[n].low, space[n].high):
            out[n] = {"low": _py(p.low), "high": _py(p.high)}
    return out


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
