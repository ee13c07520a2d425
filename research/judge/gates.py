"""The gates a champion must pass: one definition, one sign convention, one table.

:class:`Gates` holds the thresholds (``None`` disables a gate). It inherits the experiment
spec's fields and defaults (``gates:`` section, :class:`research.spec.GateSpec`: the calibrated
set of docs/gates.md) and :func:`gates_from_spec` is
the one place a spec section becomes a :class:`Gates`. Every threshold is written the way the
spec writes it: ``max_drawdown`` is a **positive fraction** (0.5 = a fall of at most 50 % from the
peak), compared with the drawdown's size ``-max_drawdown`` of :func:`backtest.metrics.compute_metrics`
(which reports drawdowns as negative fractions).

:data:`GATES` is the table every consumer derives from: the leaderboard's ``gate_<name>``
columns and failure messages, the ``gates`` entry of each ``results.json`` row and the report's
badges. Adding a gate is one field on :class:`Gates` (and on the spec's ``GateSpec``) plus one
row of :data:`GATES`.

Besides the thresholds there is one *required* gate, ``tradeable``: a candidate whose last fold
found no feasible trial has no parameters to trade now, so it fails and is never champion. It is
always on and writes no ``gate_`` column (it has no threshold); its failure is listed last in
``failed_gates``, and the leaderboard ranks such a candidate after every tradeable one (a table
read top-down never shows it first).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from data_loaders.errors import ParameterError
from research.spec.sections import DSR_TRIALS, GateSpec

__all__ = ["Gates", "GateRule", "GATES", "TRADEABLE", "gates_from_spec", "evaluate_gates"]


@dataclass(frozen=True)
class Gates(GateSpec):
    """Thresholds a champion must meet; ``None`` disables a gate.

    The fields and their defaults are the spec's :class:`research.spec.GateSpec` (inherited:
    one place for the defaults, the calibrated set of docs/gates.md).

    Attributes:
        min_dsr: deflated Sharpe ratio ``>=`` this (probability the edge is not luck).
        max_pbo: probability of backtest overfitting ``<=`` this (off by default: reported).
        min_stability: parameter-stability plateau score ``>=`` this.
        min_trades: out-of-sample trades ``>=`` this.
        max_drawdown: out-of-sample maximum drawdown, a positive fraction, ``<=`` this: 0.5
            allows a fall of at most 50 % from the peak.
        min_wfe: walk-forward efficiency ``>=`` this.
        max_spa_pvalue: SPA / Reality Check p-value ``<=`` this (off by default: reported).
        min_breadth: share of a universe's symbols on which the chosen parameters earn a
            positive out-of-sample Sharpe ratio ``>=`` this (universe runs; off by default).
        dsr_trials: the deflated Sharpe ratio's trial count (``candidates`` | ``all_trials`` |
            ``effective``, see :mod:`research.judge.trial_count`).

    An enabled gate whose input was not computed fails ("not computed"): disable it explicitly.
    Raises :class:`ParameterError` on a threshold out of its range or an unknown count.
    """

    def __post_init__(self) -> None:
        if self.dsr_trials not in DSR_TRIALS:
            raise ParameterError(
                f"`Gates.dsr_trials` must be one of {', '.join(DSR_TRIALS)}, got {self.dsr_trials!r}"
            )
        for rule in GATES:
            value = getattr(self, rule.name)
            if value is None or rule.bounds is None:
                continue
            low, high = rule.bounds
            if not low <= value <= high:
                hint = (
                    " (a positive fraction: 0.5 allows a 50% drawdown)"
                    if rule.name == "max_drawdown"
                    else ""
                )
                raise ParameterError(
                    f"`Gates.{rule.name}` must be in [{low}, {high}] or None, got {value}{hint}"
                )

    def enabled(self) -> list[tuple[GateRule, float]]:
        """``(rule, threshold)`` of every enabled threshold gate, in :data:`GATES` order."""
        return [(r, getattr(self, r.name)) for r in GATES if getattr(self, r.name) is not None]


@dataclass(frozen=True)
class GateRule:
    """One row of :data:`GATES`.

    Attributes:
        name: the :class:`Gates` field.
        column: the leaderboard column the gate reads.
        label: the name in messages and the report.
        op: ``">="`` (value must reach the threshold) or ``"<="`` (must not exceed it).
        fmt: number format of value and threshold in messages.
        bounds: allowed threshold range, or None (any value >= 0 for counts).
        value: maps the column's value to the gate's convention (``max_drawdown``: its size).
    """

    name: str
    column: str
    label: str
    op: str
    fmt: str
    bounds: tuple[float, float] | None = (0.0, 1.0)
    value: Callable[[float], float] = float

    def value_of(self, row: Mapping[str, Any]) -> float | None:
        """The gate's input in its own convention, None when not computed."""
        raw = row.get(self.column)
        if raw is None or (isinstance(raw, float) and math.isnan(raw)):
            return None
        return self.value(raw)

    def passes(self, value: float, threshold: float) -> bool:
        return bool(value >= threshold if self.op == ">=" else value <= threshold)

    def badge(self, threshold: float) -> str:
        """The report's short label, e.g. ``"PBO ≤ 0.5"`` or ``"max drawdown ≤ 50%"``."""
        sign = "≥" if self.op == ">=" else "≤"
        shown = f"{threshold:.0%}" if self.fmt.endswith("%") else f"{threshold:g}"
        return f"{self.label} {sign} {shown}"


