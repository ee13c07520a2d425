"""vectorbt, the reference engine, imported on first use without its exchange clients.

``import vectorbt`` loads every subpackage, and ``vectorbt.data`` imports the optional exchange
clients it finds installed (``ccxt``, ``python-binance``) only to annotate the signatures of its
download classes. With ccxt installed (this project's ``online`` extra) that is 0.5-0.7 s of a
1.7-2.7 s import, paid by every run that lists the champion's trades. :func:`import_vectorbt`
imports vectorbt with those clients hidden: the annotations fall back to ``Any`` (vectorbt's own
fallback), vectorbt's ``CCXTData`` / ``BinanceData`` still import the clients when they download,
and the clients import normally afterwards. When a client is already imported, it is left alone.
"""

from __future__ import annotations

import sys
from types import ModuleType

__all__ = ["import_vectorbt", "import_hiding"]

#: optional clients ``vectorbt.data`` imports for type annotations only
_CLIENTS = ("ccxt", "binance")


def import_vectorbt() -> ModuleType:
    """The ``vectorbt`` module (imported once per process, without the exchange clients)."""
    return import_hiding("vectorbt", _CLIENTS)


def import_hiding(module: str, hidden: tuple[str, ...]) -> ModuleType:
    """Import ``module`` (once) while the packages ``hidden`` not yet imported raise
    ``ImportError`` when it imports them; afterwards they import normally."""
    import importlib

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
