"""The spec's ``exits:`` and ``sizing:`` sections: reading them, and building
:class:`research.optimize.layers.TradeLayers` from them.

A value of these sections is fixed (a number), off (null, exits only) or **searched**: a mapping
``{low, high, log, step}`` (missing keys from the default range; ``{}`` is the default range) or
a list of choices. Searched values join the strategy's space (``exit_<name>``,
``sizing_<name>``). A strategy's own ``exits:`` / ``sizing:`` replace the global ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from data_loaders.errors import ConfigError, ParameterError
from research.optimize.layers import (
    EXIT_PREFIX,
    SIZING_METHODS,
    SIZING_OPTIONS,
    SIZING_PREFIX,
    TradeLayers,
)
from research.spec.reader import Reader, rule, short_repr
from research.spec.sections import ExitSpec, SizingSpec, StrategySpec
from strategies.params import Categorical, Float, Int, Param

__all__ = ["read_exits", "read_sizing", "build_layers", "searched_param"]

_LEVELS = (
    "stop_loss",
    "stop_loss_atr",
    "take_profit",
    "take_profit_atr",
    "trailing_stop",
    "trailing_stop_atr",
    "time_stop",
    "break_even",
)
_RANGE_KEYS = {"low", "high", "log", "step"}


def _sizing_defaults() -> dict[str, Param]:
    return {
        "target_vol": Float(0.05, 0.5, log=True),
        "window": Int(5, 120, log=True),
        "max_leverage": Float(0.25, 1.0),
        "fraction": Float(0.1, 1.0),
        "cap": Float(0.25, 1.0),
    }


def searched_param(value: Any, default: Param, key: str) -> Param | None:
    """The hyperparameter of a searched value (mapping or list), or None for a fixed value.

    Raises:
        ConfigError: unknown range keys, bounds that make no range, empty choices.
    """
    try:
        if isinstance(value, Mapping):
            bad = sorted(set(value) - _RANGE_KEYS)
            if bad:
                raise ConfigError(
                    f"{key}: unknown key {bad[0]!r} (a range has low, high, log, step)"
                )
            kind = Int if isinstance(default, Int) else Float
            log = bool(value.get("log", default.log))
            kw: dict[str, Any] = {"log": log}
            if value.get("step") is not None and not log:
                kw["step"] = value["step"]
            return kind(value.get("low", default.low), value.get("high", default.high), **kw)
        if isinstance(value, list):
            if not value:
                raise ConfigError(f"{key}: a list of choices must not be empty")
            return Categorical(value)
    except ParameterError as exc:
        raise ConfigError(f"{key}: {exc}") from None
    return None


def read_exits(r: Reader, raw: Any, key: str) -> ExitSpec:
    """``exits:`` as an :class:`ExitSpec` (every searched range checked here)."""
    from backtest.exits import INTRABAR, REENTRY, Exits
    from strategies.exit_params import exit_space

    m = r.mapping(raw or {}, key)
    r.keys(m, key, {f.name for f in fields(ExitSpec)})
    defaults = exit_space()
    kw: dict[str, Any] = {}
    for name in _LEVELS:
        value = m.get(name)
        if value is None:
            continue
        if searched_param(value, defaults[name], f"{key}.{name}") is None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise r.err(
                    f"{key}.{name}", f"must be a number, a range or a list, got {short_repr(value)}"
                )
            try:
                Exits(**{name: value})
            except ParameterError as exc:
                raise r.err(f"{key}.{name}", str(exc).split(": ", 1)[-1]) from None
        kw[name] = value
    rules = {
        "atr_window": rule("int_", low=1),
        "intrabar": rule("str_", choices=INTRABAR),
        "reentry": rule("str_", choices=REENTRY),
    }
    return ExitSpec(**kw, **r.read(m, key, rules))


def read_sizing(r: Reader, raw: Any, key: str) -> SizingSpec:
    """``sizing:`` as a :class:`SizingSpec` (a string is the method)."""
    if isinstance(raw, str):
        raw = {"method": raw}
    m = r.mapping(raw or {}, key)
    r.keys(m, key, {f.name for f in fields(SizingSpec)})
    kw = r.read(m, key, {"method": rule("str_", choices=SIZING_METHODS)})
    defaults = _sizing_defaults()
    for name, default in defaults.items():
        if name not in m:
            continue
        value = m[name]
        if searched_param(value, default, f"{key}.{name}") is None:
            if isinstance(default, Int):
                value = r.int_(value, f"{key}.{name}", low=2)
            else:
                value = r.float_(value, f"{key}.{name}", low=0, low_open=True)
        kw[name] = value
    return SizingSpec(**kw, **r.read(m, key, {"whole_units": rule("bool_")}))


def build_layers(
    exp: Any, spec: StrategySpec, periods_per_year: float, *, key: str = "strategies[0]"
) -> TradeLayers:
    """The :class:`TradeLayers` of one strategy: its own ``exits``/``sizing`` or the global ones."""
    from strategies.exit_params import exit_space

    ex = spec.exits if spec.exits is not None else exp.exits
    sz = spec.sizing if spec.sizing is not None else exp.sizing
    space: dict[str, Param] = {}
    fixed: dict[str, Any] = {"atr_window": ex.atr_window, "intrabar": ex.intrabar,
                             "reentry": ex.reentry}  # fmt: skip
    defaults = exit_space()
    for name in _LEVELS:
        value = getattr(ex, name)
        if value is None:
            continue
        p = searched_param(value, defaults[name], f"{key}.exits.{name}")
        if p is None:
            fixed[name] = value
        else:
            space[EXIT_PREFIX + name] = p
    options: dict[str, Any] = {}
    sizing_defaults = _sizing_defaults()
    for name in SIZING_OPTIONS[sz.method]:
        if name == "step":
            continue
        value = getattr(sz, name)
        p = searched_param(value, sizing_defaults[name], f"{key}.sizing.{name}")
        if p is None:
            options[name] = value
        else:
            space[SIZING_PREFIX + name] = p
    for name, p in space.items():
        p.__set_name__(None, name)
    return TradeLayers(
        exits=fixed,
        sizing=sz.method,
        sizing_options=options,
        whole_units=sz.whole_units,
        space=space,
        periods_per_year=float(periods_per_year),
    )
