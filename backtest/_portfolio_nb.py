"""Fused numba kernel of the portfolio (book) engine: target weights of many symbols, one cash.

Arrays in, arrays out; no pandas (:mod:`backtest.portfolio` is the pandas-facing API).

One book per parameter set. Each bar ``i`` of the union calendar, in this order:

1. **Valuation prices.** A symbol with an order price ``price[i, j]`` (not NaN) takes it as its
   valuation price; a symbol without one (no bar: it cannot trade) is valued at its last mark.
2. **Wanted orders.** On a scheduled bar (``rebalance[i]``) every symbol with a target
   ``target[i, j]`` (not NaN) wants that target. On other bars, when ``drift > 0`` and some
   symbol's current weight (at valuation prices) differs from its latest target by more than
   ``drift``, every symbol wants its latest target. A wanted order of a symbol without a price
   on this bar stays pending until the symbol's next bar.
3. **Orders.** The book value ``V = cash + sum(position * valuation price)`` is taken once;
   each wanted order moves the position to ``target * V / price`` units. Orders are executed
   sells first (sorted by approximate order value, vectorbt's ``call_seq='auto'``, a stable
   insertion sort). Buys never spend more cash than there is (a buy that does not fit is
   reduced, vectorbt's ``allow_partial``); sells and short sales are not limited.
   A symbol whose data ended at bar ``L`` is closed out at bar ``exit_bar = L + 1`` (the
   wrapper gives it its last close as the order price there), whatever the schedule.
4. **Close.** Marks take ``close[i, j]`` where not NaN (a missing bar keeps the last mark: the
   position earns nothing on a bar its symbol lacks); short positions pay ``borrow`` (a rate
   per bar) on their market value from cash; equity ``= cash + sum(position * mark)``.

Order arithmetic is vectorbt 1.2's ``Portfolio.from_orders`` with ``size_type='targetpercent'``,
``cash_sharing=True``, ``call_seq='auto'``, ``direction='both'``, ``lock_cash=False``,
``val_price`` = the order price, else the last close, and ``update_value=False``
(``approx_order_value_nb`` in ``vectorbt/portfolio/nb.py``; one order is
:func:`backtest._order_nb.order_nb` with the book's cash as its cap), so with ``borrow = 0``
equity agrees with vectorbt to 1e-9 (tested).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from backtest._order_nb import order_nb

__all__ = [
    "STAT_NAMES",
    "order_targets_nb",
    "simulate_book_nb",
    "simulate_books_nb",
]

#: per-book counters returned in ``stats``
STAT_NAMES = ("n_orders", "fees_paid", "n_rebalances", "borrow_paid", "n_pending_dropped")


@njit(cache=True, nogil=True)
def _book_value_nb(cash: float, position: np.ndarray, px: np.ndarray) -> float:
    value = cash
    for j in range(position.shape[0]):
        if position[j] != 0:
            value += position[j] * px[j]
    return value


@njit(cache=True, nogil=True)
def _drifted_nb(
    position: np.ndarray, val: np.ndarray, latest: np.ndarray, value: float, drift: float
) -> bool:
    """True when some symbol's weight is more than ``drift`` away from its latest target."""
    if not value > 0:
        return False
    for j in range(position.shape[0]):
        if np.isnan(latest[j]):
            continue
        w = 0.0 if position[j] == 0 else position[j] * val[j] / value
        if abs(w - latest[j]) > drift:
            return True
    return False


@njit(cache=True, nogil=True)
def _sorted_calls_nb(
    want: np.ndarray, price_row: np.ndarray, position: np.ndarray, val: np.ndarray, value: float,
    order_value: np.ndarray, seq: np.ndarray,
) -> None:  # fmt: skip
    """Call sequence: ascending approximate order value, NaN last (vectorbt's auto call_seq)."""
    m = want.shape[0]
    for k in range(m):
        seq[k] = k
        if np.isnan(price_row[k]) or np.isnan(want[k]):
            order_value[k] = np.nan
        else:
            order_value[k] = want[k] * value - position[k] * val[k]
    for a in range(1, m):  # vectorbt's insert_argsort_nb
        v, s = order_value[a], seq[a]
        b = a - 1
        while b >= 0 and (order_value[b] > v or np.isnan(order_value[b])):
            order_value[b + 1] = order_value[b]
            seq[b + 1] = seq[b]
            b -= 1
        order_value[b + 1] = v
        seq[b + 1] = s


