"""vectorbt, the reference engine, imported on first use without its exchange clients.

``import vectorbt`` loads every subpackage, and ``vectorbt.data`` imports the optional exchange
clients it finds installed (``ccxt``, ``python-binance``) only to annotate the signatures of its
download classes. With ccxt installed (this project's ``online`` extra) that is 0.5-0.7 s of a
1.7-2.7 s import, paid by every run that lists the champion's trades. :func:`import_vectorbt`
imports vectorbt with those clients hidden (:func:`data_loaders._optional.import_hiding`): the
annotations fall back to ``Any`` (vectorbt's own fallback), vectorbt's ``CCXTData`` /
``BinanceData`` still import the clients when they download, and the clients import normally
afterwards.
"""

from __future__ import annotations

from types import ModuleType

from data_loaders._optional import import_hiding

__all__ = ["import_vectorbt"]

#: optional clients ``vectorbt.data`` imports for type annotations only
_CLIENTS = ("ccxt", "binance")


def import_vectorbt() -> ModuleType:
    """The ``vectorbt`` module (imported once per process, without the exchange clients)."""
    return import_hiding("vectorbt", _CLIENTS)
