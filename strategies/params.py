"""Typed hyperparameter declarations: the one search space every optimizer reads.

A strategy declares each hyperparameter once, class-level::

    class SmaCross(Strategy):
        fast = Int(2, 100, default=10)
        slow = Int(5, 400, default=30)
        constraints = ("fast < slow",)

Each declaration carries its type, bounds, step, log scale, choices and an optional condition
(``when={"exit_mode": ["atr"]}``: the parameter is active only when ``exit_mode`` is ``"atr"``; an
inactive parameter takes its default). Constraints are strings ``"a OP b"`` where ``a`` and ``b``
are parameter names or numbers and ``OP`` is one of ``< <= > >= == !=``.

Optimizers map these to Optuna distributions and DEAP genomes; nothing else describes a space.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from data_loaders.errors import ParameterError, did_you_mean

__all__ = [
    "Param",
    "Int",
    "Float",
    "Categorical",
    "Constraint",
    "parse_constraint",
    "validate_params",
    "constraint_violations",
    "active_params",
]

_OPS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_CONSTRAINT_RE = re.compile(
    r"^\s*([A-Za-z_][\w]*|-?[\d.]+(?:e-?\d+)?)\s*(<=|>=|==|!=|<|>)\s*([A-Za-z_][\w]*|-?[\d.]+(?:e-?\d+)?)\s*$"
)


class Param:
    """Base of a declared hyperparameter. Subclasses: :class:`Int`, :class:`Float`, :class:`Categorical`.

    Used as a class attribute of a :class:`~strategies.Strategy`; reading it on an instance gives
    the instance's value, on the class gives the declaration. ``when`` makes it conditional.
    """

    kind = ""

    def __init__(
        self, *, default: Any = None, when: Mapping[str, Sequence[Any]] | None = None
    ) -> None:
        self.default = default
        self.when = {k: tuple(v) for k, v in (when or {}).items()}
        self.name = ""

    # --- descriptor protocol -------------------------------------------------------------------
    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        return obj._params[self.name]

    # --- API used by strategies and optimizers -------------------------------------------------
    def validate(self, value: Any) -> Any:
        """Return ``value`` coerced to this parameter's type or raise :class:`ParameterError`."""
        raise NotImplementedError

    def grid(self, n: int = 10) -> list[Any]:
        """Up to ``n`` evenly spaced values covering the space (log-spaced when ``log``)."""
        raise NotImplementedError

    def is_active(self, params: Mapping[str, Any]) -> bool:
        """Whether this parameter is active given the other values (see ``when``)."""
        return all(params.get(k) in v for k, v in self.when.items())

    def _fail(self, rule: str, value: Any) -> ParameterError:
        return ParameterError(f"`{self.name}` must be {rule}, got {self.name}={value!r}")

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{k}={v!r}" for k, v in vars(self).items() if k != "name" and v not in (None, {})
        )
        return f"{type(self).__name__}({fields})"


class _Numeric(Param):
    """Shared logic of :class:`Int` and :class:`Float`: bounds, step, log scale, grids."""

    def __init__(
        self,
        low: float,
        high: float,
        *,
        step: float | None = None,
        log: bool = False,
        default: Any = None,
        when: Mapping[str, Sequence[Any]] | None = None,
    ) -> None:
        super().__init__(default=default, when=when)
        low, high, step = self._cast(low), self._cast(high), self._step(step)
        self.low, self.high, self.step, self.log = low, high, step, log
        if not low < high:
            raise ParameterError(f"parameter bounds need low < high, got low={low}, high={high}")
        if log and low <= 0:
            raise ParameterError(f"a log-scale parameter needs low > 0, got low={low}")
        if log and step not in (None, 1):
            raise ParameterError("a log-scale parameter cannot have a step other than 1")
        if default is None:
            self.default = self._snap(math.sqrt(low * high) if log else (low + high) / 2)
        else:
            self.default = self.validate(default)

    #: what a valid value is (in messages) and the type a valid value is cast to
    _expected: str
    _cast: Callable[[Any], Any]

    def _snap(self, value: float) -> Any:
        raise NotImplementedError

    @staticmethod
    def _step(step: Any) -> Any:
        """The step as stored (None: no step)."""
        return step

    @staticmethod
    def _accepts(number: float) -> bool:
        raise NotImplementedError

    def validate(self, value: Any) -> Any:
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not is_number or not self._accepts(value):
            raise self._fail(self._expected, value)
        value = self._cast(value)
        self._check_range(value)
        return value

    def _check_range(self, value: float) -> None:
        if not (self.low <= value <= self.high):
            raise self._fail(f"in [{self.low}, {self.high}]", value)
        if self.step:
            k = (value - self.low) / self.step
            if abs(k - round(k)) > 1e-9:
                raise self._fail(f"{self.low} + k*{self.step} for an integer k", value)

    def grid(self, n: int = 10) -> list[Any]:
        if self.log:
            raw = [math.exp(x) for x in _linspace(math.log(self.low), math.log(self.high), n)]
        elif self.step:
            count = int(round((self.high - self.low) / self.step)) + 1
            idx = sorted({int(round(i)) for i in _linspace(0, count - 1, min(n, count))})
            raw = [self.low + i * self.step for i in idx]
        else:
            raw = _linspace(self.low, self.high, n)
        out: list[Any] = []
        for v in raw:
            s = self._snap(v)
            if s not in out:
                out.append(s)
        return out