@njit(cache=True, nogil=True)
def simulate_book_nb(
    price: np.ndarray,
    close: np.ndarray,
    target: np.ndarray,
    rebalance: np.ndarray,
    drift: float,
    fees: np.ndarray,
    fixed_fees: np.ndarray,
    slippage: np.ndarray,
    borrow: np.ndarray,
    exit_bar: np.ndarray,
    init_cash: float,
    min_size: float,
    equity: np.ndarray,
    held: np.ndarray,
    ordered: np.ndarray,
    stats: np.ndarray,
) -> None:
    """Simulate one book (see module docstring).

    Args:
        price: order prices ``(n, m)``, NaN where the symbol cannot trade.
        close: closes ``(n, m)``, NaN where the symbol has no bar (marks are kept).
        target: target weights ``(n, m)`` acted on at bar ``i``, NaN = no new target.
        rebalance: bool ``(n,)``, scheduled rebalancing bars.
        drift: weight drift that triggers a rebalance off schedule (``<= 0`` or NaN: off).
        fees, fixed_fees, slippage, borrow: per symbol ``(m,)``; borrow is a rate per bar.
        exit_bar: per symbol ``(m,)`` the bar on which its position is closed out whatever the
            schedule (the bar after its data ends; ``-1``: never).
        init_cash: starting cash.
        min_size: smallest fill in units.
        equity: output ``(n,)``, equity at each close.
        held: output ``(n, m)`` weights held at each close (``position * mark / equity``), or a
            ``(0, m)`` array to skip.
        ordered: output ``(n, m)`` the target of each filled-or-tried order, NaN elsewhere, or a
            ``(0, m)`` array to skip.
        stats: output ``(len(STAT_NAMES),)``.
    """
    n, m = close.shape
    position = np.zeros(m)
    val = np.full(m, np.nan)
    mark = np.full(m, np.nan)
    latest = np.full(m, np.nan)
    want = np.full(m, np.nan)
    order_value = np.empty(m)
    seq = np.empty(m, dtype=np.int64)
    cash = init_cash
    use_drift = drift > 0
    keep_held = held.shape[0] == n
    keep_ordered = ordered.shape[0] == n
    n_orders = 0
    fees_paid = 0.0
    n_rebalances = 0
    borrow_paid = 0.0
    for i in range(n):
        any_target = False
        for j in range(m):
            if not np.isnan(price[i, j]):
                val[j] = price[i, j]
            elif not np.isnan(mark[j]):
                val[j] = mark[j]
            t = target[i, j]
            if not np.isnan(t):
                latest[j] = t
                if rebalance[i]:
                    want[j] = t
                    any_target = True
            if i == exit_bar[j]:  # the symbol's data ended: close out, whatever the schedule
                want[j] = 0.0
                latest[j] = np.nan
        if not any_target and use_drift:
            value = _book_value_nb(cash, position, val)
            if _drifted_nb(position, val, latest, value, drift):
                for j in range(m):
                    want[j] = latest[j]
                any_target = True
        if any_target:
            n_rebalances += 1
        has_order = False
        for j in range(m):
            if not np.isnan(want[j]) and not np.isnan(price[i, j]):
                has_order = True
                break
        if has_order:
            value = _book_value_nb(cash, position, val)
            _sorted_calls_nb(want, price[i], position, val, value, order_value, seq)
            for k in range(m):
                j = seq[k]
                if np.isnan(order_value[k]):
                    break
                filled, cash, position[j], _, _, paid = order_nb(
                    cash, position[j], value, want[j], price[i, j], fees[j], fixed_fees[j],
                    slippage[j], np.nan, min_size, cash, 0.0, fees[j],
                )  # fmt: skip
                if keep_ordered:
                    ordered[i, j] = want[j]
                want[j] = np.nan
                if filled:
                    n_orders += 1
                    fees_paid += paid
        for j in range(m):
            if not np.isnan(close[i, j]):
                mark[j] = close[i, j]
            if position[j] < 0 and borrow[j] > 0:
                cost = borrow[j] * (-position[j]) * mark[j]
                cash -= cost
                borrow_paid += cost
        eq = _book_value_nb(cash, position, mark)
        equity[i] = eq
        if keep_held:
            for j in range(m):
                held[i, j] = 0.0 if position[j] == 0 else position[j] * mark[j] / eq
    pending = 0
    for j in range(m):
        if not np.isnan(want[j]):
            pending += 1
    stats[0] = n_orders
    stats[1] = fees_paid
    stats[2] = n_rebalances
    stats[3] = borrow_paid
    stats[4] = pending


