"""Public numba kernels for strategies whose position depends on their own past (path-dependent).

A rule such as "exit when the close falls 3 ATR below the highest close since entry" cannot be
written with vectorised pandas: the stop level depends on when the position was opened. These
kernels run the state machine bar by bar, compiled by numba (``cache=True``: compiled once per
machine). Every kernel is causal: the value at bar ``t`` reads inputs at bars ``0..t`` only, so a
strategy built on them passes :func:`backtest.check_lookahead` when its inputs do.

Arrays in, arrays out: 1-D ``float64`` / ``bool`` numpy arrays of one length ``n`` (pass
``series.to_numpy()``); outputs are ``float64`` target exposures decided at each bar's close.
The pandas-facing :func:`trailing_stop_positions` converts and puts the index back.

Write your own kernel the same way: a ``@numba.njit(cache=True)`` function over plain arrays in a
module of its own, called from the strategy's ``positions`` (see ``docs/strategies.md``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from strategies._signals_nb import (
    pairs_state_machine_nb,
    signals_to_positions_nb,
    stop_state_machine_nb,
)

__all__ = [
    "signals_to_positions_nb",
    "stop_state_machine_nb",
    "pairs_state_machine_nb",
    "trailing_stop_positions",
]


def _bools(values: Any, n: int) -> np.ndarray:
    if values is None:
        return np.zeros(n, dtype=bool)
    return np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0).astype(bool)


def trailing_stop_positions(
    close: pd.Series,
    entries: Any,
    exits: Any,
    stop_distance: Any,
    short_entries: Any = None,
    short_exits: Any = None,
) -> pd.Series:
    """Entry/exit signals with a trailing stop on the close, as a target-exposure Series.

    The pandas face of :func:`stop_state_machine_nb`: while long, the highest close since entry
    (entry bar included) is tracked and the position closes when ``close < highest -
    stop_distance``; a short mirrors it with the lowest close. Exits apply before entries, an
    exit blocks a same-side re-entry on its bar, an opposite entry reverses.

    Args:
        close: closes, shape ``(n,)``; the result has its index.
        entries: long entry booleans (NaN = False), shape ``(n,)``.
        exits: long exit booleans, shape ``(n,)``.
        stop_distance: price distance of the stop per bar (a number or shape ``(n,)``); NaN
            means no stop on that bar (e.g. during an ATR's warm-up).
        short_entries: optional short entry booleans.
        short_exits: optional short exit booleans.

    Returns:
        Series of ``+1`` (long), ``-1`` (short) or ``0`` named ``position``.
    """
    c = close.to_numpy(dtype=np.float64)
    n = len(c)
    distance = np.broadcast_to(np.asarray(stop_distance, dtype=np.float64), (n,)).copy()
    pos = stop_state_machine_nb(
        c,
        _bools(entries, n),
        _bools(exits, n),
        _bools(short_entries, n),
        _bools(short_exits, n),
        distance,
    )
    return pd.Series(pos, index=close.index, name="position")
