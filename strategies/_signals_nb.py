"""Numba kernels turning indicator values and entry/exit booleans into target positions.

Arrays in, arrays out; positions are float64 target exposures decided at each bar's close.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "signals_to_positions_nb",
    "entry_exit_step_nb",
    "stop_step_nb",
    "ma_cross_fill_f_nb",
    "ma_cross_fill_c_nb",
    "sma_cross_fill_nb",
    "sma_advance_nb",
    "sma_state_at_nb",
    "stop_state_machine_nb",
    "pairs_state_machine_nb",
]


@njit(cache=True)
def signals_to_positions_nb(
    long_entries: np.ndarray,
    long_exits: np.ndarray,
    short_entries: np.ndarray,
    short_exits: np.ndarray,
    size: float,
) -> np.ndarray:
    """1-D state machine: +size after a long entry, -size after a short entry, 0 after an exit.

    An exit on the same bar as an entry of the same side wins. Shapes: all inputs ``(n,)`` bool.
    """
    n = long_entries.shape[0]
    out = np.zeros(n, dtype=np.float64)
    state = 0.0
    for i in range(n):
        state = entry_exit_step_nb(
            state, long_entries[i], long_exits[i], short_entries[i], short_exits[i], size
        )
        out[i] = state
    return out


@njit(cache=True, nogil=True)
def entry_exit_step_nb(
    state: float, long_in: bool, long_out: bool, short_in: bool, short_out: bool, size: float
) -> float:
    """One bar of :func:`signals_to_positions_nb`: the target after ``state`` (``+size``, ``0``
    or ``-size``) meets this bar's entry and exit signals."""
    if state > 0 and long_out:
        state = 0.0
    elif state < 0 and short_out:
        state = 0.0
    if long_in and not long_out:
        state = size
    elif short_in and not short_out:
        state = -size
    return state


@njit(cache=True)
def ma_cross_fill_f_nb(
    ma: np.ndarray, fast_idx: np.ndarray, slow_idx: np.ndarray, out: np.ndarray
) -> None:
    """Fill ``out[:, j] = 1.0 if ma[fast_idx[j]] > ma[slow_idx[j]] else 0.0`` (NaN compares false).

    ``ma`` is ``(k, n)`` (one moving average per row), ``fast_idx``/``slow_idx`` are ``(m,)`` row
    numbers, ``out`` is ``(n, m)`` and should be Fortran-ordered (each column contiguous). Bars
    are processed in tiles so the tile of every moving average stays in cache across columns.
    """
    n = ma.shape[1]
    m = fast_idx.shape[0]
    tile = 8192
    for t0 in range(0, n, tile):
        t1 = min(t0 + tile, n)
        for j in range(m):
            f = ma[fast_idx[j]]
            s = ma[slow_idx[j]]
            for i in range(t0, t1):
                out[i, j] = 1.0 if f[i] > s[i] else 0.0


@njit(cache=True)
def ma_cross_fill_c_nb(
    ma: np.ndarray, fast_idx: np.ndarray, slow_idx: np.ndarray, out: np.ndarray
) -> None:
    """Row-major twin of :func:`ma_cross_fill_f_nb` for a C-ordered ``out``.

    Works through blocks of bars: the block's moving averages are copied to a small row-major
    scratch so that every row of ``out`` is written from cache.
    """
    k, n = ma.shape
    m = fast_idx.shape[0]
    block = 2048
    scratch = np.empty((block, k))
    for start in range(0, n, block):
        stop = min(start + block, n)
        for r in range(k):
            for i in range(start, stop):
                scratch[i - start, r] = ma[r, i]
        for i in range(start, stop):
            vals = scratch[i - start]
            for j in range(m):
                out[i, j] = 1.0 if vals[fast_idx[j]] > vals[slow_idx[j]] else 0.0


@njit(cache=True, nogil=True)
def sma_cross_fill_nb(
    close: np.ndarray,
    windows: np.ndarray,
    fast_idx: np.ndarray,
    slow_idx: np.ndarray,
    out: np.ndarray,
    resync: int,
) -> None:
    """Fused SMA-crossover positions: ``out[:, j] = SMA(windows[fast_idx[j]]) > SMA(windows[slow_idx[j]])``.

    ``close`` ``(n,)`` without NaN; ``windows`` ``(k,)`` distinct windows; ``out`` ``(n, m)`` of
    either order. Bars are walked in tiles; every window keeps a running sum across tiles that is
    re-summed exactly at bars ``w-1, w-1+R, w-1+2R, ...`` (``R = max(resync, w)``), the very
    arithmetic of :func:`strategies.indicators._nb.rolling_mean_1d_nb`, so the moving averages are
    bit-identical to it while only a ``(k, tile)`` scratch is ever held in memory. Releases the
    GIL: callers may fill disjoint column ranges from several threads.
    """
    n = close.shape[0]
    k = windows.shape[0]
    m = fast_idx.shape[0]
    tile = 4096
    totals = np.zeros(k)
    next_sync = windows - 1  # next bar of each window whose sum is re-summed exactly
    scratch = np.empty((k, tile))
    for t0 in range(0, n, tile):
        t1 = min(t0 + tile, n)
        sma_advance_nb(close, windows, totals, next_sync, scratch, t0, t1, resync)
        for j in range(m):
            f = scratch[fast_idx[j]]
            s = scratch[slow_idx[j]]
            for i in range(t0, t1):
                out[i, j] = 1.0 if f[i - t0] > s[i - t0] else 0.0


