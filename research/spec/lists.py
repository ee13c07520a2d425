"""The list sections of a spec (``strategies``, ``optimizers``, ``objectives``): each is one
item or a non-empty list of items, and an item listed twice is refused.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from research.optimize.objectives import DEFAULT_DIRECTIONS, METRICS
from research.spec.layers import read_exits, read_sizing
from research.spec.reader import Reader, short_repr
from research.spec.sections import ObjectiveSpec, OptimizerSpec, StrategySpec

__all__ = ["read_strategies", "read_optimizers", "read_objectives"]


def _one_or_many(r: Reader, raw: Any, key: str, what: str) -> list:
    """A section that is one item or a non-empty list of items (``what`` says what one is)."""
    if isinstance(raw, str | Mapping):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise r.err(key, f"must be {what}a non-empty list, got {short_repr(raw)}")
    return raw


def _no_repeats(r: Reader, values: list, where: str, say: str) -> None:
    """Refuse a value listed twice: ``where`` and ``say`` are formatted with ``i`` and ``v``."""
    for i, v in enumerate(values):
        if values.index(v) != i:
            raise r.err(where.format(i=i), say.format(v=v))


def read_strategies(r: Reader, raw: Any) -> tuple[StrategySpec, ...]:
    out: list[StrategySpec] = []
    for i, item in enumerate(_one_or_many(r, raw, "strategies", "")):
        key = f"strategies[{i}]"
        if isinstance(item, str):
            item = {"name": item}
        m = r.mapping(item, key)
        r.keys(m, key, StrategySpec)
        if "name" not in m:
            raise r.err(f"{key}.name", "is required (a registry name or path/file.py:ClassName)")
        name = r.str_(m["name"], f"{key}.name")
        if m.get("label") is not None:
            label = r.str_(m["label"], f"{key}.label")
        else:  # default: the registry name, or the class name of a file:Class reference
            label = name.rsplit(":", 1)[-1] if ":" in name else name
        space = r.mapping(m.get("space") or {}, f"{key}.space")
        for pname, ov in space.items():
            _check_override_shape(r, ov, f"{key}.space.{pname}")
        features = m.get("features")
        if features is not None:
            if isinstance(features, str):
                if features != "explore":
                    raise r.err(
                        f"{key}.features",
                        f"must be 'explore' or a list of feature columns, got {features!r}",
                    )
            else:
                features = r.str_list(features, f"{key}.features")
        layers = {
            k: reader(r, m[k], f"{key}.{k}")
            for k, reader in (("exits", read_exits), ("sizing", read_sizing))
            if m.get(k) is not None
        }
        if m.get("mode") is not None:
            from research.spec.sections import UNIVERSE_MODES

            layers["mode"] = r.str_(m["mode"], f"{key}.mode", UNIVERSE_MODES)
        out.append(
            StrategySpec(
                name=name, label=label, space=copy.deepcopy(space), features=features, **layers
            )
        )
    _no_repeats(
        r,
        [s.label for s in out],
        "strategies[{i}].label",
        "duplicate strategy label {v!r}; give each repeated strategy a distinct `label`",
    )
    return tuple(out)


_OVERRIDE_KEYS = {"low", "high", "step", "log"}


def _check_override_shape(r: Reader, ov: Any, key: str) -> None:
    if isinstance(ov, Mapping):
        r.keys(ov, key, _OVERRIDE_KEYS)
        for k in ("low", "high", "step"):
            if ov.get(k) is not None:
                r.float_(ov[k], f"{key}.{k}")
        if "log" in ov:
            r.bool_(ov["log"], f"{key}.log")
    elif isinstance(ov, list):
        if not ov:
            raise r.err(key, "a list of choices must not be empty")
    elif ov is None:
        raise r.err(key, "must be a value, a list of choices or {low, high, step, log}, got null")


def read_optimizers(r: Reader, raw: Any, key: str) -> tuple[OptimizerSpec, ...]:
    out = []
    for i, item in enumerate(_one_or_many(r, raw, key, "an optimizer name or ")):
        k = f"{key}[{i}]"
        if isinstance(item, str):
            out.append(OptimizerSpec(name=r.str_(item, k)))
            continue
        m = r.mapping(item, k)
        r.keys(m, k, {"name", "options"})
        if "name" not in m:
            raise r.err(f"{k}.name", "is required (e.g. tpe, cmaes, ga)")
        options = r.mapping(m.get("options") or {}, f"{k}.options")
        out.append(OptimizerSpec(name=r.str_(m["name"], f"{k}.name"), options=options))
    _no_repeats(r, [o.name for o in out], key + "[{i}]", "optimizer {v!r} is listed twice")
    return tuple(out)


def read_objectives(r: Reader, raw: Any, key: str) -> tuple[ObjectiveSpec, ...]:
    items = _one_or_many(r, raw, key, "a metric name or ")
    out = [_objective(r, item, f"{key}[{i}]") for i, item in enumerate(items)]
    _no_repeats(
        r, [o.metric for o in out], key + "[{i}].metric", "metric {v!r} is an objective twice"
    )
    return tuple(out)


def _objective(r: Reader, item: Any, k: str) -> ObjectiveSpec:
    """One objective: a metric name, ``psr``, an expression, or a mapping of ``metric`` /
    ``expression`` (and its ``name``) with ``direction``."""
    from research.optimize.derived import expression_metric

    if isinstance(item, str):
        is_metric = item in METRICS or item == "psr" or item.isidentifier()
        item = {"metric": item} if is_metric else {"expression": item}
    m = r.mapping(item, k)
    r.keys(m, k, {f.name for f in fields(ObjectiveSpec)} | {"name"})
    if m.get("expression") is not None:
        text = r.str_(m["expression"], f"{k}.expression")
        if m.get("name") is not None and m.get("metric") is not None:
            raise r.err(k, "name an expression with `name` (or `metric`), not both")
        label = m.get("name") if m.get("name") is not None else m.get("metric")
        name = r.str_(label, f"{k}.name") if label is not None else text.strip()
        expression_metric(text, name, where=f"{r.source}: {k}.expression")
        direction = r.str_(
            m.get("direction", "maximize"), f"{k}.direction", ("maximize", "minimize")
        )
        return ObjectiveSpec(metric=name, direction=direction, expression=text)
    metric = r.str_(m.get("metric", "sharpe_ratio"), f"{k}.metric", (*METRICS, "psr"))
    direction = m.get("direction", DEFAULT_DIRECTIONS.get(metric, "maximize"))
    direction = r.str_(direction, f"{k}.direction", ("maximize", "minimize"))
    return ObjectiveSpec(metric=metric, direction=direction)
