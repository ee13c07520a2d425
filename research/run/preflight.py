"""Checks a run makes before it creates its folder (preflight), so that a spec mistake never
leaves an "unfinished" folder behind.

* :func:`check_outputs`: ``--out`` / ``--runs-root`` can be created and written (before the
  data is even loaded);
* :func:`check_storage`: the spec's ``storage:`` URL opens;
* :func:`check_explore`: the ``explore.spec`` reads;
* :func:`check_feasible`: every strategy imports and its space, with the spec's fixed values
  and narrowed ranges, holds at least one parameter set that meets the strategy's constraints.

Each raises :class:`~data_loaders.errors.ConfigError` with one line naming the key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from data_loaders.errors import ConfigError

__all__ = [
    "check_outputs",
    "check_storage",
    "check_explore",
    "check_feasible",
    "feasible_point",
    "preflight",
]

#: random parameter sets drawn when the defaults break a constraint
_DRAWS = 2000


def preflight(exp: Any, *, out_dir: Any = None, runs_root: Any = "runs") -> None:
    """Every check that needs neither data nor a run folder (see the module docstring)."""
    check_outputs(out_dir, runs_root)
    check_storage(exp)
    check_explore(exp)
    check_feasible(exp)


def check_outputs(out_dir: Any, runs_root: Any) -> None:
    """``--out`` (or, without it, ``--runs-root``) names a folder that exists or can be made,
    and that this process may write into."""
    flag, target = ("--out", out_dir) if out_dir is not None else ("--runs-root", runs_root)
    path = Path(target)
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        what = "is a file" if probe == path else f"is under the file {str(probe)!r}"
        raise ConfigError(f"{flag} {str(path)!r} {what}, not a folder; pass a folder path")
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        where = "" if probe == path else f" (its existing parent {str(probe)!r})"
        raise ConfigError(f"{flag} {str(path)!r}{where} is not writable; pass another folder")


def check_storage(exp: Any) -> None:
    """The spec's ``storage:`` URL opens (raises ConfigError naming ``storage``)."""
    if not exp.storage:
        return
    from research.optimize.storage import open_storage

    try:
        open_storage(exp.storage)
    except ConfigError as exc:
        raise ConfigError(f"{exp.path or '<spec>'}: storage: {exc}") from None


def check_explore(exp: Any) -> None:
    """The exploration spec reads (file beside the spec, or inline mapping)."""
    if not exp.explore.enabled and exp.explore.spec is None:
        return
    from data_loaders.errors import ResearchError
    from research.explore.spec import load_spec

    spec = exp.explore.spec
    if isinstance(spec, str) and exp.path and not Path(spec).exists():
        beside = Path(exp.path).parent / spec
        spec = str(beside) if beside.exists() else spec
    try:
        load_spec(spec)
    except ResearchError as exc:
        raise ConfigError(f"{exp.path or '<spec>'}: explore.spec: {exc}") from None


def feasible_point(cls: Any, seed: int = 0) -> tuple[dict[str, Any] | None, list[str]]:
    """``(params, [])``: the defaults when they meet the constraints, else the first of
    ``_DRAWS`` random sets that does; ``(None, violations of the defaults)`` when none does."""
    from research.optimize.space import SearchSpace

    space = SearchSpace(cls)
    defaults = space.complete({})
    broken = space.violations(defaults)
    if not broken:
        return defaults, []
    if not space.n_genes:
        return None, broken
    rng = np.random.default_rng(seed)
    for genes in rng.random((_DRAWS, space.n_genes)):
        params = space.decode(genes)
        if not space.violations(params):
            return params, []
    return None, broken


def check_feasible(exp: Any) -> None:
    """Every strategy resolves (user files are imported) and has a feasible parameter set."""
    from research.spec import resolve_strategy

    src = exp.path or "<spec>"
    for i, s in enumerate(exp.strategies):
        key = f"{src}: strategies[{i}]"
        cls = resolve_strategy(s, key=key)
        params, broken = feasible_point(cls, exp.seed)
        if params is None:
            fixed = ", ".join(f"{k}: {v}" for k, v in (s.space or {}).items())
            raise ConfigError(
                f"{key}: no feasible parameter set of {cls.label()}"
                + (f" with {{{fixed}}}" if fixed else "")
                + f": the constraint {'; '.join(broken)} always fails; change the fixed values "
                "or ranges in its `space:`"
            )
