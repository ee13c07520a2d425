"""Numeric kernel of the exit layer: the per-column state machine of stops, targets and time exits.

Arrays in, arrays out; no pandas. The pandas-facing declaration is :class:`backtest.exits.Exits`;
the rules (when a level is set, when it is hit, at what price it fills) are documented there. Both
engine paths drive these same step functions: the fused batch kernel
(:func:`backtest._sim_nb.simulate_block_nb`) per column and bar, the reference path through
:func:`plan_exits_nb`, so one set of rules has one home.

A column's exit parameters are one row of :data:`N_XP` float64 (``NaN`` = rule off), its state one
row of :data:`N_XS` float64. Per bar ``i`` of a column the engines call, in this order:

* next-open fills: :func:`exit_decide_nb` on the target decided at the close of ``i - 1``, the
  order at ``open[i]`` with :func:`exit_on_target_nb`, then :func:`exit_intrabar_nb`;
* fills at the close: :func:`exit_intrabar_nb` first, then :func:`exit_decide_nb` on the target
  decided at the close of ``i``, the order at ``close[i]`` with :func:`exit_on_target_nb`;

and :func:`exit_end_bar_nb` after the bar (the trailing extreme and the break-even move learn the
bar's high and low only once it has closed).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from backtest._entries_nb import entry_fill_nb, entry_wait_nb

__all__ = [
    "N_XP",
    "N_XS",
    "REASONS",
    "R_SIGNAL",
    "R_STOP",
    "R_TARGET",
    "R_TRAIL",
    "R_TIME",
    "R_MARGIN",
    "new_state_nb",
    "exit_decide_nb",
    "exit_on_target_nb",
    "exit_intrabar_nb",
    "exit_end_bar_nb",
    "exit_reset_nb",
    "plan_exits_nb",
    "exit_cache_nb",
    "NO_CACHE",
    "C_LIVE",
    "C_LO",
    "C_HI",
    "C_UPD_LO",
    "C_UPD_HI",
    "C_ANY_LO",
    "C_ANY_HI",
    "C_ATTN",
    "C_BLOCKED",
]

#: exit reasons, by code (a trade closed by the strategy's own target is ``"signal"``)
REASONS = ("signal", "stop", "target", "trail", "time", "margin")
R_SIGNAL, R_STOP, R_TARGET, R_TRAIL, R_TIME, R_MARGIN = range(6)

# parameter row (NaN = off): fractions of the entry price, ATR multiples, bars, flags
(
    XP_SL_PCT,
    XP_SL_ATR,
    XP_TP_PCT,
    XP_TP_ATR,
    XP_TRAIL_PCT,
    XP_TRAIL_ATR,
    XP_TIME_BARS,
    XP_BE_PCT,
    XP_OPTIMISTIC,  # 1.0: a bar touching stop and target fills the target
    XP_REENTRY,  # 1.0: re-enter on the next decision after a stop; 0.0: after a signal reset
    XP_ENTRY_BAR,  # 1.0: the entry bar's range after a next-open fill can trigger the levels
) = range(11)
N_XP = 11

# state row
(
    XS_SIDE,  # side of the open trade (+1 / -1), 0 when flat
    XS_ENTRY,  # entry price (order price, before slippage)
    XS_ENTRY_BAR,  # bar of the entry fill
    XS_LIVE,  # first bar whose range can trigger the levels
    XS_STOP,  # fixed stop level (NaN: none); raised to the entry price by the break-even move
    XS_TARGET,  # take-profit level (NaN: none)
    XS_EXTREME,  # highest high (long) / lowest low (short) of closed live bars, entry included
    XS_TRAIL_DIST,  # trailing distance: fraction (pct) or price units (ATR); NaN: none
    XS_TRAIL_IS_PCT,
    XS_BLOCKED,  # side that may not re-enter until the signal leaves it (0: none)
) = range(10)
N_XS = 10


@njit(cache=True)
def new_state_nb(n: int) -> np.ndarray:
    """``(n, N_XS)`` flat, unblocked states."""
    xs = np.zeros((n, N_XS))
    for j in range(n):
        xs[j, XS_STOP] = np.nan
        xs[j, XS_TARGET] = np.nan
        xs[j, XS_TRAIL_DIST] = np.nan
    return xs


@njit(cache=True)
def exit_reset_nb(xs: np.ndarray, j: int) -> None:
    """Forget column ``j``'s trade and block (its book was closed out)."""
    xs[j, XS_SIDE] = 0.0
    xs[j, XS_BLOCKED] = 0.0


@njit(cache=True)
def _sign(x: float) -> float:
    if x > 0:
        return 1.0
    if x < 0:
        return -1.0
    return 0.0


