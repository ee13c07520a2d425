"""The typed reader of spec values: every error names the source, the dotted key, the rule and
the value received (``spec.yaml: walk_forward.train: must be ...``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from data_loaders.errors import ConfigError, did_you_mean

__all__ = ["Reader", "Rule", "rule", "short_repr"]


@dataclass(frozen=True)
class Rule:
    """How one key of a section is read: the :class:`Reader` method (``"int_"``, ``"float_"``,
    ``"str_"``, ``"bool_"``, ``"size"``, ``"fraction"``), its bounds or choices (``args``), and
    what an explicit null means: ``"error"`` (refused by the typed reader), ``"skip"`` (the
    default stays) or ``"keep"`` (the value is None)."""

    kind: str
    null: str = "error"
    args: Mapping[str, Any] = field(default_factory=dict)


def rule(kind: str, null: str = "error", /, **args: Any) -> Rule:
    """``rule("int_", low=1)``: shorthand for :class:`Rule`."""
    return Rule(kind, null, args)


class Reader:
    """Small typed reader that names the dotted key in every error."""

    def __init__(self, source: str) -> None:
        self.source = source

    def err(self, key: str, rule: str) -> ConfigError:
        where = f"{self.source}: {key}" if key else self.source
        return ConfigError(f"{where}: {rule}")

    def mapping(self, value: Any, key: str) -> dict:
        if not isinstance(value, Mapping):
            what = "the file" if not key else key
            raise ConfigError(
                f"{self.source}: {what}: must be a mapping (key: value), "
                f"got {type(value).__name__} {short_repr(value)}"
            )
        for k in value:
            if not isinstance(k, str):
                raise self.err(key, f"keys must be strings, got {k!r}")
        return dict(value)

    def keys(self, m: Mapping, key: str, allowed: set[str] | type) -> None:
        """Refuse a key not in ``allowed`` (a set of names, or a dataclass: its fields)."""
        if isinstance(allowed, type):
            allowed = {f.name for f in fields(allowed)}
        for k in m:
            if k not in allowed:
                full = f"{key}.{k}" if key else k
                raise self.err(full, f"unknown key{did_you_mean(k, allowed)}")

    def str_(self, value: Any, key: str, choices: Sequence[str] | None = None) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.err(key, f"must be a non-empty string, got {short_repr(value)}")
        if choices is not None and value not in choices:
            raise self.err(
                key, f"must be one of {list(choices)}, got {value!r}{did_you_mean(value, choices)}"
            )
        return value

    def bool_(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.err(key, f"must be true or false, got {short_repr(value)}")
        return value

    def int_(self, value: Any, key: str, *, low: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.err(key, f"must be an integer, got {short_repr(value)}")
        if isinstance(value, float) and not value.is_integer():
            raise self.err(key, f"must be an integer, got {value!r}")
        value = int(value)
        if low is not None and value < low:
            raise self.err(key, f"must be >= {low}, got {value}")
        return value

    def float_(
        self,
        value: Any,
        key: str,
        *,
        low: float | None = None,
        high: float | None = None,
        low_open: bool = False,
    ) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            raise self.err(key, f"must be a number, got {short_repr(value)}")
        value = float(value)
        if low is not None and (value < low or (low_open and value == low)):
            op = ">" if low_open else ">="
            raise self.err(key, f"must be {op} {low}, got {value}")
        if high is not None and value > high:
            raise self.err(key, f"must be <= {high}, got {value}")
        return value

    def opt(self, fn, value: Any, key: str, **kw: Any) -> Any:
        return None if value is None else fn(value, key, **kw)

    def fraction(self, value: Any, key: str) -> float:
        """A positive fraction in (0, 1] (a drawdown limit: ``0.25`` is 25%)."""
        v = self.float_(value, key)
        if not 0 < v <= 1:
            hint = f" (write {abs(v)} for a {abs(v):.0%} drawdown)" if -1 <= v < 0 else ""
            raise self.err(key, f"must be a positive fraction in (0, 1], got {v}{hint}")
        return v

    def read(self, m: Mapping, key: str, rules: Mapping[str, Rule]) -> dict[str, Any]:
        """The keys of ``m`` that ``rules`` names, each read by its :class:`Rule` (a key that
        is absent, or null under ``null="skip"``, is left out so the dataclass default holds)."""
        kw: dict[str, Any] = {}
        for name, how in rules.items():
            if name not in m or (m[name] is None and how.null == "skip"):
                continue
            if m[name] is None and how.null == "keep":
                kw[name] = None
                continue
            full = f"{key}.{name}" if key else name
            kw[name] = getattr(self, how.kind)(m[name], full, **how.args)
        return kw

    def section(
        self, raw: Any, key: str, cls: type, rules: Mapping[str, Rule], *, nullable: bool = False
    ) -> Any:
        """A section read as ``cls``: a mapping (``nullable``: null is an empty one) whose keys
        are ``cls``'s fields, each read by its rule."""
        m = self.mapping((raw or {}) if nullable else raw, key)
        self.keys(m, key, cls)
        return cls(**self.read(m, key, rules))

    def size(self, value: Any, key: str) -> str | int:
        """A walk-forward size: positive int bars or a duration like ``3Y``, ``6M``, ``180D``
        (checked by ``backtest.splitters.parse_size``, the parser the splitter uses)."""
        from backtest.splitters import parse_size
        from data_loaders.errors import ParameterError

        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int | str) or isinstance(value, bool):
            raise self.err(
                key, f"must be a number of bars or a duration like '3Y', got {short_repr(value)}"
            )
        try:
            parse_size(value.strip() if isinstance(value, str) else value, key.split(".")[-1])
        except ParameterError as exc:
            raise self.err(key, str(exc)) from None
        return value.strip() if isinstance(value, str) else value

    def date(self, value: Any, key: str) -> str:
        import datetime as dt

        if isinstance(value, dt.date):
            return value.isoformat()
        if not isinstance(value, str):
            raise self.err(key, f"must be an ISO date like 2010-01-31, got {short_repr(value)}")
        import pandas as pd

        try:
            pd.Timestamp(value)
        except (ValueError, TypeError):
            raise self.err(key, f"must be an ISO date like 2010-01-31, got {value!r}") from None
        return value

    def str_list(self, value: Any, key: str) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple):
            raise self.err(key, f"must be a list of strings, got {short_repr(value)}")
        return tuple(self.str_(v, f"{key}[{i}]") for i, v in enumerate(value))


def short_repr(value: Any) -> str:
    """``repr(value)`` cut to 60 characters (for error messages)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
