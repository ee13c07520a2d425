"""What code made a study: the strategy's source files and the versions of the libraries that
compute results. Stored with every study (``code_identity``) and compared when a study is
reopened (a resumed run, a shared ``storage:``, the same ``study_name`` again), so trials of old
code are never silently reused after a strategy is edited or a library upgraded.

The data the trials saw is part of the study's configuration hash already (its fingerprint).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["LIBRARIES", "code_identity", "identity_changes", "library_versions", "strategy_files"]

#: the libraries whose versions can change a trial's numbers
LIBRARIES = ("numpy", "pandas", "numba", "vectorbt", "optuna", "scipy")


@functools.lru_cache(maxsize=1)
def _versions() -> tuple[tuple[str, str | None], ...]:
    from importlib import metadata

    out = []
    for name in LIBRARIES:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            out.append((name, None))
    return tuple(out)


def library_versions() -> dict[str, str | None]:
    """``{library: installed version or None}`` of :data:`LIBRARIES`."""
    return dict(_versions())


_ROOT = Path(__file__).resolve().parents[2]
_SYSTEM = tuple({str(Path(p).resolve()) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})


def strategy_files(cls: Any) -> dict[str, str]:
    """``{source file: sha256[:16]}`` of every module defining a class in ``cls``'s MRO (the
    strategy's own file, its bases, ``strategies.base``); files of this project are named
    relative to it (``strategies/builtin/sma_cross.py``), user files by their full path;
    classes of Python itself and of installed packages are left out (see
    :func:`library_versions`)."""
    out: dict[str, str] = {}
    for klass in inspect.getmro(cls):
        module = inspect.getmodule(klass)
        file = getattr(module, "__file__", None)
        if not file or not file.endswith(".py"):
            continue
        path = Path(file).resolve()
        if path.is_relative_to(_ROOT):
            name = path.relative_to(_ROOT).as_posix()
        elif str(path).startswith(_SYSTEM) or "site-packages" in path.parts:
            continue
        else:
            name = str(path)
        if name in out:
            continue
        try:
            out[name] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        except OSError:
            continue
    return out


def code_identity(cls: Any) -> dict[str, Any]:
    """``{"files": strategy_files(cls), "libraries": library_versions()}``."""
    return {"files": strategy_files(cls), "libraries": library_versions()}


def identity_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What differs between two identities, one phrase each (``strategy file x.py changed``,
    ``numpy 2.1.0 -> 2.2.0``); empty when the same."""
    changes: list[str] = []
    of, nf = dict(old.get("files") or {}), dict(new.get("files") or {})
    for file in sorted(set(of) | set(nf)):
        if of.get(file) != nf.get(file):
            what = "changed" if file in of and file in nf else "added" if file in nf else "gone"
            changes.append(f"strategy file {file} {what}")
    ol, nl = dict(old.get("libraries") or {}), dict(new.get("libraries") or {})
    for lib in sorted(set(ol) | set(nl)):
        if ol.get(lib) != nl.get(lib):
            changes.append(f"{lib} {ol.get(lib)} -> {nl.get(lib)}")
    return changes
