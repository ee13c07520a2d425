"""Fused simulation kernel of the batch path: target positions -> orders -> equity -> metrics.

Arrays in, arrays out; no pandas. One pass over the bars per column simulates the portfolio,
accumulates what the returns metrics need and counts exposure, turnover and exit-trade
statistics; no ``(n_bars, n_sets)`` float64 output is allocated unless the caller asks for the
returns.

Order arithmetic replicates vectorbt 1.2's ``Portfolio.from_orders`` with
``size_type='targetpercent'``, ``direction='both'``, ``lock_cash=False``, ``allow_partial=True``,
``max_size=inf``, ``min_size=1e-8``, ``val_price`` = order price, ``update_value=False`` (one
order is :func:`backtest._order_nb.order_nb`, shared with the book engine; see
``simulate_from_orders_nb`` in ``vectorbt/portfolio/nb.py``), so equity agrees with :func:`backtest.run_backtest` to the last bit in
practice (tests require 1e-9). Exit-trade bookkeeping replicates ``get_exit_trades_nb`` (one trade
per exit order, a reversal closes one trade and opens another, a position still open at the end
of the window is one open trade valued at the last close).

Metrics: the bar's return feeds running sums with the operations of
``backtest._metrics_nb.acc_update_nb`` (growth, peak, drawdown, downside and Omega sums), except
that mean and variance come from plain sums instead of Welford's update (whose division sits on
the loop-carried dependency chain and made the whole bar step ~4x slower); the sums are turned
into a ``_metrics_nb`` accumulator once per column by ``acc_from_sums_nb`` and finished by its
finalizers (``acc_fill_metrics_nb``), so the conventions are those of :mod:`backtest.metrics`
and no reduction code is duplicated here.

Layout: targets are C-ordered ``(n_bars, n_cols)`` (or, transposed, an F-ordered batch), any real
dtype. :func:`simulate_block_nb` handles one block of columns and releases the GIL; the wrapper
(:func:`backtest.evaluate_batch`) runs blocks of :data:`BLOCK` columns on a thread pool (a
``prange`` version compiled ~2.5x slower, which a fresh process pays). Within a block, bars are
walked in tiles of :data:`TILE`, each tile copied column-major into a small buffer so each column
then runs with its state in registers: cash, position, the metric sums and the order bookkeeping
(open trade, trade counters, exposure, orders, fees; tuples of locals, written back to the state
arrays at the end of the tile and around the rare helpers that take them). The loop calls
:func:`backtest._order_nb.order_nb` itself (a further call level per order cost ~30 % of a
trading column's time), and without an exit layer it is compiled with the exit state ``None``,
so none of the exit branches are left in it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from backtest._entries_nb import entry_fill_nb, entry_wait_nb
from backtest._exits_nb import (
    C_ANY_HI,
    C_ANY_LO,
    C_ATTN,
    C_BLOCKED,
    C_HI,
    C_LIVE,
    C_LO,
    C_UPD_HI,
    C_UPD_LO,
    NO_CACHE,
    R_MARGIN,
    exit_cache_nb,
    exit_decide_nb,
    exit_end_bar_nb,
    exit_intrabar_nb,
    exit_on_target_nb,
    exit_reset_nb,
    new_state_nb,
)
from backtest._margin_nb import (
    accrue_nb,
    blocked_nb,
    margin_call_nb,
    margin_terms_nb,
    participation_nb,
)
from backtest._metrics_nb import RETURNS_METRICS, acc_fill_metrics_nb, acc_from_sums_nb
from backtest._order_nb import (  # noqa: F401 - the tolerance helpers' former home
    ABS_TOL,
    REL_TOL,
    add_nb,
    is_close_nb,
    is_close_or_less_nb,
    is_less_nb,
    order_nb,
)

__all__ = [
    "BLOCK",
    "REL_TOL",
    "ABS_TOL",
    "MIN_SIZE",
    "OUT_NAMES",
    "N_OUT",
    "is_close_nb",
    "is_close_or_less_nb",
    "is_less_nb",
    "add_nb",
    "trade_pnl_nb",
    "simulate_block_nb",
    "run_block_nb",
    "block_begin_nb",
    "block_tile_nb",
    "block_end_nb",
    "block_state_nb",
    "simulate_tile_nb",
    "block_finish_nb",
    "TILE",
]

#: columns per parallel work item (one 64-byte cache line of float64 targets per bar)
BLOCK = 8
#: smallest order size accepted (vectorbt's default ``min_size``)
MIN_SIZE = 1e-8

# --- per-column outputs of :func:`simulate_batch_nb` -------------------------------------------------
#: names of the columns of the output, in order: the returns metrics of
#: :data:`backtest._metrics_nb.RETURNS_METRICS` (computed by its accumulator, so they equal
#: :func:`backtest.metrics.compute_metrics` on the returns), then trade/position statistics with
#: the conventions of :mod:`backtest.metrics` (trades = vectorbt exit trades; positions = the
#: target exposure in force at each close), then simulation counters.
OUT_NAMES = RETURNS_METRICS + (
    "n_trades",  # exit trades, closed and open
    "win_rate",  # closed trades with pnl > 0 / closed trades
    "profit_factor",  # gains / losses of closed trades
    "expectancy",  # mean pnl of closed trades (cash)
    "exposure",  # fraction of bars whose close finds a non-zero target in force
    "turnover",  # sum |target change| / n_bars (from a flat start)
    "final_equity",  # equity at the last close of the window
    "n_orders",  # filled orders
    "fees_paid",  # proportional + fixed fees paid (cash)
    "n_invalid",  # targets read that were NaN or outside [-1, 1] (the wrapper raises on any)
    "first_invalid",  # bar index of the first invalid target, -1 when none
    "liquidated_at",  # bar whose close found equity <= 0 and closed the book out, -1 when none
)
N_OUT = len(OUT_NAMES)
_N_RET = len(RETURNS_METRICS)
(
    O_N_TRADES,
    O_WIN_RATE,
    O_PROFIT_FACTOR,
    O_EXPECTANCY,
    O_EXPOSURE,
    O_TURNOVER,
    O_FINAL_EQUITY,
    O_N_ORDERS,
    O_FEES,
    O_N_INVALID,
    O_FIRST_INVALID,
    O_LIQUIDATED_AT,
) = range(_N_RET, N_OUT)

# per-column trade counters (closed-trade pnl statistics, in trade order as backtest.metrics)
TC_N_TRADES, TC_N_CLOSED, TC_N_WINS, TC_GAINS, TC_LOSSES, TC_SUM_PNL = range(6)
N_TRADE_COUNTERS = 6

# open-trade state per column (vectorbt's get_exit_trades_nb locals)
TS_IN_POS, TS_LONG, TS_SIZE, TS_GROSS, TS_FEES, TS_ENTRY_IDX = range(6)
N_TRADE_STATE = 6


# --- exit trades ------------------------------------------------------------------------------------
@njit(cache=True)
def trade_pnl_nb(
    size: float,
    entry_price: float,
    entry_fees: float,
    exit_price: float,
    exit_fees: float,
    is_long: bool,
) -> tuple[float, float]:
    """PnL and return of one exit trade (vectorbt's ``get_trade_stats_nb``)."""
    entry_val = size * entry_price
    exit_val = size * exit_price
    val_diff = add_nb(exit_val, -entry_val)
    if val_diff != 0 and not is_long:
        val_diff *= -1
    pnl = val_diff - entry_fees - exit_fees
    return pnl, pnl / entry_val


@njit(cache=True, nogil=True)
def _count_trade_nb(cnt: tuple, pnl: float, closed: bool) -> tuple:
    """The trade counters ``cnt`` (``TC_*`` as a tuple) after one more trade of ``pnl``."""
    n_trades, n_closed, n_wins, gains, losses, sum_pnl = cnt
    n_trades += 1
    if closed:
        n_closed += 1
        sum_pnl += pnl
        if pnl > 0:
            n_wins += 1
            gains += pnl
        elif pnl < 0:
            losses -= pnl
    return n_trades, n_closed, n_wins, gains, losses, sum_pnl


@njit(cache=True, nogil=True)
def _record_trade_nb(tc: np.ndarray, j: int, pnl: float, closed: bool) -> None:
    _set_row_nb(tc, j, _count_trade_nb(_row_nb(tc, j), pnl, closed))


@njit(cache=True, nogil=True)
def _row_nb(a: np.ndarray, j: int) -> tuple:
    """Row ``j`` of a 6-column state array as a tuple (``TS_*``, ``TC_*``)."""
    return a[j, 0], a[j, 1], a[j, 2], a[j, 3], a[j, 4], a[j, 5]


@njit(cache=True, nogil=True)
def _set_row_nb(a: np.ndarray, j: int, row: tuple) -> None:
    a[j, 0], a[j, 1], a[j, 2], a[j, 3], a[j, 4], a[j, 5] = row


@njit(cache=True, nogil=True)
def _fill_nb(
    tr: tuple, cnt: tuple, i: int, signed_size: float, price: float, fees: float
) -> tuple[tuple, tuple]:
    """Exit-trade bookkeeping of one fill (vectorbt's ``get_exit_trades_nb`` loop body) on the
    open-trade state ``tr`` (``TS_*``) and the counters ``cnt`` (``TC_*``), as tuples of floats
    (kept in registers by the tile loop); returns both updated."""
    in_pos, long_, t_size, t_gross, t_fees, entry_idx = tr
    is_buy = signed_size > 0
    size = abs(signed_size)
    if in_pos == 0.0:
        in_pos = 1.0
        long_ = 1.0 if is_buy else 0.0
        t_size = 0.0
        t_gross = 0.0
        t_fees = 0.0
        entry_idx = float(i)
    is_long = long_ == 1.0
    if is_long == is_buy:  # position increased
        t_size += size
        t_gross += size * price
        t_fees += fees
        return (in_pos, long_, t_size, t_gross, t_fees, entry_idx), cnt
    entry_size = t_size
    entry_price = t_gross / entry_size
    if is_close_or_less_nb(size, entry_size):
        exit_size = entry_size if is_close_nb(size, entry_size) else size
        entry_fees = exit_size / entry_size * t_fees
        pnl, _ = trade_pnl_nb(exit_size, entry_price, entry_fees, price, fees, is_long)
        cnt = _count_trade_nb(cnt, pnl, True)
        if is_close_nb(size, entry_size):
            in_pos = 0.0
        else:
            fraction = (entry_size - size) / entry_size
            t_size *= fraction
            t_gross *= fraction
            t_fees *= fraction
    else:  # reversal: close the trade, open one the other way
        cl_exit_fees = entry_size / size * fees
        entry_fees = entry_size / entry_size * t_fees
        pnl, _ = trade_pnl_nb(entry_size, entry_price, entry_fees, price, cl_exit_fees, is_long)
        cnt = _count_trade_nb(cnt, pnl, True)
        t_size = size - entry_size
        t_gross = t_size * price
        t_fees = fees - cl_exit_fees
        long_ = 0.0 if is_long else 1.0
        entry_idx = float(i)
    return (in_pos, long_, t_size, t_gross, t_fees, entry_idx), cnt


@njit(cache=True, nogil=True)
def _on_fill_nb(
    ts: np.ndarray, tc: np.ndarray, j: int, i: int, signed_size: float, price: float, fees: float,
) -> None:  # fmt: skip
    """:func:`_fill_nb` on column ``j``'s rows of ``ts`` and ``tc``."""
    tr, cnt = _fill_nb(_row_nb(ts, j), _row_nb(tc, j), i, signed_size, price, fees)
    _set_row_nb(ts, j, tr)
    _set_row_nb(tc, j, cnt)


@njit(cache=True, nogil=True)
def _load_nb(h: np.ndarray, ts: np.ndarray, tc: np.ndarray, j: int) -> tuple:
    """Column ``j``'s order bookkeeping ``(bk, tr, cnt)`` as tuples: ``bk`` = target change,
    exposed bars, bar of the last target change, orders, fees (``H_*``); ``tr``, ``cnt``: its
    rows of ``ts`` and ``tc``."""
    bk = (h[j, H_CHANGE], h[j, H_N_EXPOSED], h[j, H_SINCE], h[j, H_N_ORDERS], h[j, H_FEES])
    return bk, _row_nb(ts, j), _row_nb(tc, j)


@njit(cache=True, nogil=True)
def _save_nb(h: np.ndarray, ts: np.ndarray, tc: np.ndarray, j: int, bk: tuple, tr: tuple,
             cnt: tuple) -> None:  # fmt: skip
    """Store what :func:`_load_nb` loaded."""
    h[j, H_CHANGE], h[j, H_N_EXPOSED], h[j, H_SINCE], h[j, H_N_ORDERS], h[j, H_FEES] = bk
    _set_row_nb(ts, j, tr)
    _set_row_nb(tc, j, cnt)


@njit(cache=True, nogil=True)
def _order_terms_nb(
    bk: tuple, i: int, cash: float, pos: float, t: float, last_tgt: float, price: float,
    fees: float, fx: np.ndarray | None,
) -> tuple:  # fmt: skip
    """The first half of moving the target in force from ``last_tgt`` to ``t`` at ``price`` on
    bar ``i``: the exposure/turnover counters of ``bk`` (:func:`_load_nb`) and the terms of the
    order. Returns ``(bk, value, cap, min_fee, sell_fees)`` for
    :func:`backtest._order_nb.order_nb`, whose fill then goes to :func:`_filled_nb`. A
    non-empty ``fx`` (leverage, financing: :mod:`backtest._margin_nb`) sets the terms.

    (The tile loop calls ``order_nb`` itself: one more call level per order costs ~30 %
    of a trading column's time.)"""
    change, n_exposed, since, n_orders, fees_sum = bk
    change += abs(t - last_tgt)
    if last_tgt != 0:  # bars the previous target was in force
        n_exposed += i - since
    since = float(i)
    # the valuation price is the order price, as from_orders with val_price=np.inf
    value = cash
    if pos != 0:
        value += pos * price
    if fx is not None:  # leverage, a fixed notional, a fee schedule
        base, cap, min_fee, sell_fees = margin_terms_nb(fx, cash, value)
    else:  # buys may spend the cash, which must not be negative
        if cash < 0 and not is_close_nb(cash, 0.0):
            raise ValueError("cash cannot be NaN and must be greater than 0")
        base, cap, min_fee, sell_fees = value, cash, 0.0, fees
    return (change, n_exposed, since, n_orders, fees_sum), base, cap, min_fee, sell_fees


@njit(cache=True, nogil=True)
def _filled_nb(
    bk: tuple, tr: tuple, cnt: tuple, i: int, size: float, price: float, fees: float
) -> tuple:
    """``(bk, tr, cnt)`` after a fill of signed ``size`` at ``price`` paying ``fees``."""
    change, n_exposed, since, n_orders, fees_sum = bk
    tr, cnt = _fill_nb(tr, cnt, i, size, price, fees)
    return (change, n_exposed, since, n_orders + 1, fees_sum + fees), tr, cnt


@njit(cache=True, nogil=True)
def _order_regs_nb(
    bk: tuple, tr: tuple, cnt: tuple, i: int, cash: float, pos: float, t: float,
    last_tgt: float, price: float, fees: float, fixed_fees: float, slippage: float,
    granularity: float, min_size: float, fx: np.ndarray | None,
) -> tuple:  # fmt: skip
    """Move the target in force from ``last_tgt`` to ``t`` at ``price`` on bar ``i``: the order,
    its exit-trade bookkeeping and the exposure/turnover counters, on the order bookkeeping
    ``(bk, tr, cnt)`` of :func:`_load_nb`. Returns ``(cash, pos, bk, tr, cnt)``.

    (The tile loop places its signal orders with these same calls written out: one more call
    level per order costs ~30 % of a trading column's time.)"""
    bk, value, cap, min_fee, sell_fees = _order_terms_nb(
        bk, i, cash, pos, t, last_tgt, price, fees, fx
    )
    filled, cash, pos, size, fill_price, fees_paid = order_nb(
        cash, pos, value, t, price, fees, fixed_fees, slippage, granularity, min_size, cap,
        min_fee, sell_fees,
    )  # fmt: skip
    if filled:
        bk, tr, cnt = _filled_nb(bk, tr, cnt, i, size, fill_price, fees_paid)
    return cash, pos, bk, tr, cnt


@njit(cache=True, nogil=True)
def _order_nb(
    h: np.ndarray, ts: np.ndarray, tc: np.ndarray, j: int, i: int, cash: float, pos: float,
    t: float, last_tgt: float, price: float, fees: float, fixed_fees: float, slippage: float,
    granularity: float, min_size: float, fx: np.ndarray | None,
) -> tuple[float, float]:  # fmt: skip
    """:func:`_order_regs_nb` on column ``j``'s state in ``h``, ``ts``, ``tc``; returns
    ``(cash, position)``."""
    bk, tr, cnt = _load_nb(h, ts, tc, j)
    cash, pos, bk, tr, cnt = _order_regs_nb(
        bk, tr, cnt, i, cash, pos, t, last_tgt, price, fees, fixed_fees, slippage, granularity,
        min_size, fx,
    )  # fmt: skip
    _save_nb(h, ts, tc, j, bk, tr, cnt)
    return cash, pos


@njit(cache=True)
def _close_out_nb(
    h: np.ndarray, ts: np.ndarray, tc: np.ndarray, j: int, i: int, pos: float, price: float,
    last_tgt: float,
) -> tuple[float, float, float]:  # fmt: skip
    """Close out a book whose equity at bar ``i``'s close is <= 0: its trade closes at the close
    (no fees), equity is floored at 0 and no later order fills. Returns ``(cash, pos, target)``."""
    _on_fill_nb(ts, tc, j, i, -pos, price, 0.0)
    if last_tgt != 0:
        h[j, H_N_EXPOSED] += i - h[j, H_SINCE]
    h[j, H_SINCE] = i
    h[j, H_CHANGE] += abs(last_tgt)
    h[j, H_LIQUIDATED_AT] = i
    return 0.0, 0.0, 0.0


@njit(cache=True)
def _close_nb(
    h: np.ndarray, ts: np.ndarray, tc: np.ndarray, j: int, i: int, cash: float, pos: float,
    last_tgt: float, price: float, fees: float, fixed_fees: float, slippage: float,
    granularity: float, min_size: float, fx: np.ndarray | None, reasons_out: np.ndarray, c0: int,
    why: int,
) -> tuple[float, float]:  # fmt: skip
    """Close the position at ``price`` (an exit level or a margin call) and count the trade's
    exit reason ``why``; returns ``(cash, pos)``."""
    cash, pos = _order_nb(
        h, ts, tc, j, i, cash, pos, 0.0, last_tgt, price, fees, fixed_fees, slippage,
        granularity, min_size, fx,
    )  # fmt: skip
    if reasons_out.shape[0] > 0:
        reasons_out[c0 + j, why] += 1
    return cash, pos


@njit(cache=True, nogil=True)
def _exit_intrabar_fill_nb(
    xs: np.ndarray, xpb: np.ndarray, j: int, i: int, o: float, hb: float, lb: float,
    regs: tuple, fees: float, fixed_fees: float, slippage: float, granularity: float,
    min_size: float, fx: np.ndarray | None,
) -> tuple[bool, int, tuple]:  # fmt: skip
    """Close the trade at its level when bar ``i``'s range (``o``, ``hb``, ``lb``) hits it.

    ``regs``: the tile loop's ``(cash, pos, last_tgt, bk, tr, cnt)`` (its registers, see
    :func:`_load_nb`), returned updated; the order is the one :func:`_order_nb` places, on
    those registers (:func:`_order_regs_nb`). Returns ``(hit, reason, regs)``."""
    hit, price, why = exit_intrabar_nb(xs, xpb, j, i, o, hb, lb)
    if not hit:
        return False, why, regs
    cash, pos, last_tgt, bk, tr, cnt = regs
    cash, pos, bk, tr, cnt = _order_regs_nb(
        bk, tr, cnt, i, cash, pos, 0.0, last_tgt, price, fees, fixed_fees, slippage, granularity,
        min_size, fx,
    )  # fmt: skip
    return True, why, (cash, pos, 0.0, bk, tr, cnt)


@njit(cache=True)
def _margin_call_nb(
    h: np.ndarray, ts: np.ndarray, tc: np.ndarray, j: int, i: int, cash: float, pos: float,
    price: float, last_tgt: float, fees: float, fixed_fees: float, slippage: float,
    granularity: float, min_size: float, fx: np.ndarray, fs: np.ndarray, reasons_out: np.ndarray,
    c0: int,
) -> tuple[float, float, float, float]:  # fmt: skip
    """Margin call at bar ``i``'s close: the position closes at the close with fees and
    slippage, re-entry waits for a new target; a book left with equity <= 0 is closed out.
    Returns ``(cash, pos, target, equity)``."""
    fs[j] = last_tgt
    cash, pos = _close_nb(
        h, ts, tc, j, i, cash, pos, last_tgt, price, fees, fixed_fees, slippage, granularity,
        min_size, fx, reasons_out, c0, R_MARGIN,
    )  # fmt: skip
    eq = cash + pos * price
    if eq <= 0.0:
        h[j, H_LIQUIDATED_AT] = i
        return 0.0, 0.0, 0.0, 0.0
    return cash, pos, 0.0, eq


# hot per-column state, saved between tiles (see simulate_block_nb)
(
    H_CASH,
    H_POS,
    H_TGT,
    H_PREV_EQ,
    H_SUM,
    H_SUM_SQ,
    H_GROWTH,
    H_PEAK,
    H_MDD,
    H_DOWN_SQ,
    H_OMEGA_UP,
    H_OMEGA_DOWN,
    H_MIN,
    H_MAX,
    H_N_EXPOSED,
    H_CHANGE,
    H_N_INVALID,
    H_FIRST_INVALID,
    H_N_ORDERS,
    H_FEES,
    H_SINCE,
    H_LIQUIDATED_AT,
    H_WAIT,  # target of a cancelled priced order, held back until the target changes (NaN: none)
) = range(23)
N_HOT = 23
#: bars per tile: a tile of a C-ordered block's targets is copied column-major into a buffer
TILE = 512


#: fields of the ``sim`` tuple every block kernel takes (:func:`simulate_block_nb`, the fused
#: kernels of :mod:`strategies._fused_nb`, :mod:`backtest.resume`), in this order:
#:
#: * ``open_, close``: ``(n_bars,)`` float64 prices (> 0);
#: * ``next_open``: fill a change of target at the next bar's open (else at this bar's close);
#: * ``lo, hi``: direction clip of the targets (``[-1, 1]``, ``[0, 1]`` or ``[-1, 0]``);
#: * ``fees, fixed_fees, slippage, granularity, min_size``: see :func:`backtest._order_nb.order_nb`;
#: * ``init_cash``: starting cash of each column; the window starts flat;
#: * ``start, stop``: simulate bars ``[start, stop)`` (``stop > start``); with ``next_open`` the
#:   target decided at ``start - 1`` is the first that can fill (at ``open_[start]``);
#: * ``risk_free``: per-period risk-free return (Sharpe, Omega); ``ppy``: periods per year;
#: * ``out``: ``(n_cols, N_OUT)`` float64, the simulated columns' rows written (:data:`OUT_NAMES`);
#: * ``returns_out``: ``(stop - start, n_total)`` float64 receiving per-bar returns in columns
#:   ``out_col0 + col``, or a ``(0, 0)`` array for none; ``out_col0``: this batch's offset there;
#: * ``high, low, atr``: ``(n_bars,)`` prices and causal ATR read by the exit layer only;
#: * ``xp``: ``(n_cols, N_XP)`` exit parameters of :mod:`backtest._exits_nb` per column, or a
#:   ``(0, N_XP)`` array for no exit layer (the plain path, which never reads high/low);
#: * ``reasons_out``: ``(n_cols, len(REASONS))`` float64 receiving per column the number of
#:   trades closed for each exit reason, or a ``(0, 0)`` array;
#: * ``fx``: leverage, margin, financing and notional settings (:mod:`backtest._margin_nb`
#:   layout), or None for none (the plain path: numba prunes every ``fx is not None`` branch from
#:   its compiled kernel, so the plain loop is unchanged); ``lo, hi`` are then the direction clip
#:   scaled by the leverage (its fee schedule: buy and sell rates, minimum fee, see
#:   :func:`backtest._margin_nb.margin_terms_nb`);
#: * ``funding``: the ``(n_bars, 2)`` ``market`` array of :mod:`backtest._margin_nb` (funding
#:   rates, volume), or ``(0, 2)``;
#: * ``entry``: priced orders ``(prices, kind, cancel)`` of :mod:`backtest._entries_nb`
#:   (``prices``: C-ordered ``(n_bars, n_cols)``, NaN = market order), or None for market
#:   orders only (numba prunes every branch that reads it).
(
    S_OPEN, S_CLOSE, S_NEXT_OPEN, S_LO, S_HI, S_FEES, S_FIXED_FEES, S_SLIPPAGE, S_GRANULARITY,
    S_MIN_SIZE, S_INIT_CASH, S_START, S_STOP, S_RISK_FREE, S_PPY, S_OUT, S_RETURNS_OUT,
    S_OUT_COL0, S_HIGH, S_LOW, S_ATR, S_XP, S_REASONS_OUT, S_FX, S_FUNDING, S_ENTRY,
) = range(26)  # fmt: skip


@njit(cache=True, nogil=True)
def block_begin_nb(w: int, sim: tuple) -> tuple:
    """:func:`block_state_nb` of ``w`` columns at the start of ``sim``'s window."""
    return block_state_nb(w, sim[S_INIT_CASH], sim[S_START], sim[S_XP].shape[0] > 0)


@njit(cache=True, nogil=True)
def block_tile_nb(
    tgt: np.ndarray, transposed: bool, c0: int, t0: int, t1: int, state: tuple, sim: tuple
) -> None:
    """:func:`simulate_tile_nb` of bars ``[t0, t1)`` with the settings of ``sim`` on ``state``
    (the ``(h, ts, tc, xs, fs)`` of :func:`block_state_nb`, updated in place)."""
    h, ts, tc, xs, fs = state
    simulate_tile_nb(
        tgt, transposed, c0, t0, t1, h, ts, tc, xs, fs, sim[S_OPEN], sim[S_CLOSE],
        sim[S_NEXT_OPEN], sim[S_LO], sim[S_HI], sim[S_FEES], sim[S_FIXED_FEES], sim[S_SLIPPAGE],
        sim[S_GRANULARITY], sim[S_MIN_SIZE], sim[S_START], sim[S_RISK_FREE], sim[S_RETURNS_OUT],
        sim[S_OUT_COL0], sim[S_HIGH], sim[S_LOW], sim[S_ATR], sim[S_XP], sim[S_REASONS_OUT],
        sim[S_FX], sim[S_FUNDING], sim[S_ENTRY],
    )  # fmt: skip


@njit(cache=True, nogil=True)
def block_end_nb(state: tuple, c0: int, sim: tuple) -> None:
    """:func:`block_finish_nb` of ``state`` into ``sim``'s ``out`` at rows ``c0:``."""
    h, ts, tc, _, _ = state
    block_finish_nb(
        h, ts, tc, c0, sim[S_START], sim[S_STOP], sim[S_CLOSE], sim[S_RISK_FREE], sim[S_PPY],
        sim[S_OUT],
    )  # fmt: skip


@njit(cache=True, nogil=True)
def run_block_nb(
    targets: np.ndarray, transposed: bool, c0: int, state: tuple, begin: int, sim: tuple
) -> None:
    """Advance ``state`` (columns ``c0 : c0 + w`` of ``targets``) over bars ``[begin, stop)`` of
    ``sim``'s window: the tile loop of :func:`simulate_block_nb`. Starting at ``begin = start``
    from :func:`block_begin_nb` is one pass; stopping at ``k`` and going on from ``begin = k``
    with the saved state performs the very same operations (:mod:`backtest.resume`)."""
    w = state[0].shape[0]
    buf = np.empty((w, TILE))
    shift = 1 if sim[S_NEXT_OPEN] else 0
    stop = sim[S_STOP]
    for t0 in range(begin, stop, TILE):
        t1 = min(t0 + TILE, stop)
        if transposed:
            block_tile_nb(targets, True, c0, t0, t1, state, sim)
            continue
        for i in range(t0, t1):
            src = i - shift
            if src >= 0:
                for j in range(w):
                    buf[j, i - t0] = targets[src, c0 + j]
            else:  # no decision before the first bar: the flat start target
                for j in range(w):
                    buf[j, i - t0] = 0.0
        block_tile_nb(buf, False, c0, t0, t1, state, sim)


@njit(cache=True, nogil=True)
def simulate_block_nb(targets: np.ndarray, transposed: bool, c0: int, c1: int, sim: tuple) -> None:
    """Simulate columns ``c0:c1`` of ``targets`` over ``sim``'s bars ``[start, stop)`` into
    rows ``c0:c1`` of its ``out`` (``sim``: the tuple of fields ``S_*``).

    Releases the GIL: the batch wrapper runs blocks of columns on a thread pool.

    ``targets``: C-ordered ``(n_bars, n_cols)`` target exposures decided at each bar's close,
    any real dtype; ``(n_cols, n_bars)`` when ``transposed`` (an F-ordered batch's ``.T``).
    ``c0, c1``: the columns to simulate (at most a few dozen: the state is per column).
    ``entry``: priced orders ``(prices, kind, cancel)`` of :mod:`backtest._entries_nb`
    (``prices``: C-ordered ``(n_bars, n_cols)``, NaN = market order) in the ``sim`` field
    ``S_ENTRY``, or None for market orders only (numba prunes every branch that reads it).

    With an exit layer, each bar runs: (next-open) the exit decision on the target, the order
    at the open, then the intrabar stop/target check filled at its level; (close fills) the
    intrabar check first, then the decision and the order at the close; then the bar's range
    updates the trailing extreme. See :class:`backtest.exits.Exits` for the rules.

    Bars are walked in tiles of :data:`TILE`; with C-ordered targets the tile's targets of the
    block are first copied column-major into a small buffer (transposed targets are read in
    place, each column's row being contiguous), then each column runs over the tile with its
    state in local variables. Exposure is counted at target changes (bars in force per non-zero
    target), not per bar. With ``risk_free == 0`` a bar whose equity is unchanged (flat, or an
    unchanged close) has ``r == 0.0`` exactly and skips the metric updates it cannot change.
    """
    state = block_begin_nb(c1 - c0, sim)
    run_block_nb(targets, transposed, c0, state, sim[S_START], sim)
    block_end_nb(state, c0, sim)


@njit(cache=True, nogil=True)
def block_state_nb(
    w: int, init_cash: float, start: int, has_exits: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The state of ``w`` columns before bar ``start``: flat, ``init_cash``, empty sums.

    ``(h, ts, tc, xs, fs)``: hot per-column state (``H_*``), open-trade state (``TS_*``), trade
    counters (``TC_*``), exit-layer state (``(w, N_XS)``, or ``(0, N_XS)`` without exits) and
    the target in force at a margin call (NaN: none). With the bar reached they are everything
    a simulation needs to go on: copies of them saved after bar ``k`` and passed back to
    :func:`simulate_tile_nb` resume the simulation at bar ``k + 1`` exactly as one pass would.
    """
    h = np.zeros((w, N_HOT))
    for j in range(w):
        h[j, H_CASH] = init_cash
        h[j, H_PREV_EQ] = init_cash
        h[j, H_GROWTH] = 1.0
        h[j, H_PEAK] = 1.0
        h[j, H_MIN] = np.inf
        h[j, H_MAX] = -np.inf
        h[j, H_FIRST_INVALID] = -1.0
        h[j, H_SINCE] = start
        h[j, H_LIQUIDATED_AT] = -1.0
        h[j, H_WAIT] = np.nan
    ts = np.zeros((w, N_TRADE_STATE))
    tc = np.zeros((w, N_TRADE_COUNTERS))
    xs = new_state_nb(w if has_exits else 0)
    fs = np.full(w, np.nan)  # target in force at a margin call, per column
    return h, ts, tc, xs, fs


@njit(cache=True, nogil=True)
def simulate_tile_nb(
    tgt: np.ndarray,
    transposed: bool,
    c0: int,
    t0: int,
    t1: int,
    h: np.ndarray,
    ts: np.ndarray,
    tc: np.ndarray,
    xs: np.ndarray,
    fs: np.ndarray,
    open_: np.ndarray,
    close: np.ndarray,
    next_open: bool,
    lo: float,
    hi: float,
    fees: float,
    fixed_fees: float,
    slippage: float,
    granularity: float,
    min_size: float,
    start: int,
    risk_free: float,
    returns_out: np.ndarray,
    out_col0: int,
    high: np.ndarray,
    low: np.ndarray,
    atr: np.ndarray,
    xp: np.ndarray,
    reasons_out: np.ndarray,
    fx: np.ndarray | None,
    funding: np.ndarray,
    entry: tuple | None = None,
) -> None:
    """Advance columns ``c0 : c0 + len(h)`` over bars ``[t0, t1)`` (at most :data:`TILE`),
    updating the state of :func:`block_state_nb` in place.

    ``tgt`` is a ``(w, TILE)`` buffer whose ``[j, i - t0]`` is the target read at bar ``i``
    (the one decided at ``i - 1`` with next-open fills, at ``i`` with close fills; 0.0 before
    the first bar), or, when ``transposed``, the ``(n_cols, n_bars)`` targets themselves read at
    ``[c0 + j, i - shift]``. ``start`` is the first bar of the window (returns rows are
    ``i - start``); other arguments: the fields ``S_*`` of the ``sim`` tuple.

    Priced orders (``entry``, next-open fills): an order whose price was set at the close of
    ``i - 1`` fills at :func:`backtest._entries_nb.entry_fill_nb` of bar ``i``'s range or not at
    all; an unfilled one is tried again at the next bar's price, or (``cancel``) holds the
    target back until it changes (:func:`backtest._entries_nb.entry_wait_nb`).

    Without an exit layer the tile loop is compiled with ``xs = None``: numba prunes every
    exit branch from that copy (as it does for ``fx`` and ``entry``), so the plain loop carries
    none of the exit layer's state or tests.
    """
    rest = (
        fs, open_, close, next_open, lo, hi, fees, fixed_fees, slippage, granularity, min_size,
        start, risk_free, returns_out, out_col0, high, low, atr, reasons_out, fx, funding, entry,
    )  # fmt: skip
    if xp.shape[0] > 0:
        _tile_loop_nb(tgt, transposed, c0, t0, t1, h, ts, tc, xs, xp[c0 : c0 + h.shape[0]], *rest)
    else:
        _tile_loop_nb(tgt, transposed, c0, t0, t1, h, ts, tc, None, xp, *rest)


@njit(cache=True, nogil=True)
def _tile_loop_nb(
    tgt: np.ndarray, transposed: bool, c0: int, t0: int, t1: int, h: np.ndarray, ts: np.ndarray,
    tc: np.ndarray, xs: np.ndarray | None, xpb: np.ndarray, fs: np.ndarray, open_: np.ndarray,
    close: np.ndarray, next_open: bool, lo: float, hi: float, fees: float, fixed_fees: float,
    slippage: float, granularity: float, min_size: float, start: int, risk_free: float,
    returns_out: np.ndarray, out_col0: int, high: np.ndarray, low: np.ndarray, atr: np.ndarray,
    reasons_out: np.ndarray, fx: np.ndarray | None, funding: np.ndarray, entry: tuple | None,
) -> None:  # fmt: skip
    """The tile loop of :func:`simulate_tile_nb`; ``xs`` None without an exit layer (its
    branches pruned), else the exit state and ``xpb`` the block's exit parameters."""
    w = h.shape[0]
    write_returns = returns_out.shape[0] > 0
    count_reasons = reasons_out.shape[0] > 0
    shift = 1 if next_open else 0
    prices = open_ if next_open else close
    lim = max(hi, -lo)  # targets read must lie in [-lim, lim]
    rf_zero = risk_free == 0.0
    for j in range(w):
        cash = h[j, H_CASH]
        pos = h[j, H_POS]
        last_tgt = h[j, H_TGT]
        prev = h[j, H_PREV_EQ]
        s = h[j, H_SUM]
        s2 = h[j, H_SUM_SQ]
        growth = h[j, H_GROWTH]
        peak = h[j, H_PEAK]
        mdd = h[j, H_MDD]
        down_sq = h[j, H_DOWN_SQ]
        up = h[j, H_OMEGA_UP]
        dn = h[j, H_OMEGA_DOWN]
        r_min = h[j, H_MIN]
        r_max = h[j, H_MAX]
        xc = exit_cache_nb(xs, xpb, j) if xs is not None else NO_CACHE
        # the order bookkeeping in registers; the arrays are synced around the rare helpers
        # (exits, margin calls, close-outs) that take them
        bk, tr, cnt = _load_nb(h, ts, tc, j)
        for i in range(t0, t1):
            if transposed:
                src = i - shift
                t = tgt[c0 + j, src] if src >= 0 else 0.0
            else:
                t = tgt[j, i - t0]
            if (
                xs is not None
                and not next_open  # the bar's range, before the order at the close
                and (low[i] <= xc[C_LO] or high[i] >= xc[C_HI])
                and i >= xc[C_LIVE]
            ):
                hit, why, (cash, pos, last_tgt, bk, tr, cnt) = _exit_intrabar_fill_nb(
                    xs, xpb, j, i, open_[i], high[i], low[i], (cash, pos, last_tgt, bk, tr, cnt),
                    fees, fixed_fees, slippage, granularity, min_size, fx,
                )  # fmt: skip
                if hit and count_reasons:
                    reasons_out[c0 + j, why] += 1
                xc = exit_cache_nb(xs, xpb, j)
            go = t != last_tgt
            if fx is not None:  # after a margin call, until the target changes
                if blocked_nb(fs, j, t, lo, hi):
                    go = False
            if xs is not None and i >= xc[C_ATTN]:  # the time stop's order, or a blocked side:
                go = not (xc[C_BLOCKED] * t > 0)  # flat while the target holds that side
            if entry is not None:  # a cancelled priced order holds its target back
                held, h[j, H_WAIT] = entry_wait_nb(h[j, H_WAIT], min(max(t, lo), hi))
                if held:
                    go = False
            if go and h[j, H_LIQUIDATED_AT] < 0:  # a closed-out book places no more orders
                if not (t >= -lim and t <= lim):  # NaN or out of range
                    h[j, H_N_INVALID] += 1
                    if h[j, H_FIRST_INVALID] < 0:
                        h[j, H_FIRST_INVALID] = i - shift
                else:
                    t = min(max(t, lo), hi)
                    t_read = t
                    why = -1
                    if xs is not None and (xc[C_BLOCKED] != 0.0 or xc[C_ATTN] != np.inf):
                        # (unblocked without a time stop the decision changes nothing)
                        t, why = exit_decide_nb(xs, xpb, j, t, i - shift, shift)
                    px = prices[i]
                    market = True
                    if entry is not None and t != last_tgt and why < 0 and i >= shift:
                        p = entry[0][i - shift, c0 + j]
                        if p == p:  # a limit or stop order at the strategy's price
                            market = False
                            px = entry_fill_nb(entry[1], t > last_tgt, p, open_[i], high[i],
                                               low[i])  # fmt: skip
                            if px != px:  # not reached: no order this bar
                                if entry[2]:
                                    h[j, H_WAIT] = t_read
                                t = last_tgt
                    if fx is not None:  # a volume participation limit (backtest.financing)
                        t = participation_nb(fx, funding, i, t, cash, pos, px)
                    if t != last_tgt:
                        bk, value, cap, min_fee, sell_fees = _order_terms_nb(
                            bk, i, cash, pos, t, last_tgt, px, fees, fx
                        )
                        filled, cash, pos, size, fill_px, paid = order_nb(
                            cash, pos, value, t, px, fees, fixed_fees, slippage, granularity,
                            min_size, cap, min_fee, sell_fees,
                        )  # fmt: skip
                        if filled:
                            bk, tr, cnt = _filled_nb(bk, tr, cnt, i, size, fill_px, paid)
                        last_tgt = t
                        if xs is not None:
                            a = atr[i - shift] if i >= shift else np.nan
                            closed = exit_on_target_nb(
                                xs, xpb, j, t, px, i, a, next_open and market
                            )
                            if why < 0:
                                why = closed
                            if why >= 0 and count_reasons:
                                reasons_out[c0 + j, why] += 1
                    if xs is not None:
                        xc = exit_cache_nb(xs, xpb, j)
            if xs is not None:
                if next_open:  # the bar's range after the open: hits, then trail/break-even
                    if (low[i] <= xc[C_ANY_LO] or high[i] >= xc[C_ANY_HI]) and i >= xc[C_LIVE]:
                        hit, why, (cash, pos, last_tgt, bk, tr, cnt) = _exit_intrabar_fill_nb(
                            xs, xpb, j, i, open_[i], high[i], low[i],
                            (cash, pos, last_tgt, bk, tr, cnt), fees, fixed_fees, slippage,
                            granularity, min_size, fx,
                        )  # fmt: skip
                        if hit and count_reasons:
                            reasons_out[c0 + j, why] += 1
                        exit_end_bar_nb(xs, xpb, j, i, high[i], low[i])
                        xc = exit_cache_nb(xs, xpb, j)
                elif (high[i] >= xc[C_UPD_HI] or low[i] <= xc[C_UPD_LO]) and i >= xc[C_LIVE]:
                    exit_end_bar_nb(xs, xpb, j, i, high[i], low[i])
                    xc = exit_cache_nb(xs, xpb, j)
            if fx is not None:  # financing charged at the close (backtest.financing)
                cash = accrue_nb(fx, funding, i, cash, pos, close[i])
            # mark to market at the close (cash + 0.0 == cash when flat, as vectorbt)
            eq = cash + pos * close[i]
            if eq <= 0.0 and pos != 0.0:  # wiped out: the book is closed out at this close
                _save_nb(h, ts, tc, j, bk, tr, cnt)
                cash, pos, last_tgt = _close_out_nb(h, ts, tc, j, i, pos, close[i], last_tgt)
                bk, tr, cnt = _load_nb(h, ts, tc, j)
                eq = 0.0
                if count_reasons:
                    reasons_out[c0 + j, R_MARGIN] += 1
                if xs is not None:
                    exit_reset_nb(xs, j)
                    xc = exit_cache_nb(xs, xpb, j)
            elif fx is not None:
                if margin_call_nb(fx, eq, pos, close[i]):
                    _save_nb(h, ts, tc, j, bk, tr, cnt)
                    cash, pos, last_tgt, eq = _margin_call_nb(
                        h, ts, tc, j, i, cash, pos, close[i], last_tgt, fees, fixed_fees,
                        slippage, granularity, min_size, fx, fs, reasons_out, c0,
                    )  # fmt: skip
                    bk, tr, cnt = _load_nb(h, ts, tc, j)
                    if xs is not None:
                        exit_reset_nb(xs, j)
                        xc = exit_cache_nb(xs, xpb, j)
            if eq == prev and prev > 0 and rf_zero:
                # unchanged equity (flat, or an unchanged close): r == 0.0 exactly, which
                # leaves every sum, the growth, peak and drawdown bit-for-bit unchanged
                if write_returns:
                    returns_out[i - start, out_col0 + c0 + j] = 0.0
                r_min = min(r_min, 0.0)
                r_max = max(r_max, 0.0)
                continue
            if prev > 0:
                r = (eq - prev) / prev
            elif prev == 0:  # vectorbt's get_return_nb
                r = 0.0 if eq == 0 else np.inf * np.sign(eq)
            else:
                r = -(eq - prev) / prev
            prev = eq
            if write_returns:
                returns_out[i - start, out_col0 + c0 + j] = r
            # the operations of _metrics_nb.acc_update_nb, sums instead of Welford
            s += r
            s2 += r * r
            r_min = min(r_min, r)
            r_max = max(r_max, r)
            growth *= 1.0 + r
            peak = max(peak, growth)
            mdd = min(mdd, (growth - peak) / peak)  # branchless: faster than a test
            loss = min(r, 0.0)
            down_sq += loss * loss
            if rf_zero:  # r - 0.0 == r: the same sums, one min fewer
                up += max(r, 0.0)
                dn -= loss
            else:
                excess = r - risk_free
                up += max(excess, 0.0)
                dn -= min(excess, 0.0)
        _save_nb(h, ts, tc, j, bk, tr, cnt)
        h[j, H_CASH] = cash
        h[j, H_POS] = pos
        h[j, H_TGT] = last_tgt
        h[j, H_PREV_EQ] = prev
        h[j, H_SUM] = s
        h[j, H_SUM_SQ] = s2
        h[j, H_GROWTH] = growth
        h[j, H_PEAK] = peak
        h[j, H_MDD] = mdd
        h[j, H_DOWN_SQ] = down_sq
        h[j, H_OMEGA_UP] = up
        h[j, H_OMEGA_DOWN] = dn
        h[j, H_MIN] = r_min
        h[j, H_MAX] = r_max


@njit(cache=True, nogil=True)
def block_finish_nb(
    h: np.ndarray,
    ts: np.ndarray,
    tc: np.ndarray,
    c0: int,
    start: int,
    stop: int,
    close: np.ndarray,
    risk_free: float,
    ppy: float,
    out: np.ndarray,
) -> None:
    """Reduce the state after bar ``stop - 1`` to rows ``c0 : c0 + len(h)`` of ``out``
    (a window ``[start, stop)``). Modifies ``h`` and ``tc`` (the last target's exposure, the open
    trade): pass copies to go on simulating from the same state."""
    w = h.shape[0]
    n = stop - start
    last_close = close[stop - 1]
    for j in range(w):
        col = c0 + j
        if h[j, H_TGT] != 0:  # the last target's bars
            h[j, H_N_EXPOSED] += stop - h[j, H_SINCE]
        if ts[j, TS_IN_POS] == 1.0 and is_less_nb(-ts[j, TS_SIZE], 0.0):  # open trade
            size = ts[j, TS_SIZE]
            entry_price = ts[j, TS_GROSS] / size
            pnl, _ = trade_pnl_nb(
                size, entry_price, ts[j, TS_FEES], last_close, 0.0, ts[j, TS_LONG] == 1.0
            )
            _record_trade_nb(tc, j, pnl, False)
        acc = acc_from_sums_nb(
            n, n, h[j, H_SUM], h[j, H_SUM_SQ], h[j, H_MIN], h[j, H_MAX], h[j, H_GROWTH],
            h[j, H_PEAK], h[j, H_MDD], h[j, H_DOWN_SQ], h[j, H_OMEGA_UP], h[j, H_OMEGA_DOWN],
            0.0, risk_free,
        )  # fmt: skip
        acc_fill_metrics_nb(acc, risk_free, ppy, out[col, :_N_RET])
        _trade_metrics_nb(tc[j], out[col])
        out[col, O_EXPOSURE] = h[j, H_N_EXPOSED] / n
        out[col, O_TURNOVER] = h[j, H_CHANGE] / n
        out[col, O_FINAL_EQUITY] = h[j, H_PREV_EQ]
        out[col, O_N_ORDERS] = h[j, H_N_ORDERS]
        out[col, O_FEES] = h[j, H_FEES]
        out[col, O_N_INVALID] = h[j, H_N_INVALID]
        out[col, O_FIRST_INVALID] = h[j, H_FIRST_INVALID]
        out[col, O_LIQUIDATED_AT] = h[j, H_LIQUIDATED_AT]


@njit(cache=True, error_model="numpy")
def _trade_metrics_nb(tc: np.ndarray, out: np.ndarray) -> None:
    """Trade statistics of one column with the conventions of ``_metrics_nb``."""
    n_closed = tc[TC_N_CLOSED]
    out[O_N_TRADES] = tc[TC_N_TRADES]
    if n_closed == 0:
        out[O_WIN_RATE] = np.nan
        out[O_PROFIT_FACTOR] = np.nan
        out[O_EXPECTANCY] = np.nan
    else:
        out[O_WIN_RATE] = tc[TC_N_WINS] / n_closed
        out[O_PROFIT_FACTOR] = tc[TC_GAINS] / tc[TC_LOSSES]  # inf without losses, 0/0 = NaN
        out[O_EXPECTANCY] = tc[TC_SUM_PNL] / n_closed
