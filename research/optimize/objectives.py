"""Objectives, guardrails and feasibility: how a trial's metrics become what a sampler sees.

* **Objectives.** Any metric of :data:`backtest.batch.BATCH_METRICS` (``sharpe_ratio`` by
  default), one or several; each has a direction (``maximize``/``minimize``; defaults in
  :data:`DEFAULT_DIRECTIONS`: ``max_drawdown`` is a negative fraction, so *maximize* it).
  Also ``psr``, an expression over metric names (``"sharpe_ratio - 0.5 * abs(max_drawdown)"``)
  or a callable ``fn(metrics, returns)``: :mod:`research.optimize.derived` (maximized unless
  told otherwise).
* **Guardrails** (:class:`Guardrails`): ``min_trades``, ``max_drawdown`` (a positive fraction:
  ``0.3`` = no drawdown deeper than 30 %) and ``max_turnover``. Each becomes a *constraint value*,
  feasible when ``<= 0``, scaled by its limit so that values of different guardrails add up::

      min_trades:   (min_trades - n_trades) / max(min_trades, 1)
      max_drawdown: (-max_drawdown_metric - limit) / limit
      max_turnover: (turnover - limit) / limit

  A guardrail metric that is NaN counts as a violation of ``1``. The strategy's own constraints
  (``"fast < slow"``) give one more constraint, ``params``: the number of constraints broken.
* **Penalty.** Samplers that cannot use constraints (CMA-ES, and DEAP's selection) are told
  :func:`penalty_values` for an infeasible trial: ``-PENALTY * (1 + violation)`` when maximizing
  (``+`` when minimizing), so every feasible trial ranks above every infeasible one, and a smaller
  violation ranks higher. The trials table always shows the true metrics.
* **Rules.** ``Guardrails(rules=("n_trades >= 20 and psr > 0.5",))``: expressions that must be
  true; each is a constraint ``rule1``, ``rule2``, ... of value 0 when true, 1 when false or NaN.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from backtest.metric_table import DIRECTIONS, SEARCHABLE
from data_loaders.errors import ConfigError, ParameterError, did_you_mean
from research.optimize.derived import (
    PSR,
    DerivedMetric,
    callable_metric,
    derived_of,
    expression_metric,
)

__all__ = [
    "METRICS",
    "DEFAULT_DIRECTIONS",
    "PENALTY",
    "Objective",
    "Guardrails",
    "resolve_objectives",
    "objective_values",
    "penalty_values",
    "pareto_mask",
    "derived_metrics",
]

#: metrics a trial can be judged on (columns of ``backtest.evaluate_batch``'s metrics)
METRICS = SEARCHABLE

#: direction used when an objective names only a metric (from :mod:`backtest.metric_table`)
DEFAULT_DIRECTIONS = {name: DIRECTIONS[name] for name in METRICS}

#: magnitude of the penalty told for an infeasible trial (see module docstring)
PENALTY = 1e12
_DIRECTIONS = ("maximize", "minimize")


@dataclass(frozen=True)
class Objective:
    """One objective: a metric name and ``maximize`` or ``minimize``; ``derived`` computes a
    metric the simulation does not (``psr``, an expression, a callable)."""

    metric: str
    direction: str = "maximize"
    derived: DerivedMetric | None = field(default=None, compare=False)

    @property
    def sign(self) -> float:
        """``+1`` when maximizing, ``-1`` when minimizing (``sign * value``: larger is better)."""
        return 1.0 if self.direction == "maximize" else -1.0


def resolve_objectives(
    objective: Any,
    directions: str | Sequence[str] | None = None,
) -> tuple[Objective, ...]:
    """Normalise ``objective`` and ``directions``.

    ``objective``: one item or a list; an item is a metric name, ``psr``, an expression over
    metric names, an :class:`Objective`, a :class:`DerivedMetric` or a callable
    ``fn(metrics, returns)``.

    Raises:
        ParameterError: an unknown metric (with "did you mean"), an unknown direction, a repeated
            metric, or a number of directions that differs from the number of objectives.
        ConfigError: an expression that does not parse or names an unknown metric.
    """
    single = isinstance(objective, str | Objective | DerivedMetric) or callable(objective)
    items = [objective] if single else list(objective)
    if not items:
        raise ParameterError("`objective` needs at least one metric, got an empty list")
    if directions is None:
        dirs: list[str | None] = [None] * len(items)
    else:
        dirs = [directions] if isinstance(directions, str) else list(directions)
        if len(dirs) != len(items):
            raise ParameterError(
                f"`directions` must give one direction per objective ({len(items)}), "
                f"got {len(dirs)}: {dirs!r}"
            )
    out: list[Objective] = []
    for item, direction in zip(items, dirs):
        obj = _objective_of(item)
        direction = obj.direction if direction is None else direction
        if direction not in _DIRECTIONS:
            raise ParameterError(
                f"direction of objective `{obj.metric}` must be 'maximize' or 'minimize', "
                f"got {direction!r}"
            )
        out.append(Objective(obj.metric, direction, obj.derived))
    names = [o.metric for o in out]
    if len(set(names)) != len(names):
        raise ParameterError(f"`objective` names a metric twice: {names!r}")
    return tuple(out)


def _objective_of(item: Any) -> Objective:
    """One objective item as an :class:`Objective` (direction: given or the default)."""
    if isinstance(item, Objective):
        if item.derived is None and item.metric not in METRICS:
            return Objective(_objective_of(item.metric).metric, item.direction,
                             _objective_of(item.metric).derived)  # fmt: skip
        return item
    if isinstance(item, DerivedMetric):
        return Objective(item.name, "maximize", item)
    if isinstance(item, str):
        if item in METRICS:
            return Objective(item, DEFAULT_DIRECTIONS[item])
        if item == "psr":
            return Objective("psr", "maximize", PSR)
        if item.isidentifier():
            raise ParameterError(
                f"`objective` must name a metric, got {item!r}"
                f"{did_you_mean(item, (*METRICS, 'psr'))}"
            )
        try:
            return Objective(item.strip(), "maximize", expression_metric(item))
        except ConfigError as exc:
            raise ParameterError(str(exc)) from None
    if callable(item):
        d = callable_metric(item)
        return Objective(d.name, "maximize", d)
    raise ParameterError(
        f"`objective` must name a metric, got {item!r}{did_you_mean(str(item), METRICS)}"
    )


def derived_metrics(
    objectives: Sequence[Objective], guardrails: Guardrails | None = None
) -> tuple[DerivedMetric, ...]:
    """The derived metrics the objectives and the guardrail rules read, in computing order."""
    items: list[Any] = [o.derived for o in objectives if o.derived is not None]
    if guardrails is not None:
        items += list(guardrails.compiled)
    return derived_of(items)


@dataclass(frozen=True)
class Guardrails:
    """Constraints every trial must meet to be picked (``None`` disables one).

    Attributes:
        min_trades: minimum number of trades in the evaluated window.
        max_drawdown: deepest drawdown allowed, a positive fraction (0.3 = 30 %).
        max_turnover: largest ``turnover`` metric allowed.
    """

    min_trades: int | None = None
    max_drawdown: float | None = None
    max_turnover: float | None = None
    rules: tuple[str, ...] = ()

    @classmethod
    def coerce(cls, value: Any) -> Guardrails:
        """A :class:`Guardrails` from ``None``, a mapping, or any object with the same attributes.

        Raises:
            ParameterError: an unknown key or a limit of the wrong type or sign.
        """
        if value is None:
            out = cls()
        elif isinstance(value, Guardrails):
            out = value
        elif isinstance(value, Mapping):
            names = [f.name for f in fields(cls)]
            for key in value:
                if key not in names:
                    raise ParameterError(
                        f"unknown guardrail {key!r}{did_you_mean(str(key), names)}"
                    )
            out = cls(**dict(value))
        elif all(hasattr(value, f.name) for f in fields(cls) if f.name != "rules"):
            out = cls(
                **{f.name: getattr(value, f.name) for f in fields(cls) if hasattr(value, f.name)}
            )
        else:
            raise ParameterError(
                f"`guardrails` must be None, a mapping or a Guardrails, got {type(value).__name__}"
            )
        out._check()
        return out

    def _check(self) -> None:
        m = self.min_trades
        if m is not None and (isinstance(m, bool) or not isinstance(m, int | np.integer) or m < 0):
            raise ParameterError(f"guardrail `min_trades` must be an int >= 0, got {m!r}")
        for name in ("max_drawdown", "max_turnover"):
            v = getattr(self, name)
            if v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
                raise ParameterError(f"guardrail `{name}` must be a number > 0, got {v!r}")
        if isinstance(self.rules, str) or not all(isinstance(r, str) for r in self.rules):
            raise ParameterError(
                f"guardrail `rules` must be a list of expressions, got {self.rules!r}"
            )
        object.__setattr__(self, "rules", tuple(self.rules))
        self.compiled  # noqa: B018 - parse now: a bad rule fails before any trial
        if self.max_drawdown is not None and self.max_drawdown > 1:
            raise ParameterError(
                "guardrail `max_drawdown` is a positive fraction (0.3 = 30 %), "
                f"got {self.max_drawdown!r}"
            )

    @property
    def names(self) -> tuple[str, ...]:
        """The enabled guardrails, in a fixed order (rules as ``rule1``, ``rule2``, ...)."""
        plain = [
            f.name for f in fields(self) if f.name != "rules" and getattr(self, f.name) is not None
        ]
        return (*plain, *(f"rule{i}" for i in range(1, len(self.rules) + 1)))

    @property
    def compiled(self) -> tuple[DerivedMetric, ...]:
        """The rules as derived metrics (named ``rule1``, ...), parsed once."""
        cached = self.__dict__.get("_compiled")
        if cached is None:
            try:
                cached = tuple(
                    expression_metric(text, f"rule{i}", where=f"guardrails.rules[{i - 1}]")
                    for i, text in enumerate(self.rules, 1)
                )
            except ConfigError as exc:
                raise ParameterError(str(exc)) from None
            object.__setattr__(self, "_compiled", cached)
        return cached

    def constraint_values(self, metrics: Mapping[str, float]) -> dict[str, float]:
        """Constraint value of each enabled guardrail (``<= 0``: met); see module docstring."""
        out: dict[str, float] = {}
        if self.min_trades is not None:
            out["min_trades"] = _scaled(
                self.min_trades - metrics.get("n_trades", math.nan), max(self.min_trades, 1)
            )
        if self.max_drawdown is not None:
            out["max_drawdown"] = _scaled(
                -metrics.get("max_drawdown", math.nan) - self.max_drawdown, self.max_drawdown
            )
        if self.max_turnover is not None:
            out["max_turnover"] = _scaled(
                metrics.get("turnover", math.nan) - self.max_turnover, self.max_turnover
            )
        for rule in self.compiled:
            value = metrics.get(rule.name)
            if value is None:
                value = rule(metrics, None)
            out[rule.name] = 0.0 if (value == value and value) else 1.0
        return out

    def describe(self, metrics: Mapping[str, float]) -> str:
        """One line naming every guardrail the metrics break (empty when all are met)."""
        values = self.constraint_values(metrics)
        parts = []
        if values.get("min_trades", 0) > 0:
            parts.append(f"n_trades={_fmt(metrics.get('n_trades'))} < min_trades={self.min_trades}")
        if values.get("max_drawdown", 0) > 0:
            parts.append(
                f"max_drawdown={metrics.get('max_drawdown')!r} deeper than -{self.max_drawdown}"
            )
        if values.get("max_turnover", 0) > 0:
            parts.append(f"turnover={metrics.get('turnover')!r} > max_turnover={self.max_turnover}")
        for rule in self.compiled:
            if values.get(rule.name, 0) > 0:
                parts.append(f"{rule.text!r} is false")
        return "guardrail: " + "; ".join(parts) if parts else ""


def _fmt(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return repr(value)


def _scaled(diff: float, scale: float) -> float:
    value = float(diff) / float(scale)
    return 1.0 if math.isnan(value) else value


def objective_values(
    metrics: Mapping[str, float], objectives: Sequence[Objective]
) -> tuple[float, ...]:
    """The objective values of a trial's metrics, in objective order (may contain NaN)."""
    out = []
    for o in objectives:
        value = metrics.get(o.metric)
        if value is None and o.derived is not None and not o.derived.needs_returns:
            value = o.derived(metrics, None)
        out.append(math.nan if value is None else float(value))
    return tuple(out)


def penalty_values(objectives: Sequence[Objective], violation: float) -> tuple[float, ...]:
    """Values told for an infeasible trial: worse than any feasible one, by violation."""
    v = min(max(float(violation), 0.0), 1e6) if math.isfinite(violation) else 1e6
    return tuple(-o.sign * PENALTY * (1.0 + v) for o in objectives)


def pareto_mask(values: np.ndarray, objectives: Sequence[Objective]) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``values`` (shape ``(n, n_objectives)``).

    Row ``a`` dominates ``b`` when it is at least as good on every objective and better on one
    (direction-aware). Rows with NaN are never on the front.
    """
    vals = np.asarray(values, dtype=np.float64).reshape(len(values), len(objectives))
    signed = vals * np.array([o.sign for o in objectives])
    ok = np.all(np.isfinite(signed), axis=1)
    mask = ok.copy()
    for i in np.flatnonzero(ok):
        others = signed[ok]
        dominated = np.any(np.all(others >= signed[i], axis=1) & np.any(others > signed[i], axis=1))
        mask[i] = not dominated
    return mask
