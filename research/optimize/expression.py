"""Objectives users write: arithmetic over metric names, evaluated safely (no ``eval``).

A spec may say ``objective: "sharpe_ratio - 0.5 * abs(max_drawdown)"`` or use an expression as a
guardrail (``"n_trades >= 20 and max_drawdown > -0.3"``). :class:`MetricExpression` parses the
text once with :func:`ast.parse` and accepts only this grammar, refusing anything else in one
line that names the offending part and its column:

* numbers (``int``/``float`` literals), metric names (the names given; unknown names get a
  "did you mean"), ``True``/``False``;
* ``+ - * / % **``, unary ``- +``, ``not``, comparisons (``< <= > >= == !=``, chained),
  ``and``/``or``, and ``a if cond else b``;
* calls of ``abs, min, max, sqrt, log, exp, clip(x, lo, hi)``.

No attribute access, subscripts, lambdas, comprehensions or other names exist, so an expression
cannot reach Python objects. The text is limited to :data:`MAX_CHARS` characters and
:data:`MAX_NODES` syntax nodes; arithmetic is in floats and never raises (``x / 0`` is ``inf``,
``nan`` or ``-inf``; an overflowing power is ``inf``); a NaN metric gives a NaN result.

The **probabilistic Sharpe ratio** is offered as a metric, ``psr``: :func:`psr_metric` computes
it from a trial's per-period returns (Bailey & Lopez de Prado 2012, via
:func:`research.overfitting.probabilistic_sharpe_ratio`), so ``objective: psr`` or
``"psr - 0.1 * turnover"`` work once the caller adds it to the metrics (:func:`with_psr`).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from data_loaders.errors import ConfigError, did_you_mean

__all__ = ["MetricExpression", "MAX_CHARS", "MAX_NODES", "FUNCTIONS", "psr_metric", "with_psr"]

MAX_CHARS = 500
MAX_NODES = 200


def _clip(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


def _safe(fn: Callable[..., float]) -> Callable[..., float]:
    def call(*args: float) -> float:
        try:
            return float(fn(*args))
        except (ValueError, OverflowError):  # log(-1), exp(1e6): NaN / inf, never an exception
            return math.inf if fn is math.exp else math.nan

    return call


#: the functions an expression may call, by name, with their number of arguments
FUNCTIONS: dict[str, tuple[Callable[..., float], tuple[int, ...]]] = {
    "abs": (abs, (1,)),
    "min": (min, (2, 3, 4, 5, 6, 7, 8)),
    "max": (max, (2, 3, 4, 5, 6, 7, 8)),
    "sqrt": (_safe(math.sqrt), (1,)),
    "log": (_safe(math.log), (1,)),
    "exp": (_safe(math.exp), (1,)),
    "clip": (_clip, (3,)),
}
_BINOPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: _div(a, b),
    ast.Mod: lambda a, b: math.nan if b == 0 else math.fmod(a, b),
    ast.Pow: lambda a, b: _pow(a, b),
}
_CMPOPS = {
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
}


def _div(a: float, b: float) -> float:
    if b != 0:
        return a / b
    if a == 0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * (math.copysign(1.0, b))


def _pow(a: float, b: float) -> float:
    try:
        out = a**b
    except OverflowError:
        return math.inf
    except ZeroDivisionError:
        return math.inf
    return out if isinstance(out, float | int) else math.nan  # a negative base: complex


class MetricExpression:
    """A parsed, checked expression over metric names; call it on a metrics mapping.

    Args:
        text: the expression (see the module docstring for the grammar).
        names: the metric names it may use.
        where: what to name in error messages (e.g. ``"objective"``).

    Attributes:
        names_used: the metric names the expression reads, in order of first use.

    Raises:
        ConfigError: empty or too long text, a syntax error, a construct outside the grammar,
            an unknown name or function, or a call with the wrong number of arguments.
    """

    def __init__(self, text: str, names: Iterable[str], *, where: str = "expression") -> None:
        self.text = text
        self.where = where
        self._names = tuple(names)
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"{where}: the expression is empty")
        if len(text) > MAX_CHARS:
            raise ConfigError(
                f"{where}: the expression has {len(text)} characters (max {MAX_CHARS})"
            )
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise ConfigError(
                f"{where}: {text!r} is not a valid expression ({exc.msg} at column {exc.offset})"
            ) from None
        count = sum(1 for _ in ast.walk(tree))
        if count > MAX_NODES:
            raise ConfigError(f"{where}: the expression has {count} parts (max {MAX_NODES})")
        self.names_used: list[str] = []
        self._check(tree.body)
        self._tree = tree.body

    # --- checking ------------------------------------------------------------------------------
    def _fail(self, node: ast.AST, what: str) -> ConfigError:
        col = getattr(node, "col_offset", 0) + 1
        return ConfigError(f"{self.where}: {what} at column {col} of {self.text!r}")

    def _check(self, node: ast.AST) -> None:
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, bool | int | float):
                raise self._fail(node, f"only numbers are allowed, got {node.value!r}")
            return
        if isinstance(node, ast.Name):
            if node.id not in self._names:
                raise self._fail(
                    node, f"unknown metric {node.id!r}{did_you_mean(node.id, self._names)}"
                )
            if node.id not in self.names_used:
                self.names_used.append(node.id)
            return
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            self._check(node.left)
            self._check(node.right)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd | ast.Not):
            self._check(node.operand)
        elif isinstance(node, ast.BoolOp):
            for value in node.values:
                self._check(value)
        elif isinstance(node, ast.Compare) and all(type(op) in _CMPOPS for op in node.ops):
            for part in (node.left, *node.comparators):
                self._check(part)
        elif isinstance(node, ast.IfExp):
            for part in (node.test, node.body, node.orelse):
                self._check(part)
        elif isinstance(node, ast.Call):
            self._check_call(node)
        else:
            raise self._fail(node, f"{type(node).__name__} is not allowed")

    def _check_call(self, node: ast.Call) -> None:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            raise self._fail(
                node,
                f"unknown function {name!r}{did_you_mean(name, FUNCTIONS)}",
            )
        if node.keywords or len(node.args) not in FUNCTIONS[node.func.id][1]:
            raise self._fail(
                node, f"{node.func.id}() takes {FUNCTIONS[node.func.id][1][0]} argument(s)"
            )
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self._fail(arg, "*arguments are not allowed")
            self._check(arg)

    # --- evaluation ----------------------------------------------------------------------------
    def __call__(self, metrics: Mapping[str, Any]) -> float:
        """The expression's value (a float; booleans as 1.0 / 0.0) for one trial's metrics."""
        missing = [n for n in self.names_used if n not in metrics]
        if missing:
            raise ConfigError(f"{self.where}: metric {missing[0]!r} is missing from the trial")
        return float(self._eval(self._tree, metrics))

    def _eval(self, node: ast.AST, m: Mapping[str, Any]) -> float:
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            value = m[node.id]
            return math.nan if value is None else float(value)
        if isinstance(node, ast.BinOp):
            return _BINOPS[type(node.op)](self._eval(node.left, m), self._eval(node.right, m))
        if isinstance(node, ast.UnaryOp):
            x = self._eval(node.operand, m)
            if isinstance(node.op, ast.Not):
                return float(not x)
            return -x if isinstance(node.op, ast.USub) else x
        if isinstance(node, ast.BoolOp):
            values = [self._eval(v, m) for v in node.values]
            test = all if isinstance(node.op, ast.And) else any
            return float(test(bool(v) for v in values))
        if isinstance(node, ast.Compare):
            left = self._eval(node.left, m)
            for op, right_node in zip(node.ops, node.comparators):
                right = self._eval(right_node, m)
                if not _CMPOPS[type(op)](left, right):
                    return 0.0
                left = right
            return 1.0
        if isinstance(node, ast.IfExp):
            branch = node.body if self._eval(node.test, m) else node.orelse
            return self._eval(branch, m)
        args = [self._eval(a, m) for a in node.args]
        if any(math.isnan(a) for a in args):
            return math.nan
        return float(FUNCTIONS[node.func.id][0](*args))

    def __repr__(self) -> str:
        return f"MetricExpression({self.text!r})"


def psr_metric(returns: Any, sharpe_benchmark: float = 0.0) -> float:
    """Probabilistic Sharpe ratio of per-period ``returns`` against a per-period benchmark SR.

    Sharpe per period (sample std, ``ddof=1``), sample skewness and raw kurtosis of the returns;
    NaN with fewer than 3 finite returns or zero variance. In ``[0, 1]``: the probability that the
    true Sharpe ratio exceeds the benchmark.
    """
    from research.overfitting import probabilistic_sharpe_ratio

    r = np.asarray(returns, dtype=np.float64)
    r = r[np.isfinite(r)]
    if r.size < 3:
        return math.nan
    sd = r.std(ddof=1)
    if not sd > 0:
        return math.nan
    centred = r - r.mean()
    m2 = np.mean(centred**2)
    skew = float(np.mean(centred**3) / m2**1.5)
    kurt = float(np.mean(centred**4) / m2**2)
    return probabilistic_sharpe_ratio(
        float(r.mean() / sd), int(r.size), skew, kurt, sharpe_benchmark
    )


def with_psr(metrics: Mapping[str, Any], returns: Any, sharpe_benchmark: float = 0.0) -> dict:
    """``metrics`` plus ``psr`` (:func:`psr_metric` of the trial's returns)."""
    return {**metrics, "psr": psr_metric(returns, sharpe_benchmark)}