@njit(cache=True, nogil=True)
def simulate_books_nb(
    price: np.ndarray, close: np.ndarray, targets: np.ndarray, rebalance: np.ndarray,
    drift: float, fees: np.ndarray, fixed_fees: np.ndarray, slippage: np.ndarray,
    borrow: np.ndarray, exit_bar: np.ndarray, init_cash: float, min_size: float, start: int,
    stop: int, equity: np.ndarray, stats: np.ndarray,
) -> None:  # fmt: skip
    """Books ``start..stop-1`` of a batch: ``targets`` ``(k, n, m)``, equity ``(n, k)``.

    Prices, closes, schedule and costs are shared by every book; each book has its own targets.
    Releases the GIL, so the wrapper runs ranges of books on threads.
    """
    n, m = close.shape
    no_panel = np.empty((0, m))
    eq = np.empty(n)
    for b in range(start, stop):
        simulate_book_nb(
            price, close, targets[b], rebalance, drift, fees, fixed_fees, slippage, borrow,
            exit_bar, init_cash, min_size, eq, no_panel, no_panel, stats[b],
        )  # fmt: skip
        equity[:, b] = eq


@njit(cache=True, nogil=True)
def order_targets_nb(
    weights: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
    on_change: bool,
    max_gross: float,
    max_net: float,
    shift: bool,
    out: np.ndarray,
    counts: np.ndarray,
) -> None:
    """Decision weights ``(k, n, m)`` -> order targets ``out`` ``(k, n, m)`` in one pass.

    Per book and bar: weights outside a symbol's life (``first[j] <= i <= last[j]``) are
    dropped (counted in ``counts[0]`` when non-zero); the intended book is each symbol's latest
    weight (NaN = the latest given); when its gross ``sum |w|`` exceeds ``max_gross`` or its net
    ``|sum w|`` exceeds ``max_net``, every weight is multiplied by
    ``min(max_gross / gross, max_net / |net|)`` (rows counted in ``counts[1]``, smallest factor
    in ``counts[2]``). The target is the scaled weight where a weight was given (``on_change``:
    where the scaled weight differs from the previous bar's, from a flat start), NaN elsewhere,
    written at the same bar or, with ``shift``, at the next one (the fill bar).
    """
    k, n, m = weights.shape
    latest = np.empty(m)
    prev = np.empty(m)
    row = np.empty(m)
    for b in range(k):
        latest[:] = np.nan
        prev[:] = 0.0
        if shift:
            out[b, 0, :] = np.nan
        for i in range(n):
            gross = 0.0
            net = 0.0
            for j in range(m):
                w = weights[b, i, j]
                if i < first[j] or i > last[j]:
                    if not np.isnan(w) and w != 0:
                        counts[0] += 1
                    latest[j] = np.nan
                    row[j] = np.nan
                    prev[j] = 0.0
                    continue
                row[j] = w
                if not np.isnan(w):
                    latest[j] = w
                if not np.isnan(latest[j]):
                    gross += abs(latest[j])
                    net += latest[j]
            factor = 1.0
            if gross > max_gross:
                factor = max_gross / gross
            if abs(net) > max_net:
                factor = min(factor, max_net / abs(net))
            if factor < 1.0 - 1e-12:
                counts[1] += 1
                counts[2] = min(counts[2], factor)
            else:
                factor = 1.0
            if shift and i == n - 1:
                continue
            r = i + 1 if shift else i
            for j in range(m):
                if np.isnan(latest[j]):
                    out[b, r, j] = np.nan
                    continue
                scaled = latest[j] * factor
                if on_change:
                    out[b, r, j] = scaled if scaled != prev[j] else np.nan
                else:
                    out[b, r, j] = scaled if not np.isnan(row[j]) else np.nan
                prev[j] = scaled
