"""Optional dependencies: import on use, or raise one clear error saying what to install; and
heavy libraries imported without the optional packages they load only for annotations."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from data_loaders.errors import ResearchError

__all__ = ["MissingDependencyError", "require", "package_dir", "import_hiding"]


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


def import_hiding(module: str, hidden: tuple[str, ...]) -> ModuleType:
    """Import ``module`` (once) while the packages ``hidden`` not yet imported raise
    ``ImportError`` when it imports them; afterwards they import normally.

    For libraries that import optional packages at module level only to annotate signatures or
    to read a version, behind an ``except ImportError`` fallback of their own: vectorbt loads
    the ccxt and python-binance clients (0.5-0.7 s, :mod:`backtest._vectorbt`), arch loads
    matplotlib (0.6-0.8 s, :mod:`research.overfitting.spa`). Their functions that need the
    package import it when called. A package already imported is left as it is. (The hiding
    is process-wide for the moment of the import: the project calls it from the main thread
    before any thread of its own could import those packages.)
    """
    loaded = sys.modules.get(module)
    if loaded is not None:
        return loaded
    blocked = [name for name in hidden if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # `import name` raises ImportError
    try:
        return importlib.import_module(module)
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