class Int(_Numeric):
    """Integer hyperparameter in ``[low, high]`` (both inclusive), optional ``step`` (1 by default)
    and ``log``."""

    kind = "int"
    _expected, _cast = "an integer", int

    @staticmethod
    def _step(step: Any) -> int:
        return 1 if step is None else int(step)

    def _snap(self, value: float) -> int:
        k = round((value - self.low) / self.step)
        return int(min(max(self.low + k * self.step, self.low), self.high))

    @staticmethod
    def _accepts(number: float) -> bool:
        return float(number).is_integer()


class Float(_Numeric):
    """Float hyperparameter in ``[low, high]``, optional ``step`` (discretised) and ``log`` scale."""

    kind = "float"
    _expected, _cast = "a finite number", float

    def _snap(self, value: float) -> float:
        if self.step:
            value = self.low + round((value - self.low) / self.step) * self.step
        return float(min(max(value, self.low), self.high))

    @staticmethod
    def _accepts(number: float) -> bool:
        return math.isfinite(number)


class Categorical(Param):
    """One of a fixed list of ``choices`` (strings, numbers or booleans)."""

    kind = "categorical"

    def __init__(
        self,
        choices: Sequence[Any],
        *,
        default: Any = None,
        when: Mapping[str, Sequence[Any]] | None = None,
    ) -> None:
        super().__init__(default=None, when=when)
        self.choices = tuple(choices)
        if not self.choices:
            raise ParameterError("a categorical parameter needs at least one choice")
        self.default = self.choices[0] if default is None else self.validate(default)

    def validate(self, value: Any) -> Any:
        for c in self.choices:
            if value == c and isinstance(value, bool) == isinstance(c, bool):
                return c
        raise self._fail(f"one of {list(self.choices)}", value)

    def grid(self, n: int = 10) -> list[Any]:
        return list(self.choices)


@dataclass(frozen=True)
class Constraint:
    """A parsed cross-parameter constraint ``left OP right``."""

    text: str
    left: str | float
    op: str
    right: str | float

    def holds(self, params: Mapping[str, Any]) -> bool:
        a = params[self.left] if isinstance(self.left, str) else self.left
        b = params[self.right] if isinstance(self.right, str) else self.right
        return bool(_OPS[self.op](a, b))

    def message(self, params: Mapping[str, Any]) -> str:
        names = [x for x in (self.left, self.right) if isinstance(x, str)]
        got = ", ".join(f"{n}={params[n]!r}" for n in names)
        lhs = f"`{self.left}`" if isinstance(self.left, str) else repr(self.left)
        rhs = f"`{self.right}`" if isinstance(self.right, str) else repr(self.right)
        return f"{lhs} must be {self.op} {rhs}, got {got}"


def parse_constraint(text: str, names: Sequence[str]) -> Constraint:
    """Parse ``"fast < slow"`` into a :class:`Constraint`, checking the names exist."""
    m = _CONSTRAINT_RE.match(text)
    if not m:
        raise ParameterError(
            f"constraint {text!r} must look like 'a < b' (operators: {' '.join(_OPS)})"
        )
    parts: list[str | float] = []
    for tok in (m.group(1), m.group(3)):
        if re.match(r"^[A-Za-z_]", tok):
            if tok not in names:
                raise ParameterError(
                    f"constraint {text!r} names unknown parameter {tok!r}{did_you_mean(tok, names)}"
                )
            parts.append(tok)
        else:
            parts.append(float(tok))
    return Constraint(text=text, left=parts[0], op=m.group(2), right=parts[1])


def active_params(space: Mapping[str, Param], params: Mapping[str, Any]) -> dict[str, bool]:
    """Map each parameter name to whether it is active under ``params``."""
    return {name: p.is_active(params) for name, p in space.items()}


def constraint_violations(
    constraints: Sequence[Constraint], params: Mapping[str, Any]
) -> list[str]:
    """Messages of every constraint that ``params`` breaks (empty when feasible)."""
    return [c.message(params) for c in constraints if not c.holds(params)]


def validate_params(
    space: Mapping[str, Param],
    constraints: Sequence[Constraint],
    params: Mapping[str, Any],
    *,
    owner: str = "strategy",
) -> dict[str, Any]:
    """Fill defaults, coerce and check ``params`` against ``space`` and ``constraints``.

    Raises :class:`ParameterError` for an unknown name (with "did you mean"), a value outside its
    space (naming the rule), or a broken constraint (naming both values).
    """
    for key in params:
        if key not in space:
            raise ParameterError(f"unknown parameter {key!r} for {owner}{did_you_mean(key, space)}")
    out = {name: p.default for name, p in space.items()}
    for key, value in params.items():
        out[key] = space[key].validate(value)
    for name, p in space.items():  # inactive conditional parameters fall back to their default
        if not p.is_active(out):
            out[name] = p.default
    violations = constraint_violations(constraints, out)
    if violations:
        raise ParameterError(f"{owner}: {violations[0]}")
    return out


def _linspace(a: float, b: float, n: int) -> list[float]:
    if n <= 1:
        return [a]
    return [a + (b - a) * i / (n - 1) for i in range(n)]
