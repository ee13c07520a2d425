"""The most recent window of the data and one parameter set's metrics on it (nightly's judge).

:func:`recent_window` finds the window both champion and challenger are judged on;
:func:`evaluate_params` trades one parameter set on it with the spec's costs and fills, the way
the run's re-evaluations do (:func:`research.judge.evaluate_sets`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pandas as pd

from backtest.splitters import parse_size
from data_loaders.bars import bars_index
from data_loaders.errors import ConfigError, DataTooShortError
from research._json import finite
from research.judge import evaluate_sets
from research.run.stages import explore_stage
from research.spec.build import (
    build_execution,
    experiment_bars_per_year,
    layered_strategy,
)

__all__ = [
    "recent_window",
    "evaluate_params",
    "strategy_class",
    "own_window",
    "train_window",
    "window_features",
]


def recent_window(exp: Any, bars: Any) -> tuple[int, int]:
    """``(start, n_bars)``: the most recent judging window is bars ``[start, n_bars)``.

    Its size is ``nightly.window`` (default ``walk_forward.test``), in bars or as a duration
    back from the last bar. Raises :class:`DataTooShortError` when it leaves no history.
    """
    index = bars_index(bars)
    n = len(index)
    size = parse_size(exp.nightly.window or exp.walk_forward.test, "nightly.window")
    if isinstance(size, int):
        start = n - size
    else:
        start = int(index.searchsorted(index[-1] - size, side="right"))
    if start <= 0 or start >= n:
        raise DataTooShortError(
            f"nightly.window ({exp.nightly.window or exp.walk_forward.test}) leaves "
            f"{max(start, 0)} bars of history before it out of {n}"
        )
    return int(start), int(n)


def evaluate_params(
    exp: Any,
    strategy_ref: str,
    params: Mapping[str, Any],
    bars: Any,
    *,
    start: int,
    stop: int | None = None,
    features_mode: Any = None,
    label: str | None = None,
    candidate: str | None = None,
) -> dict[str, float | None]:
    """Metrics of one parameter set traded on bars ``[start, stop)`` with the spec's costs.

    Positions are computed causally on the bars up to ``stop``; a strategy that learns is fitted
    on the ``walk_forward.train`` bars just before ``start``. ``features_mode`` as recorded in a
    leaderboard row: None, or the feature columns (recomputed by the spec's exploration with its
    screening window ending before ``start``). ``label`` / ``candidate`` (a leaderboard row's
    ``strategy`` and ``candidate``): in a universe run, the candidate trades as it was searched
    (:func:`research.run.universe.candidate_job`); ``start`` / ``stop`` are positions on the
    union calendar, a ``per_symbol`` candidate trades its symbol's own bars between them.
    """
    from research.run.universe import candidate_job

    key = f"strategy {strategy_ref!r}"
    cls = strategy_class(exp, strategy_ref, bars, label)
    job = candidate_job(exp, cls, bars, label=label, candidate=candidate, key=key)
    cls, sbars = job.strategy_cls, job.bars
    index = bars_index(bars)
    stop = len(index) if stop is None else int(stop)
    own = bars_index(sbars)
    a, b = own_window(own, index, start, stop)
    feats = window_features(exp, bars, start, strategy_ref, features_mode)
    fit = train_window(exp, own, a) if cls.needs_fit else None
    execution = build_execution(exp, experiment_bars_per_year(exp, bars))
    (res,) = evaluate_sets(
        execution, cls, [dict(params)], (a, b), bars=sbars, fit=fit, features=feats
    )
    if res.error is not None:
        raise ConfigError(f"{strategy_ref} {dict(params)} failed on the window: {res.error}")
    return {k: finite(v) for k, v in res.metrics[0].items() if _numeric(v)}


def own_window(own: pd.Index, index: pd.Index, start: int, stop: int) -> tuple[int, int]:
    """Positions on ``own`` (a symbol's calendar) of the bars between the timestamps of rows
    ``start`` and ``stop - 1`` of ``index`` (the union calendar); the same when equal."""
    if own is index or own.equals(index):
        return int(start), int(stop)
    a = int(own.searchsorted(index[start], "left"))
    return a, int(own.searchsorted(index[stop - 1], "right"))


def strategy_class(exp: Any, strategy_ref: str, bars: Any, label: str | None = None) -> Any:
    """The strategy class of ``strategy_ref`` (a registry name or ``path.py:Class``), resolved
    with the spec's entry for it (the one labelled ``label`` first) when there is one, in its
    exits and sizing (:func:`research.spec.build.layered_strategy`, annualised on ``bars``)."""
    from research.spec import StrategySpec

    spec = next((s for s in exp.strategies if label is not None and s.label == label), None)
    spec = spec or next((s for s in exp.strategies if s.name == strategy_ref), None)
    spec = spec or StrategySpec(name=strategy_ref)
    ppy = experiment_bars_per_year(exp, bars)
    return layered_strategy(exp, replace(spec, space={}), ppy, key=f"strategy {strategy_ref!r}")


def train_window(exp: Any, index: pd.Index, stop: int) -> tuple[int, int]:
    """``(a, stop)``: the ``walk_forward.train`` bars just before bar ``stop`` (in bars, or a
    duration back from the bar at ``stop``; clipped at the first bar)."""
    size = parse_size(exp.walk_forward.train, "walk_forward.train")
    if isinstance(size, int):
        return max(0, stop - size), int(stop)
    if stop < len(index):
        return int(index.searchsorted(index[stop] - size, side="left")), int(stop)
    return int(index.searchsorted(index[-1] - size, side="right")), int(stop)


def window_features(
    exp: Any, bars: Any, start: int, strategy_ref: str, features_mode: Any
) -> pd.DataFrame | None:
    """The feature columns ``features_mode`` names, recomputed by the spec's exploration with
    its screening window ending before bar ``start`` (None when the strategy takes none)."""
    if not features_mode:
        return None
    cols = [features_mode] if isinstance(features_mode, str) else list(features_mode)
    ex = explore_stage(exp, bars, start, None, lambda _t: None)
    missing = [c for c in cols if c not in ex.features.columns]
    if missing:
        raise ConfigError(
            f"features {missing} of {strategy_ref} are not produced by the exploration any "
            "more; rerun `research run` to pick new ones"
        )
    return ex.features[cols]


def _numeric(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True
