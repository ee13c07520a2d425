"""One order, the arithmetic every numba engine shares: vectorbt 1.2's target-percent order.

Arrays in, numbers out; no pandas. :func:`order_nb` moves a position toward a target at one
price. Its callers differ only in what they pass:

* the batch kernel's plain path (``backtest._sim_nb._order_nb``): the value is the
  column's equity at the order price and buys may spend the cash;
* the batch kernel's margin path (terms from :func:`backtest._margin_nb.margin_terms_nb`): the
  value is the equity or a fixed notional, buys may spend ``cash + (max_leverage - 1) *
  equity`` (a loan), fees have a minimum and sells their own rate;
* the book engine (:func:`backtest._portfolio_nb.simulate_book_nb`): the value is the book's
  value taken once per bar, buys may spend the book's cash.

The arithmetic replicates ``buy_nb``, ``sell_nb`` and ``execute_order_nb`` of
``vectorbt/portfolio/nb.py`` (``direction='both'``, ``lock_cash=False``,
``allow_partial=True``, ``max_size=inf``, ``update_value=False``), including its tolerance
helpers (``is_close_nb`` & co., relative 1e-9 / absolute 1e-12). With no minimum fee and one fee
rate it is vectorbt's to the last bit.

numba's on-disk cache keys a compiled function by its own file only: the kernels that call
these functions inline them, so a change here must come with a change to their files (or a
cleared cache), or they keep the old code.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "REL_TOL",
    "ABS_TOL",
    "is_close_nb",
    "is_close_or_less_nb",
    "is_less_nb",
    "add_nb",
    "floor_nb",
    "fee_nb",
    "order_nb",
]

#: vectorbt's tolerances (``vectorbt.utils.math_``)
REL_TOL = 1e-9
ABS_TOL = 1e-12


# --- vectorbt's tolerance helpers -------------------------------------------------------------------
@njit(cache=True, nogil=True)
def is_close_nb(a: float, b: float) -> bool:
    """``vectorbt.utils.math_.is_close_nb`` with its default tolerances."""
    if np.isnan(a) or np.isnan(b):
        return False
    if np.isinf(a) or np.isinf(b):
        return False
    if a == b:
        return True
    return abs(a - b) <= max(REL_TOL * max(abs(a), abs(b)), ABS_TOL)


@njit(cache=True, nogil=True)
def is_close_or_less_nb(a: float, b: float) -> bool:
    """``a <= b`` up to :func:`is_close_nb`."""
    if is_close_nb(a, b):
        return True
    return a < b


@njit(cache=True, nogil=True)
def is_less_nb(a: float, b: float) -> bool:
    """``a < b`` and not :func:`is_close_nb`."""
    if is_close_nb(a, b):
        return False
    return a < b


@njit(cache=True, nogil=True)
def add_nb(a: float, b: float) -> float:
    """``a + b``, snapped to exactly 0 when the two cancel up to the tolerances."""
    if np.sign(a) != np.sign(b):
        if is_close_nb(abs(a), abs(b)):
            return 0.0
    elif is_close_nb(a + b, 0.0):
        return 0.0
    return a + b


# --- one order ----------------------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def floor_nb(size: float, granularity: float) -> float:
    """``size`` rounded down to a multiple of ``granularity`` (NaN: fractional, unchanged)."""
    if np.isnan(granularity):
        return size
    return size // granularity * granularity


@njit(cache=True, nogil=True)
def fee_nb(traded: float, rate: float, min_fee: float, fixed_fees: float) -> float:
    """Fees of one fill of traded value ``traded``: ``max(min_fee, rate * traded) + fixed_fees``
    (with ``min_fee == 0`` exactly vectorbt's ``traded * rate + fixed_fees``)."""
    paid = traded * rate
    if paid < min_fee:
        paid = min_fee
    return paid + fixed_fees


@njit(cache=True, nogil=True)
def order_nb(
    cash: float, position: float, value: float, target: float, price: float, fees: float,
    fixed_fees: float, slippage: float, granularity: float, min_size: float, cap: float,
    min_fee: float, sell_fees: float,
) -> tuple[bool, float, float, float, float, float]:  # fmt: skip
    """Move ``position`` to ``target * value / price`` units at ``price`` (vectorbt arithmetic).

    Args:
        cash, position: state before the order (units of the asset; negative = short).
        value: what the target is a fraction of (the equity at ``price``, a book's value, or a
            fixed notional); no order when it is NaN or ``<= 0``.
        target: target exposure, fraction of ``value``.
        price: order price before slippage (> 0).
        fees, fixed_fees, slippage: proportional fee of buys, cash per filled order, slippage
            (a fraction); see :class:`backtest.costs.Costs`.
        granularity: size step (``1.0`` for whole units) or NaN for fractional units.
        min_size: smallest accepted fill size.
        cap: the most a buy may spend, fees included (vectorbt: the cash; with leverage
            ``cash + (max_leverage - 1) * equity``); a buy that does not fit is reduced to fit,
            none when ``cap <= 0``. Sells and short sales are not limited.
        min_fee: smallest proportional fee of a fill (0: none), see :func:`fee_nb`.
        sell_fees: proportional fee of sells.

    Returns:
        ``(filled, new_cash, new_position, signed_size, fill_price, fees_paid)``; when not filled
        the state is returned unchanged and the last three are NaN. A sell whose fees exceed
        its proceeds is not filled.
    """
    # numerical stability, as execute_order_nb
    if is_close_nb(cash, 0.0):
        cash = 0.0
    if is_close_nb(position, 0.0):
        position = 0.0
    if is_close_nb(value, 0.0):
        value = 0.0
    if is_close_nb(cap, 0.0):
        cap = 0.0
    if np.isnan(value) or value <= 0:
        return False, cash, position, np.nan, np.nan, np.nan
    size = target * value
    size /= price
    size -= position

    if size > 0:
        # buy_nb (lock_cash=False: the cash limit is the cap)
        adj_price = price * (1.0 + slippage)
        if cap <= 0:
            return False, cash, position, np.nan, np.nan, np.nan
        adj_size = floor_nb(size, granularity)
        req_cash = adj_size * adj_price
        final_size = adj_size
        fees_paid = fee_nb(req_cash, fees, min_fee, fixed_fees)
        final_req_cash = req_cash + fees_paid
        if not is_close_or_less_nb(final_req_cash, cap):  # reduce the buy to fit the cap
            max_req_cash = add_nb(cap, -fixed_fees) / (1.0 + fees)
            if max_req_cash <= 0:
                return False, cash, position, np.nan, np.nan, np.nan
            min_binds = max_req_cash * fees < min_fee
            if min_binds:  # the minimum fee binds: it is what the fill pays
                max_req_cash = add_nb(cap, -fixed_fees - min_fee)
                if max_req_cash <= 0:
                    return False, cash, position, np.nan, np.nan, np.nan
            final_size = max_req_cash / adj_price
            if not np.isnan(granularity) or min_binds:
                final_size = floor_nb(final_size, granularity)
                new_req_cash = final_size * adj_price
                fees_paid = fee_nb(new_req_cash, fees, min_fee, fixed_fees)
                final_req_cash = new_req_cash + fees_paid
            else:
                fees_paid = cap - max_req_cash
                final_req_cash = cap
        if is_close_nb(adj_size, 0.0):
            return False, cash, position, np.nan, np.nan, np.nan
        if is_less_nb(final_size, min_size):
            return False, cash, position, np.nan, np.nan, np.nan
        new_cash = add_nb(cash, -final_req_cash)
        new_position = add_nb(position, final_size)
        return True, new_cash, new_position, final_size, adj_price, fees_paid

    # sell_nb (direction both, lock_cash=False: the size is not limited)
    adj_price = price * (1.0 - slippage)
    size_limit = floor_nb(-size, granularity)
    if is_close_nb(size_limit, 0.0):
        return False, cash, position, np.nan, np.nan, np.nan
    if is_less_nb(size_limit, min_size):
        return False, cash, position, np.nan, np.nan, np.nan
    acq_cash = size_limit * adj_price
    fees_paid = fee_nb(acq_cash, sell_fees, min_fee, fixed_fees)
    final_acq_cash = add_nb(acq_cash, -fees_paid)
    if final_acq_cash < 0:
        return False, cash, position, np.nan, np.nan, np.nan
    new_cash = cash + final_acq_cash
    new_position = add_nb(position, -size_limit)
    return True, new_cash, new_position, -size_limit, adj_price, fees_paid
