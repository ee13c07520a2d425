"""Calling a strategy safely: its exceptions and out-of-range exposures become one clear line.

A strategy is user code. When its ``positions``, ``signals``, ``fit`` or ``warmup`` raises, the
user needs to know *which* method of *which* class failed, *where* in their file, and *what*
was raised, not a 40-line traceback through the backtest engine. :func:`call_strategy` runs one
method and turns any exception into a :class:`~data_loaders.errors.StrategyError` whose message
reads, on one line::

    Boom.positions raised ValueError: kaboom (at /home/me/my_strats.py:7)

The location is the innermost traceback frame inside the strategy's own source file (the file
that defines the class); when the exception happened elsewhere (a library called by the
strategy), the innermost frame in the strategy's file is still named, since that is the line
the user can change. :func:`checked_positions` also checks the result: every exposure must lie
in ``[-1, 1]`` (the contract of :meth:`strategies.Strategy.positions`), and the first offending
timestamp is named.

The run flow and the CLI commands call strategies through these helpers; the original exception
stays attached as ``__cause__`` for ``--debug``.
"""

from __future__ import annotations

import inspect
import os
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from data_loaders.errors import StrategyError

__all__ = [
    "StrategyError",
    "call_strategy",
    "checked_positions",
    "check_exposures",
    "describe_strategy_error",
    "strategy_warmup",
    "guarded",
    "decisions",
    "EXPOSURE_TOLERANCE",
]

#: slack on the ``[-1, 1]`` bounds of an exposure (floating-point sums of weights)
EXPOSURE_TOLERANCE = 1e-9


def _class_of(strategy: Any) -> type:
    return strategy if inspect.isclass(strategy) else type(strategy)


def _source_file(cls: type) -> str | None:
    try:
        path = inspect.getsourcefile(cls)
    except (TypeError, OSError):
        return None
    return os.path.realpath(path) if path else None


def _where(cls: type, exc: BaseException) -> str:
    """``file:line`` of the innermost frame in ``cls``'s file, else of the innermost frame."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    source = _source_file(cls)
    own = [f for f in frames if source and os.path.realpath(f.filename) == source]
    frame = (own or frames)[-1]
    return f"{frame.filename}:{frame.lineno}"


def describe_strategy_error(strategy: Any, method: str, exc: BaseException) -> str:
    """One line: ``Class.method raised Type: message (at file:line)``."""
    cls = _class_of(strategy)
    text = " ".join(str(exc).split()) or "(no message)"
    where = _where(cls, exc)
    return f"{cls.__name__}.{method} raised {type(exc).__name__}: {text}" + (
        f" (at {where})" if where else ""
    )


def call_strategy(strategy: Any, method: str, *args: Any, **kwargs: Any) -> Any:
    """``strategy.method(*args, **kwargs)`` with any exception raised as one-line ``StrategyError``.

    ``StrategyError`` itself and ``KeyboardInterrupt``/``SystemExit`` pass through unchanged.
    """
    try:
        return getattr(strategy, method)(*args, **kwargs)
    except StrategyError:
        raise
    except Exception as exc:
        raise StrategyError(describe_strategy_error(strategy, method, exc)) from exc


def strategy_warmup(strategy: Any) -> int:
    """``int(strategy.warmup)``, a raising property reported like a raising method."""
    try:
        return int(strategy.warmup)
    except StrategyError:
        raise
    except Exception as exc:
        raise StrategyError(describe_strategy_error(strategy, "warmup", exc)) from exc


def check_exposures(positions: Any, strategy: Any, *, method: str = "positions") -> Any:
    """Return ``positions`` unchanged if every exposure is in ``[-1, 1]`` (NaN allowed).

    Raises :class:`StrategyError` naming the class, the first offending timestamp (and column
    for several symbols) and the value otherwise.
    """
    cls = _class_of(strategy)
    values = np.asarray(positions, dtype=np.float64)
    if values.ndim == 1:
        values = values.reshape(-1, 1)
    bad = np.abs(values) > 1.0 + EXPOSURE_TOLERANCE  # NaN compares False
    if not bad.any():
        return positions
    row, col = np.argwhere(bad)[0]
    index = getattr(positions, "index", None)
    when = f"at {index[row]}" if index is not None else f"at bar {row}"
    if isinstance(positions, pd.DataFrame):
        when += f" for {positions.columns[col]!s}"
    count = int(bad.sum())
    raise StrategyError(
        f"{cls.__name__}.{method} returned exposure {values[row, col]:g} {when}: targets must "
        f"be in [-1, 1] (fraction of equity; {count} value(s) out of range)"
    )


def checked_positions(
    strategy: Any, bars: Any, features: pd.DataFrame | None = None
) -> pd.Series | pd.DataFrame:
    """``strategy.positions(bars, features)`` through :func:`call_strategy`, range-checked."""
    args = (bars,) if features is None else (bars, features)
    return check_exposures(call_strategy(strategy, "positions", *args), strategy)


def guarded(strategy: Any, method: str) -> Callable[..., Any]:
    """A callable doing ``call_strategy(strategy, method, ...)`` (for code taking a function)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        out = call_strategy(strategy, method, *args, **kwargs)
        return check_exposures(out, strategy, method=method) if method == "positions" else out

    call.__name__ = f"{_class_of(strategy).__name__}.{method}"
    return call


def decisions(strategy: Any) -> Callable[..., Any]:
    """What the lookahead check compares: ``bars -> positions`` (guarded), or, for a strategy
    that prices its orders (:meth:`strategies.Strategy.order_prices`), ``bars -> DataFrame`` of
    the ``position`` and the ``order_price`` decided at each close (NaN: a market order)."""
    positions = guarded(strategy, "positions")
    if type(strategy).order_prices is _base_order_prices():
        return positions
    prices = guarded(strategy, "order_prices")

    def both(bars: Any, *args: Any, **kwargs: Any) -> Any:
        pos = positions(bars, *args, **kwargs)
        price = prices(bars, *args, **kwargs)
        if price is None:
            return pos
        index = pos.index if isinstance(pos, pd.Series) else None
        return pd.DataFrame(
            {"position": np.asarray(pos, dtype=np.float64),
             "order_price": np.asarray(price, dtype=np.float64)},
            index=index,
        )  # fmt: skip

    both.__name__ = f"{_class_of(strategy).__name__}.positions+order_prices"
    return both


def _base_order_prices() -> Any:
    from strategies.base import Strategy

    return Strategy.order_prices
