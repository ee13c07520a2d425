"""Check an :class:`Experiment` against what is installed: strategies and their parameters,
space overrides within the declared bounds, optimizers, their options, objectives and pruner."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from data_loaders.errors import ConfigError, did_you_mean
from research.spec.sections import Experiment, StrategySpec

__all__ = ["validate_experiment", "resolve_strategy"]


def validate_experiment(exp: Experiment) -> None:
    """Check references: strategies load, space overrides name real parameters within their
    declared bounds, optimizers exist, take their options and can handle the objectives and the
    pruner. Raises :class:`ConfigError` naming the key."""
    src = exp.path or "<spec>"
    for i, s in enumerate(exp.strategies):
        resolve_strategy(s, key=f"{src}: strategies[{i}]")
    names = _optimizer_names()
    if names is None:
        return
    from data_loaders.errors import ParameterError, ResearchError
    from research.optimize import get_optimizer, optimizer_class

    for i, o in enumerate(exp.optimizers):
        key = f"{src}: optimizers[{i}]"
        if o.name not in names:
            raise ConfigError(
                f"{key}.name: unknown optimizer {o.name!r}{did_you_mean(o.name, names)}"
            )
        try:
            opt = get_optimizer(o.name, **o.options)
        except ParameterError as exc:
            raise ConfigError(f"{key}.options: {exc}") from None
        except ResearchError as exc:  # a missing optional dependency
            raise ConfigError(f"{key}.name: {exc}") from None
        if exp.multi_objective and not opt.multi_objective:
            multi = [n for n in names if optimizer_class(n).multi_objective]
            raise ConfigError(
                f"{key}.name: {o.name!r} handles one objective and the spec has "
                f"{len(exp.objectives)}; use one of {multi}"
            )
        if exp.budget.pruner is not None and not opt.supports_pruning:
            raise ConfigError(
                f"{key}.name: {o.name!r} cannot prune, and budget.pruner is "
                f"{exp.budget.pruner!r}; use an Optuna optimizer (tpe, random, cmaes) or drop "
                "the pruner"
            )
    if exp.budget.pruner is not None and exp.multi_objective:
        raise ConfigError(
            f"{src}: budget.pruner: pruning needs one objective, the spec has "
            f"{len(exp.objectives)}; drop the pruner or keep one objective"
        )


def resolve_strategy(spec: StrategySpec, *, key: str = "strategies[0]") -> type:
    """The strategy class of ``spec`` with its space overrides applied.

    Returns the registered class itself when there are no overrides, otherwise a subclass whose
    overridden parameters are re-declared (fixed value: a one-choice ``Categorical``; choices: a
    ``Categorical``; narrowed bounds: the same ``Int``/``Float`` type with the new bounds). Raises
    :class:`ConfigError` naming ``key`` for an unknown strategy or parameter, or an override
    outside the declared space.
    """
    from data_loaders.errors import ResearchError
    from strategies.registry import get_strategy

    try:
        cls = get_strategy(spec.name)
    except ResearchError as exc:
        raise ConfigError(f"{key}.name: {exc}") from None
    if not spec.space:
        return cls
    return with_overrides(cls, spec.space, key)


def with_overrides(cls: type, space: Mapping[str, Any], key: str = "strategies[0]") -> type:
    """``cls`` with the space overrides ``space`` (see :func:`resolve_strategy`). The subclass
    carries ``__class_reduce__``: a worker rebuilds it from ``cls`` and ``space`` (it does not
    pickle by reference, its name being the registered class's)."""
    declared = cls.space()
    attrs: dict[str, Any] = {}
    for pname, ov in space.items():
        pkey = f"{key}.space.{pname}"
        if pname not in declared:
            raise ConfigError(
                f"{pkey}: unknown parameter of {cls.label()}{did_you_mean(pname, declared)}"
            )
        attrs[pname] = _override_param(declared[pname], ov, pkey)
    attrs.update(
        {
            "__module__": cls.__module__,
            "__qualname__": cls.__qualname__,
            "__doc__": cls.__doc__,
            "name": cls.label(),
            "space_overrides": copy.deepcopy(dict(space)),
            "__class_reduce__": (with_overrides, (cls, copy.deepcopy(dict(space)), key)),
        }
    )
    return type(cls.__name__, (cls,), attrs)


def _override_param(p: Any, ov: Any, key: str) -> Any:
    from data_loaders.errors import ParameterError
    from strategies.params import Categorical, Float, Int

    try:
        if isinstance(ov, Mapping):
            if not isinstance(p, Int | Float):
                raise ConfigError(
                    f"{key}: bounds apply to numeric parameters; {p.name!r} is categorical "
                    f"with choices {list(p.choices)} (give a list of choices instead)"
                )
            low = ov.get("low", p.low)
            high = ov.get("high", p.high)
            if low < p.low or high > p.high:
                raise ConfigError(
                    f"{key}: bounds [{low}, {high}] must lie inside the declared "
                    f"[{p.low}, {p.high}]"
                )
            log = ov.get("log", p.log)
            step = ov.get("step", p.step)
            if isinstance(p, Int):
                default = min(max(p.default, low), high)
                return Int(
                    int(low),
                    int(high),
                    step=int(step or 1),
                    log=log,
                    when=p.when,
                    default=_snap_int(default, int(low), int(high), int(step or 1)),
                )
            default = min(max(p.default, low), high)
            if step:
                default = low + round((default - low) / step) * step
                default = min(max(default, low), high)
            return Float(float(low), float(high), step=step, log=log, when=p.when, default=default)
        if isinstance(ov, list):
            choices = [p.validate(v) for v in ov]
            default = p.default if p.default in choices else choices[0]
            return Categorical(choices, default=default, when=p.when)
        value = p.validate(ov)
        return Categorical([value], default=value, when=p.when)
    except ParameterError as exc:
        raise ConfigError(f"{key}: {exc}") from None


def _snap_int(value: int, low: int, high: int, step: int) -> int:
    k = round((value - low) / step)
    return int(min(max(low + k * step, low), high))


def _optimizer_names() -> list[str] | None:
    try:
        from research.optimize import list_optimizers
    except ImportError:
        return None
    return sorted(list_optimizers())
