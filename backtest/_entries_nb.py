"""Numeric kernel of priced orders: limit and stop orders at a price the strategy sets.

Arrays in, arrays out; no pandas. The rules are documented in :mod:`backtest.entries`. Both
engine paths use these functions: the batch kernel (:func:`backtest._sim_nb.simulate_tile_nb`)
per column and bar, the reference path through :func:`backtest._exits_nb.plan_exits_nb`.

A batch's priced orders travel as one tuple ``entry = (prices, kind, cancel)``: ``prices`` the
``(n_bars, n_cols)`` float64 order prices decided at each close (NaN: a market order),
``kind`` :data:`K_LIMIT` or :data:`K_STOP`, ``cancel`` True when an order the next bar does not
fill is cancelled (else it persists). Without priced orders the kernels get ``None`` and numba
prunes every branch that reads it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["K_LIMIT", "K_STOP", "entry_fill_nb", "entry_wait_nb"]

#: order kinds
K_LIMIT, K_STOP = 0, 1


@njit(cache=True)
def entry_fill_nb(
    kind: int, buy: bool, price: float, open_: float, high: float, low: float
) -> float:
    """Fill price of an order at ``price`` on a bar ``(open_, high, low)``, NaN when unfilled.

    Limit buy: ``min(open, price)`` when ``low <= price``; limit sell: ``max(open, price)`` when
    ``high >= price``; stop buy: ``max(open, price)`` when ``high >= price``; stop sell:
    ``min(open, price)`` when ``low <= price``. An open already through the price (a gap) fills
    at the open.
    """
    if (kind == K_LIMIT) == buy:  # limit buy / stop sell: the price is reached from above
        return min(open_, price) if low <= price else np.nan
    return max(open_, price) if high >= price else np.nan


@njit(cache=True)
def entry_wait_nb(wait: float, target: float) -> tuple[bool, float]:
    """Whether a target read at a bar is held back by a cancelled order, and the new wait state.

    ``wait`` is the target of the last cancelled order (NaN: none). While the strategy's target
    stays at that value no order is placed; any other target (a change) clears it.
    """
    if wait != wait:
        return False, wait
    if target == wait:
        return True, wait
    return False, np.nan
