"""Optional dependencies: import on use, or raise one clear error saying what to install."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType

from data_loaders.errors import ResearchError

__all__ = ["MissingDependencyError", "require", "package_dir"]


class MissingDependencyError(ResearchError, ImportError):
    """An optional package needed for this feature is not installed (also an ``ImportError``)."""


def _message(package: str, extra: str | None, purpose: str) -> str:
    fix = f"pip install 'quant-research[{extra}]'" if extra else f"pip install {package}"
    return f"{purpose} needs the package {package!r}, which is not installed: {fix}"


def require(module: str, *, package: str, extra: str | None, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the pip command."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] != module.split(".")[0]:
            raise  # the package is there but broken: show the real error
        raise MissingDependencyError(_message(package, extra, purpose)) from None


def package_dir(module: str, *, package: str, extra: str | None, purpose: str) -> Path:
    """Folder of an installed top-level package, found without importing (executing) it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(_message(package, extra, purpose))
    return Path(next(iter(spec.submodule_search_locations)))
