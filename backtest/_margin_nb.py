"""Leverage, maintenance margin, financing and fixed-notional sizing in the batch kernel.

Arrays in, numbers out; no pandas. :func:`backtest._sim_nb.simulate_block_nb` calls these only
when its ``fx`` array is non-empty (an :class:`backtest.Execution` with leverage, a margin
limit, financing rates, a funding series or a fixed notional); the plain path never does.
The conventions are documented in :mod:`backtest.financing`; :mod:`backtest.ledger` is the
independent reference implementation the tests compare against.

``fx`` layout (float64, :data:`N_FX` values): ``FX_LEV`` largest gross exposure,
``FX_MM`` maintenance margin (fraction of gross position value, 0 = off), ``FX_BORROW`` borrow
fee per bar on short notional, ``FX_CREDIT`` interest per bar on positive cash, ``FX_DEBIT``
interest per bar on negative cash, ``FX_BASE`` fixed notional (NaN: fraction of equity),
``FX_FUNDING`` 1.0 when a funding-rate series is given, ``FX_SELL_FEES`` proportional fee of
sells, ``FX_MIN_FEE`` minimum proportional fee per order (cash), ``FX_PARTICIPATION`` largest
share of a bar's volume one order may trade (0: no limit).

``market`` is an ``(n_bars, 2)`` float64 array: the funding rate charged at each bar's close
(column 0) and the bar's volume (column 1), or ``(0, 2)`` when neither is used.

numba's on-disk cache keys a compiled function by its own file only: :mod:`backtest._sim_nb`
inlines these functions, so a change here must come with a change to ``_sim_nb.py`` (or a
cleared cache), or the kernel keeps the old code.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "FX_LEV",
    "FX_MM",
    "FX_BORROW",
    "FX_CREDIT",
    "FX_DEBIT",
    "FX_BASE",
    "FX_FUNDING",
    "FX_SELL_FEES",
    "FX_MIN_FEE",
    "FX_PARTICIPATION",
    "N_FX",
    "participation_nb",
    "margin_terms_nb",
    "accrue_nb",
    "margin_call_nb",
    "blocked_nb",
]

(
    FX_LEV,
    FX_MM,
    FX_BORROW,
    FX_CREDIT,
    FX_DEBIT,
    FX_BASE,
    FX_FUNDING,
    FX_SELL_FEES,
    FX_MIN_FEE,
    FX_PARTICIPATION,
) = range(10)
N_FX = 10


@njit(cache=True)
def margin_terms_nb(fx: np.ndarray, cash: float, value: float) -> tuple[float, float, float, float]:
    """The terms of one order with leverage (see :mod:`backtest.financing`) for
    :func:`backtest._order_nb.order_nb`: ``(base, cap, min_fee, sell_fees)``.

    The target is a fraction of ``base``, the equity ``value`` at the order price (or the fixed
    notional; NaN, so no order, when the equity is ``<= 0``); a buy may spend up to ``cap =
    cash + (max_leverage - 1) * equity`` (cash may go negative: a loan), fees included, and is
    reduced to fit; a sell is not limited. Fees: ``max(min_fee, rate * size * fill) +
    fixed_fees`` with ``rate`` = ``fees`` for buys and ``FX_SELL_FEES`` for sells."""
    if value <= 0:
        return np.nan, 0.0, 0.0, 0.0
    base = value if np.isnan(fx[FX_BASE]) else fx[FX_BASE]
    return base, cash + (fx[FX_LEV] - 1.0) * value, fx[FX_MIN_FEE], fx[FX_SELL_FEES]


@njit(cache=True)
def accrue_nb(fx: np.ndarray, market: np.ndarray, i: int, cash: float, pos: float, close: float):
    """Cash after bar ``i``'s financing, charged at its close: borrow fee on short notional,
    interest on the cash balance (credit when positive, debit when negative), and the funding
    rate of the bar (a long pays ``rate * notional``, a short receives it)."""
    if pos < 0:
        cash -= fx[FX_BORROW] * (-pos) * close
    if cash > 0:
        cash += fx[FX_CREDIT] * cash
    elif cash < 0:
        cash += fx[FX_DEBIT] * cash
    if fx[FX_FUNDING] > 0 and pos != 0:
        cash -= market[i, 0] * pos * close
    return cash


@njit(cache=True)
def participation_nb(
    fx: np.ndarray, market: np.ndarray, i: int, t: float, cash: float, pos: float, price: float
) -> float:
    """The target an order at bar ``i`` may reach when it can trade at most
    ``participation * volume[i]`` units: ``t`` itself when the move fits, else the target of the
    position moved by that many units toward ``t`` (the rest waits for the next bar)."""
    share = fx[FX_PARTICIPATION]
    if share <= 0:
        return t
    value = cash + pos * price
    base = value if np.isnan(fx[FX_BASE]) else fx[FX_BASE]
    if value <= 0:
        return t
    move = t * base / price - pos
    cap = share * market[i, 1]
    if abs(move) <= cap:
        return t
    return (pos + np.sign(move) * cap) * price / base


@njit(cache=True)
def margin_call_nb(fx: np.ndarray, equity: float, pos: float, close: float) -> bool:
    """True when a position's equity at the close is below the maintenance margin times its
    gross value (``equity < maintenance_margin * |pos| * close``)."""
    return pos != 0 and fx[FX_MM] > 0 and equity < fx[FX_MM] * abs(pos) * close


@njit(cache=True)
def blocked_nb(fs: np.ndarray, j: int, t: float, lo: float, hi: float) -> bool:
    """After a margin call, True while the (clipped) target still equals the one in force at
    the call; the first different target clears the block."""
    if np.isnan(fs[j]):
        return False
    if min(max(t, lo), hi) == fs[j]:
        return True
    fs[j] = np.nan
    return False
