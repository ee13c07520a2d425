"""Read an experiment spec (a YAML file or a mapping) into an :class:`Experiment`.

Unknown keys are refused with a "did you mean"; wrong types and values name the dotted key
(``walk_forward.train``), the rule and the value received. One reader per section
(:mod:`research.spec.settings` for the settings sections, :mod:`research.spec.lists` for
``strategies`` / ``optimizers`` / ``objectives``), then the checks that span sections
(:func:`_cross_checks`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from data_loaders.errors import ConfigError
from research.spec.lists import read_objectives, read_optimizers, read_strategies
from research.spec.reader import Reader, rule, short_repr
from research.spec.sections import DataSpec, Experiment, StrategySpec
from research.spec.settings import SECTION_READERS, read_data, read_explore

__all__ = [
    "load_experiment",
    "parse_experiment",
    "default_experiment_dict",
    "apply_overrides",
    "experiment_hash",
]

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_TOP_KEYS = {f.name for f in fields(Experiment)} - {"path"} | {"optimizer", "objective"}
_TOP_LEVEL = {
    "seed": rule("int_", low=0),
    "storage": rule("str_", "skip"),
    "workers": rule("int_", low=1),
    "lookahead": rule("str_", choices=("error", "warn", "off")),
    "scheduler": rule("str_", "skip"),
}


def load_experiment(path: str | Path) -> Experiment:
    """Read and check a YAML experiment file; raises :class:`ConfigError` naming the key."""
    from research._yaml import load_yaml

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"experiment file {str(p)!r} not found")
    raw = load_yaml(p)
    return parse_experiment(raw, source=str(p))


def parse_experiment(raw: Any, *, source: str = "<spec>") -> Experiment:
    """Check a mapping (as read from YAML) and build an :class:`Experiment`.

    Raises :class:`ConfigError` whose message starts with ``source`` and the dotted key.
    """
    r = Reader(source)
    m = r.mapping(raw, "")
    r.keys(m, "", _TOP_KEYS)
    if "name" not in m:
        raise r.err("name", "is required (a short identifier such as 'quickstart')")
    name = r.str_(m["name"], "name")
    if not _NAME_RE.match(name):
        raise r.err("name", f"must be letters, digits, '_', '.', '-' (a folder name), got {name!r}")
    if "data" not in m:
        raise r.err("data", "is required (e.g. data: {source: sample:sp500})")
    if "strategies" not in m:
        raise r.err("strategies", "is required (e.g. strategies: [sma_cross])")
    kw: dict[str, Any] = {
        "name": name,
        "data": read_data(r, m["data"]),
        "strategies": read_strategies(r, m["strategies"]),
        "path": None if source == "<spec>" else source,
    }
    if m.get("description") is not None:
        if not isinstance(m["description"], str):
            raise r.err("description", f"must be text, got {short_repr(m['description'])}")
        kw["description"] = m["description"]
    if "explore" in m:
        kw["explore"] = read_explore(r, m["explore"])
    for one, many, reader in (
        ("optimizer", "optimizers", read_optimizers),
        ("objective", "objectives", read_objectives),
    ):
        if one in m and many in m:
            raise r.err(one, f"give either `{one}` or `{many}`, not both")
        if one in m or many in m:
            key = one if one in m else many
            kw[many] = reader(r, m[key], key)
    for key in SECTION_READERS:
        if key in m:
            kw[key] = SECTION_READERS[key](r, m[key], key)
    if "lookahead" in m:  # YAML 1.1 reads a bare `off` as false
        m["lookahead"] = {False: "off", True: "error"}.get(m["lookahead"], m["lookahead"])
    exp = Experiment(**kw, **r.read(m, "", _TOP_LEVEL))
    _cross_checks(r, exp)
    return exp


def default_experiment_dict() -> dict[str, Any]:
    """Every key with its default value (``name``, ``data.source`` and ``strategies`` are
    required and shown as placeholders)."""
    exp = Experiment(
        name="my-experiment",
        data=DataSpec(source="sample:sp500"),
        strategies=(StrategySpec(name="sma_cross"),),
    )
    return exp.to_dict()


def apply_overrides(
    exp: Experiment,
    *,
    n_trials: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    storage: str | None = None,
) -> Experiment:
    """Apply command-line overrides (``--trials/--seed/--workers/--scheduler/--storage``)."""
    r = Reader("command line")
    changes: dict[str, Any] = {}
    if n_trials is not None:
        changes["budget"] = replace(exp.budget, n_trials=r.int_(n_trials, "--trials", low=1))
    if seed is not None:
        changes["seed"] = r.int_(seed, "--seed", low=0)
    if workers is not None:
        changes["workers"] = r.int_(workers, "--workers", low=1)
    if scheduler is not None:
        changes["scheduler"] = str(scheduler)
    if storage is not None:
        changes["storage"] = str(storage)
    return replace(exp, **changes) if changes else exp


def experiment_hash(exp: Experiment) -> str:
    """Short stable hash of the resolved spec (identifies "the same command" for resume)."""
    text = json.dumps(exp.to_dict(), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _cross_checks(r: Reader, exp: Experiment) -> None:
    if any(s.features == "explore" for s in exp.strategies) and not exp.explore.enabled:
        i = next(i for i, s in enumerate(exp.strategies) if s.features == "explore")
        raise r.err(
            f"strategies[{i}].features", "is 'explore' but exploration is off; add `explore: true`"
        )
    if exp.scheduler and not exp.storage:
        raise r.err(
            "scheduler",
            "a Dask scheduler needs a shared `storage` URL "
            "(e.g. postgresql://user@host/db) that every worker host can reach",
        )
