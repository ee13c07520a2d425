"""Metrics users define: expressions over metric names, ``psr``, and Python callables.

A :class:`DerivedMetric` is computed for every evaluated window next to the simulation's own
metrics (:func:`add_derived`, called by the evaluation kernel), so it can serve as an objective
(single or multi-objective, any optimizer), and as a guardrail rule, exactly like a built-in
metric; the trials table records its value under its name.

* ``psr``: the probabilistic Sharpe ratio of the window's per-period returns against a Sharpe
  ratio of 0 (:func:`research.optimize.expression.psr_metric`, i.e.
  :func:`research.overfitting.probabilistic_sharpe_ratio` with the returns' skewness and
  kurtosis);
* an **expression** such as ``sharpe_ratio - 0.5 * abs(max_drawdown)``
  (:class:`research.optimize.expression.MetricExpression`: a safe evaluator, no ``eval``) over
  the metric names and ``psr``;
* a **callable** ``fn(metrics, returns) -> float`` from the Python API (``metrics``: the
  window's metrics dict, ``returns``: its per-period returns as a float64 array). With
  ``workers > 1`` it must be picklable (a module-level function).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from backtest.metric_table import SEARCHABLE
from research.optimize.expression import MetricExpression, psr_metric

__all__ = [
    "DerivedMetric",
    "PSR",
    "expression_metric",
    "callable_metric",
    "add_derived",
    "metric_names",
]

#: names an expression may read: the searchable metrics and ``psr``
_NAMES = (*SEARCHABLE, "psr")


class _Psr:
    def __call__(self, metrics: Mapping[str, float], returns: np.ndarray | None) -> float:
        return psr_metric(returns) if returns is not None else math.nan


class _Expression:
    def __init__(self, expr: MetricExpression) -> None:
        self.expr = expr

    def __call__(self, metrics: Mapping[str, float], returns: np.ndarray | None) -> float:
        if "psr" in self.expr.names_used and "psr" not in metrics:
            metrics = {**metrics, "psr": _Psr()(metrics, returns)}
        return self.expr(metrics)


@dataclass(frozen=True, eq=False)
class DerivedMetric:
    """A metric computed from a window's metrics (and returns).

    Attributes:
        name: its name in the metrics, the trials table and the objectives.
        fn: ``fn(metrics, returns) -> float``.
        needs_returns: whether ``fn`` reads the returns (the simulation then keeps them).
        text: what identifies it in a study's configuration (the expression, ``psr``, or the
            callable's qualified name).
    """

    name: str
    fn: Callable[[Mapping[str, float], np.ndarray | None], float]
    needs_returns: bool
    text: str

    def __call__(self, metrics: Mapping[str, float], returns: np.ndarray | None) -> float:
        try:
            return float(self.fn(metrics, returns))
        except (TypeError, ValueError):
            return math.nan


PSR = DerivedMetric("psr", _Psr(), True, "psr")


def expression_metric(
    text: str, name: str | None = None, *, where: str = "objective"
) -> DerivedMetric:
    """A :class:`DerivedMetric` from an expression over :data:`metric_names` (named ``name``,
    default the text itself).

    Raises:
        ConfigError: the expression's own errors (unknown name with a "did you mean", ...).
    """
    expr = MetricExpression(text, _NAMES, where=where)
    return DerivedMetric(name or text.strip(), _Expression(expr), "psr" in expr.names_used, text)


def callable_metric(fn: Callable[..., float], name: str | None = None) -> DerivedMetric:
    """A :class:`DerivedMetric` from ``fn(metrics, returns)`` (named after the function)."""
    label = name or getattr(fn, "__name__", None) or type(fn).__name__
    text = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', label)}"
    return DerivedMetric(str(label), fn, True, text)


def metric_names() -> tuple[str, ...]:
    """The names an expression may use."""
    return _NAMES


def add_derived(
    record: dict[str, float], returns: np.ndarray | None, derived: Iterable[DerivedMetric]
) -> dict[str, float]:
    """``record`` with each derived metric added (in order; a later one sees the earlier ones)."""
    for d in derived:
        record[d.name] = d(record, returns)
    return record


def derived_of(items: Iterable[Any]) -> tuple[DerivedMetric, ...]:
    """The distinct derived metrics among ``items`` (``psr`` first when any item reads it)."""
    out: dict[str, DerivedMetric] = {}
    for item in items:
        if isinstance(item, DerivedMetric):
            out.setdefault(item.name, item)
    if any(isinstance(d.fn, _Expression) and "psr" in d.fn.expr.names_used for d in out.values()):
        out = {"psr": out.get("psr", PSR), **out}
    return tuple(out.values())


__all__ += ["derived_of"]
