"""Lazy public names for a package's ``__init__`` (PEP 562), so that importing a light module of
the package (``data_loaders.errors``, ``backtest.metric_table``, ``research.overfitting.efficiency``)
does not load pandas, numba or scipy.

Usage in ``pkg/__init__.py``::

    _LAZY = {"name": "pkg.module", ...}
    __all__ = [...]
    __getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, table: Mapping[str, str], names: Iterable[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: a name of ``table`` is imported from its
    module on first use and then kept in the package's namespace."""
    public = set(names)

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | public)

    return __getattr__, __dir__