@njit(cache=True)
def exit_decide_nb(
    xs: np.ndarray, xp: np.ndarray, j: int, target: float, k: int, shift: int
) -> tuple[float, int]:
    """The target to trade after the exit rules, decided at the close of bar ``k``.

    A side blocked by an earlier stop stays flat until the strategy's target leaves that side
    (turns flat or reverses). A time stop closes a trade held ``XP_TIME_BARS`` bars (counted as
    closes in the trade: with next-open fills the entry bar's close is the first) and blocks its
    side the same way.

    Returns:
        ``(target, reason)``: the target to trade, and :data:`R_TIME` when the time stop closes
        the trade, else -1.
    """
    side = _sign(target)
    blocked = xs[j, XS_BLOCKED]
    if blocked != 0.0:
        if side != blocked:
            xs[j, XS_BLOCKED] = 0.0
        else:
            return 0.0, -1
    open_side = xs[j, XS_SIDE]
    bars = xp[j, XP_TIME_BARS]
    if open_side != 0.0 and side == open_side and bars == bars:
        held = k - xs[j, XS_ENTRY_BAR] + shift
        if held >= bars:
            if xp[j, XP_REENTRY] != 1.0:
                xs[j, XS_BLOCKED] = open_side
            return 0.0, R_TIME
    return target, -1


@njit(cache=True)
def _tighter(a: float, b: float, side: float) -> float:
    """The level nearer the price of a ``side`` trade below/above it (NaN-aware)."""
    if a != a:
        return b
    if b != b:
        return a
    return max(a, b) if side > 0 else min(a, b)


@njit(cache=True)
def exit_on_target_nb(
    xs: np.ndarray,
    xp: np.ndarray,
    j: int,
    target: float,
    price: float,
    i: int,
    atr: float,
    next_open: bool,
) -> int:
    """Update the state after the target moved to ``target`` by an order at ``price`` on bar ``i``.

    A new side (entry or reversal) sets the levels from ``price`` (the order price, before
    slippage) and ``atr`` (the ATR at the decision bar's close); a resize on the same side keeps
    them. Returns :data:`R_SIGNAL` when the order closed (or reversed) a trade, else -1.
    """
    new_side = _sign(target)
    old_side = xs[j, XS_SIDE]
    if new_side == old_side:
        return -1
    reason = R_SIGNAL if old_side != 0.0 else -1
    xs[j, XS_SIDE] = new_side
    if new_side == 0.0:
        return reason
    s = new_side
    xs[j, XS_ENTRY] = price
    xs[j, XS_ENTRY_BAR] = i
    manage = next_open and xp[j, XP_ENTRY_BAR] == 1.0
    xs[j, XS_LIVE] = i if manage else i + 1
    xs[j, XS_EXTREME] = price
    xs[j, XS_STOP] = _tighter(
        price * (1.0 - s * xp[j, XP_SL_PCT]), price - s * xp[j, XP_SL_ATR] * atr, s
    )
    xs[j, XS_TARGET] = _tighter(
        price * (1.0 + s * xp[j, XP_TP_PCT]), price + s * xp[j, XP_TP_ATR] * atr, -s
    )
    if xp[j, XP_TRAIL_PCT] == xp[j, XP_TRAIL_PCT]:
        xs[j, XS_TRAIL_DIST] = xp[j, XP_TRAIL_PCT]
        xs[j, XS_TRAIL_IS_PCT] = 1.0
    else:
        xs[j, XS_TRAIL_DIST] = xp[j, XP_TRAIL_ATR] * atr  # NaN when off
        xs[j, XS_TRAIL_IS_PCT] = 0.0
    return reason


@njit(cache=True)
def _stop_level(xs: np.ndarray, j: int, s: float) -> tuple[float, int]:
    """The binding protective level of side ``s`` and its reason (stop or trail)."""
    stop = xs[j, XS_STOP]
    dist = xs[j, XS_TRAIL_DIST]
    if dist != dist:
        return stop, R_STOP
    ext = xs[j, XS_EXTREME]
    trail = ext * (1.0 - s * dist) if xs[j, XS_TRAIL_IS_PCT] == 1.0 else ext - s * dist
    if stop != stop or (trail > stop if s > 0 else trail < stop):
        return trail, R_TRAIL
    return stop, R_STOP