def _size(drawdown: float) -> float:
    return -float(drawdown)


#: every threshold gate, in the order failures are listed
GATES: tuple[GateRule, ...] = (
    GateRule("min_dsr", "dsr", "DSR", ">=", ".2f"),
    GateRule("max_pbo", "pbo", "PBO", "<=", ".2f"),
    GateRule("min_stability", "stability", "stability", ">=", ".2f"),
    GateRule("min_trades", "n_trades", "trades", ">=", ".0f", bounds=(0.0, math.inf)),
    GateRule("max_drawdown", "max_drawdown", "max drawdown", "<=", ".1%", value=_size),
    GateRule("min_wfe", "wfe", "WFE", ">=", ".2f", bounds=None),
    GateRule("max_spa_pvalue", "spa_pvalue", "SPA p-value", "<=", ".3f"),
    GateRule("min_breadth", "breadth", "breadth", ">=", ".0%"),
)

#: the failure message of the required ``tradeable`` gate
TRADEABLE = "no parameters to trade (the last fold found no feasible trial)"


def gates_from_spec(spec: Any) -> Gates:
    """The :class:`Gates` of an experiment's ``gates`` section (same names, same signs)."""
    return Gates(**{f.name: getattr(spec, f.name, f.default) for f in fields(Gates)})


def evaluate_gates(
    row: Mapping[str, Any], gates: Gates, *, tradeable: bool = True
) -> tuple[dict[str, bool], list[str]]:
    """``({gate: passed}, [failure messages])`` of one leaderboard row.

    The dict holds the enabled threshold gates; the messages also name the required
    ``tradeable`` gate when ``tradeable`` is False (always last).
    """
    results: dict[str, bool] = {}
    failed: list[str] = []
    for rule, threshold in gates.enabled():
        value = rule.value_of(row)
        if value is None:
            results[rule.name] = False
            failed.append(f"{rule.label} (not computed; set Gates.{rule.name}=None to disable)")
            continue
        ok = rule.passes(value, threshold)
        results[rule.name] = ok
        if not ok:
            bad = "<" if rule.op == ">=" else ">"
            shown, limit = _distinct(value, threshold, rule.fmt)
            failed.append(f"{rule.label} ({shown} {bad} {limit})")
    if not tradeable:
        failed.append(TRADEABLE)
    return results, failed


def _distinct(value: float, threshold: float, fmt: str) -> tuple[str, str]:
    """Format ``value`` and ``threshold`` with ``fmt``, adding digits until they differ.

    A PBO of 0.502 against a 0.5 limit reads "0.502 > 0.500", never "0.50 > 0.50".
    """
    shown, limit = f"{value:{fmt}}", f"{threshold:{fmt}}"
    kind = fmt[-1]
    digits = int(fmt[1:-1]) if fmt[1:-1].isdigit() else 2
    while shown == limit and digits < 8:
        digits += 1
        shown, limit = f"{value:.{digits}{kind}}", f"{threshold:.{digits}{kind}}"
    return shown, limit