@njit(cache=True, nogil=True)
def sma_advance_nb(
    close: np.ndarray,
    windows: np.ndarray,
    totals: np.ndarray,
    next_sync: np.ndarray,
    scratch: np.ndarray,
    t0: int,
    t1: int,
    resync: int,
) -> None:
    """Moving averages of bars ``[t0, t1)`` into ``scratch[r, :t1 - t0]``, one row per window.

    The running state (``totals``: each window's sum at bar ``t0 - 1``; ``next_sync``: its next
    exact re-sum bar) is updated in place, so successive calls walk the bars in order with the
    arithmetic of :func:`sma_cross_fill_nb` (NaN during the warm-up). Start a walk at bar 0 with
    ``totals = 0`` and ``next_sync = windows - 1``, or anywhere with :func:`sma_state_at_nb`.
    """
    for r in range(windows.shape[0]):
        w = windows[r]
        period = max(resync, w)
        total = totals[r]
        row = scratch[r]
        i = t0
        while i < t1 and i < w - 1:  # warm-up
            row[i - t0] = np.nan
            i += 1
        sync = next_sync[r]
        while i < t1:
            if i == sync:
                total = 0.0
                for q in range(i - w + 1, i + 1):
                    total += close[q]
                row[i - t0] = total / w
                sync += period
                i += 1
            stop = min(t1, sync)
            for ii in range(i, stop):  # running sum between exact re-sums
                total += close[ii] - close[ii - w]
                row[ii - t0] = total / w
            i = max(i, stop)
        next_sync[r] = sync
        totals[r] = total


@njit(cache=True, nogil=True)
def sma_state_at_nb(
    close: np.ndarray, windows: np.ndarray, first: int, resync: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(totals, next_sync)`` of :func:`sma_advance_nb` for a walk starting at bar ``first``:
    the state a walk from bar 0 holds there (the last exact re-sum, then the running sum)."""
    k = windows.shape[0]
    totals = np.zeros(k)
    next_sync = windows - 1
    last = first - 1
    for r in range(k):
        w = windows[r]
        if last < w - 1:
            continue
        period = max(resync, w)
        s = w - 1 + (last - (w - 1)) // period * period
        total = 0.0
        for q in range(s - w + 1, s + 1):
            total += close[q]
        for ii in range(s + 1, last + 1):
            total += close[ii] - close[ii - w]
        totals[r] = total
        next_sync[r] = s + period
    return totals, next_sync


@njit(cache=True)
def stop_state_machine_nb(
    close: np.ndarray,
    long_entries: np.ndarray,
    long_exits: np.ndarray,
    short_entries: np.ndarray,
    short_exits: np.ndarray,
    stop_distance: np.ndarray,
) -> np.ndarray:
    """Entry/exit state machine with an optional trailing stop on the close: ``(n,)`` -> ``(n,)``.

    While long, the highest close since entry (entry bar included) is tracked and the position
    is closed when ``close < highest - stop_distance``; short mirrors it with the lowest close.
    ``stop_distance`` NaN means no stop on that bar. Exits are applied before entries; an exit on
    a bar blocks a new entry of the same side on that bar, an opposite entry reverses.
    """
    n = close.shape[0]
    out = np.zeros(n)
    state = 0
    extreme = 0.0
    for i in range(n):
        state, extreme = stop_step_nb(
            state, extreme, close[i], long_entries[i], long_exits[i], short_entries[i],
            short_exits[i], stop_distance[i],
        )  # fmt: skip
        out[i] = state
    return out


@njit(cache=True, nogil=True)
def stop_step_nb(
    state: int,
    extreme: float,
    c: float,
    long_in: bool,
    long_out: bool,
    short_in: bool,
    short_out: bool,
    d: float,
) -> tuple[int, float]:
    """One bar of :func:`stop_state_machine_nb` at close ``c`` with stop distance ``d``:
    ``(state, extreme)`` (``+1``/``0``/``-1`` and the extreme close since entry) after it."""
    exited_long = False
    exited_short = False
    if state > 0:
        extreme = max(extreme, c)
        if long_out or (d == d and c < extreme - d):
            state = 0
            exited_long = True
    elif state < 0:
        extreme = min(extreme, c)
        if short_out or (d == d and c > extreme + d):
            state = 0
            exited_short = True
    if state <= 0 and long_in and not long_out and not exited_long:
        state = 1
        extreme = c
    elif state >= 0 and short_in and not short_out and not exited_short:
        state = -1
        extreme = c
    return state, extreme


@njit(cache=True)
def pairs_state_machine_nb(
    z: np.ndarray, beta: np.ndarray, entry_z: float, exit_z: float
) -> np.ndarray:
    """Z-score entry/exit on a spread ``y - beta * x`` with legs frozen at entry: ``(n,)`` -> ``(n, 2)``.

    Long spread when ``z <= -entry_z`` until ``z >= -exit_z``; short spread when ``z >= entry_z``
    until ``z <= exit_z``; a bar past the opposite entry level reverses. Legs: long spread is
    ``(+1, -beta) / (1 + |beta|)`` with the beta of the entry bar, so gross exposure is 1. NaN
    ``z`` or ``beta`` closes any position.
    """
    n = z.shape[0]
    out = np.zeros((n, 2))
    state = 0
    wy = 0.0
    wx = 0.0
    for i in range(n):
        zi = z[i]
        bi = beta[i]
        if zi != zi or bi != bi:
            state = 0
        else:
            if state > 0 and zi >= -exit_z:
                state = 0
            elif state < 0 and zi <= exit_z:
                state = 0
            if state == 0:
                if zi <= -entry_z:
                    state = 1
                elif zi >= entry_z:
                    state = -1
                if state != 0:
                    gross = 1.0 + abs(bi)
                    wy = state / gross
                    wx = -state * bi / gross
        if state != 0:
            out[i, 0] = wy
            out[i, 1] = wx
    return out