@njit(cache=True)
def exit_intrabar_nb(
    xs: np.ndarray, xp: np.ndarray, j: int, i: int, open_: float, high: float, low: float
) -> tuple[bool, float, int]:
    """Whether bar ``i``'s range closes the open trade, at what price and why.

    Levels were set before the bar; the bar's prices only decide the fill. A level the open
    gaps through fills at the open; a bar whose range touches both the protective level (stop or
    trail) and the target fills the protective one (``XP_OPTIMISTIC``: the target); otherwise
    the touched level fills at its price. On a hit the trade is closed in the state and its
    side is blocked unless ``XP_REENTRY``.
    """
    s = xs[j, XS_SIDE]
    if s == 0.0 or i < xs[j, XS_LIVE]:
        return False, np.nan, -1
    stop, stop_reason = _stop_level(xs, j, s)
    target = xs[j, XS_TARGET]
    hit = False
    price = np.nan
    reason = -1
    if stop == stop and s * (open_ - stop) <= 0:  # gap through the protective level
        hit, price, reason = True, open_, stop_reason
    elif target == target and s * (open_ - target) >= 0:  # gap through the target
        hit, price, reason = True, open_, R_TARGET
    else:
        stop_hit = stop == stop and (low <= stop if s > 0 else high >= stop)
        target_hit = target == target and (high >= target if s > 0 else low <= target)
        if target_hit and (not stop_hit or xp[j, XP_OPTIMISTIC] == 1.0):
            hit, price, reason = True, target, R_TARGET
        elif stop_hit:
            hit, price, reason = True, stop, stop_reason
    if hit:
        xs[j, XS_SIDE] = 0.0
        if xp[j, XP_REENTRY] != 1.0:
            xs[j, XS_BLOCKED] = s
    return hit, price, reason


@njit(cache=True)
def exit_end_bar_nb(
    xs: np.ndarray, xp: np.ndarray, j: int, i: int, high: float, low: float
) -> None:
    """After bar ``i`` closed: the trailing extreme and the break-even move learn its range."""
    s = xs[j, XS_SIDE]
    if s == 0.0 or i < xs[j, XS_LIVE]:
        return
    if s > 0:
        xs[j, XS_EXTREME] = max(xs[j, XS_EXTREME], high)
    else:
        xs[j, XS_EXTREME] = min(xs[j, XS_EXTREME], low)
    be = xp[j, XP_BE_PCT]
    if be == be:
        entry = xs[j, XS_ENTRY]
        if s * (xs[j, XS_EXTREME] - entry * (1.0 + s * be)) >= 0:
            xs[j, XS_STOP] = _tighter(xs[j, XS_STOP], entry, s)


@njit(cache=True)
def plan_exits_nb(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    atr: np.ndarray,
    targets: np.ndarray,
    xp: np.ndarray,
    next_open: bool,
    oprice: np.ndarray,
    kind: int,
    cancel: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The orders of one column after the exit rules, two order slots per bar (no cash involved).

    Slot 0 of bar ``i`` comes first in the bar: the next-open order (at ``open[i]``) or, with
    fills at the close, the intrabar exit; slot 1 comes second: the intrabar exit, or the order
    at the close. The exit rules never depend on cash, so the reference engine can hand these
    orders to vectorbt on a grid of two rows per bar.

    Args:
        open_, high, low, close, atr: ``(n,)`` prices and the causal ATR (NaN before its warm-up).
        targets: ``(n,)`` clipped target exposures decided at each close.
        xp: ``(1, N_XP)`` exit parameters.
        next_open: fills at the next open (else at the close).
        oprice, kind, cancel: ``(n,)`` prices of priced orders decided at each close (NaN: a
            market order; empty: none), their kind and unfilled rule (:mod:`backtest._entries_nb`,
            next-open fills only); a priced fill's price is the slot-0 order price.

    Returns:
        ``(order_target, order_price, reason, in_force, n_changes)``: ``(n, 2)`` target of each
        slot's order (NaN: none), its price (NaN: the slot's market price: the open, or the
        close), the exit reason code of the trade it closes (-1: none), the ``(n,)`` target in
        force at each close, and ``(n,)`` the sum of ``|target change|`` per bar.
    """
    n = len(targets)
    order_target = np.full((n, 2), np.nan)
    order_price = np.full((n, 2), np.nan)
    reason = np.full((n, 2), -1, dtype=np.int64)
    in_force = np.zeros(n)
    changes = np.zeros(n)
    xs = new_state_nb(1)
    shift = 1 if next_open else 0
    last = 0.0
    wait = np.nan
    priced = len(oprice) > 0
    for i in range(n):
        slot_signal = 0 if next_open else 1
        if not next_open:
            last = _plan_intrabar(xs, xp, i, open_, high, low, last, order_target, order_price,
                                  reason, changes, 0)  # fmt: skip
        k = i - shift
        t = targets[k] if k >= 0 else 0.0
        held = False
        if priced:
            held, wait = entry_wait_nb(wait, t)
        why = -1
        if not held:
            t, why = exit_decide_nb(xs, xp, 0, t, k, shift)
        else:
            t = last
        price = open_[i] if next_open else close[i]
        market = True
        if priced and t != last and why < 0 and k >= 0 and oprice[k] == oprice[k]:
            market = False
            price = entry_fill_nb(kind, t > last, oprice[k], open_[i], high[i], low[i])
            if price != price:  # not reached: no order this bar
                if cancel:
                    wait = targets[k]
                t = last
        if t != last:
            order_target[i, slot_signal] = t
            if not market:
                order_price[i, slot_signal] = price
            changes[i] += abs(t - last)
            last = t
            why_signal = exit_on_target_nb(xs, xp, 0, t, price, i, atr[k] if k >= 0 else np.nan,
                                           next_open and market)  # fmt: skip
            reason[i, slot_signal] = why if why >= 0 else why_signal
        if next_open:
            last = _plan_intrabar(xs, xp, i, open_, high, low, last, order_target, order_price,
                                  reason, changes, 1)  # fmt: skip
        exit_end_bar_nb(xs, xp, 0, i, high[i], low[i])
        in_force[i] = last
    return order_target, order_price, reason, in_force, changes


@njit(cache=True)
def _plan_intrabar(xs, xp, i, open_, high, low, last, order_target, order_price, reason, changes,
                   slot):  # fmt: skip
    hit, price, why = exit_intrabar_nb(xs, xp, 0, i, open_[i], high[i], low[i])
    if not hit:
        return last
    order_target[i, slot] = 0.0
    order_price[i, slot] = price
    reason[i, slot] = why
    changes[i] += abs(last)
    return 0.0


#: fields of the tuple returned by :func:`exit_cache_nb`
C_LIVE, C_LO, C_HI, C_UPD_LO, C_UPD_HI, C_ANY_LO, C_ANY_HI, C_ATTN, C_BLOCKED = range(9)
#: the cache of a column without an exit layer (nothing ever triggers)
NO_CACHE = (np.inf, -np.inf, np.inf, -np.inf, np.inf, -np.inf, np.inf, np.inf, 0.0)


@njit(cache=True)
def exit_cache_nb(
    xs: np.ndarray, xp: np.ndarray, j: int
) -> tuple[float, float, float, float, float, float, float, float, float]:
    """Scalar bounds that tell the batch kernel, per bar, whether a step function has work to do.

    ``(live, lo, hi, upd_lo, upd_hi, any_lo, any_hi, attn, blocked)``: a bar ``i`` whose
    ``low <= lo`` or ``high >= hi`` (and ``i >= live``) hits a level of the open trade
    (:func:`exit_intrabar_nb`); one whose ``low <= upd_lo`` or ``high >= upd_hi`` moves the trail
    or the break-even stop (:func:`exit_end_bar_nb`); ``any_lo, any_hi`` are the nearer of the
    two bounds on each side (one test for both); from order ``i >= attn`` :func:`exit_decide_nb` must see every
    target (the time stop's deadline, or always while a side is ``blocked``). Flat and unblocked,
    every bound is infinite. Outside these bounds the step functions change nothing, so the
    kernel skips them (recomputing the bounds after every event).
    """
    s = xs[j, XS_SIDE]
    blocked = xs[j, XS_BLOCKED]
    if s == 0.0:
        attn = -np.inf if blocked != 0.0 else np.inf
        return np.inf, -np.inf, np.inf, -np.inf, np.inf, -np.inf, np.inf, attn, blocked
    prot, _ = _stop_level(xs, j, s)
    tgt = xs[j, XS_TARGET]
    near = prot if s > 0 else tgt  # the level below the price
    far = tgt if s > 0 else prot  # the level above it
    lo = near if near == near else -np.inf
    hi = far if far == far else np.inf
    upd_lo, upd_hi = -np.inf, np.inf
    entry = xs[j, XS_ENTRY]
    be = xp[j, XP_BE_PCT]
    be_pending = be == be and not (s * (xs[j, XS_STOP] - entry) >= 0)
    if s > 0:
        if xs[j, XS_TRAIL_DIST] == xs[j, XS_TRAIL_DIST]:
            upd_hi = xs[j, XS_EXTREME]
        if be_pending:
            upd_hi = min(upd_hi, entry * (1.0 + be))
    else:
        if xs[j, XS_TRAIL_DIST] == xs[j, XS_TRAIL_DIST]:
            upd_lo = xs[j, XS_EXTREME]
        if be_pending:
            upd_lo = max(upd_lo, entry * (1.0 - be))
    bars = xp[j, XP_TIME_BARS]
    attn = xs[j, XS_ENTRY_BAR] + bars if bars == bars else np.inf
    any_lo, any_hi = max(lo, upd_lo), min(hi, upd_hi)
    return xs[j, XS_LIVE], lo, hi, upd_lo, upd_hi, any_lo, any_hi, attn, blocked
