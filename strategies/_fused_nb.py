"""Fused signal + simulation kernels of the built-in strategies (the batch path's fast lane).

A fused kernel computes a block of parameter sets' signals tile by tile inside the simulation
pass of :mod:`backtest._sim_nb` (``block_state_nb`` -> ``simulate_tile_nb`` per tile ->
``block_finish_nb``), so no ``(n_bars, n_sets)`` positions matrix is ever materialised: only a
``(k, TILE)`` indicator scratch and a ``(w, TILE)`` target buffer per block. Its targets are
bit-identical to the strategy's ``batch_positions`` (the same indicator arithmetic), so its
metrics equal those of the matrix path.

Calling convention (see :class:`backtest.fused.FusedSignal`): ``kernel(*signal_args, open_,
close, c0, c1, next_open, lo, hi, fees, fixed_fees, slippage, granularity, min_size,
init_cash, start, stop, risk_free, ppy, out, returns_out, out_col0, high, low, atr, xp,
reasons_out, fx, funding)``, the arguments of :func:`backtest._sim_nb.simulate_block_nb` without the targets.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from backtest._sim_nb import TILE, block_finish_nb, block_state_nb, simulate_tile_nb
from strategies._signals_nb import sma_advance_nb, sma_state_at_nb

__all__ = ["sma_cross_block_nb"]


@njit(cache=True, nogil=True)
def sma_cross_block_nb(
    fast: np.ndarray,
    slow: np.ndarray,
    resync: int,
    open_: np.ndarray,
    close: np.ndarray,
    c0: int,
    c1: int,
    next_open: bool,
    lo: float,
    hi: float,
    fees: float,
    fixed_fees: float,
    slippage: float,
    granularity: float,
    min_size: float,
    init_cash: float,
    start: int,
    stop: int,
    risk_free: float,
    ppy: float,
    out: np.ndarray,
    returns_out: np.ndarray,
    out_col0: int,
    high: np.ndarray,
    low: np.ndarray,
    atr: np.ndarray,
    xp: np.ndarray,
    reasons_out: np.ndarray,
    fx: np.ndarray | None,
    funding: np.ndarray,
) -> None:
    """``sma_cross`` sets ``c0:c1`` (``fast``/``slow``: ``(n_sets,)`` int64 windows) simulated
    over ``[start, stop)``: target ``1.0 if SMA(fast) > SMA(slow) else 0.0`` at each close
    (:class:`strategies.builtin.sma_cross.SmaCross`), the SMAs of the block's distinct windows
    advanced one tile at a time (:func:`strategies._signals_nb.sma_advance_nb`)."""
    w = c1 - c0
    windows = np.unique(np.concatenate((fast[c0:c1], slow[c0:c1])))
    fi = np.searchsorted(windows, fast[c0:c1])
    si = np.searchsorted(windows, slow[c0:c1])
    h, ts, tc, xs, fs = block_state_nb(w, init_cash, start, xp.shape[0] > 0)
    shift = 1 if next_open else 0
    first = max(start - shift, 0)  # first bar whose decision is read
    totals, next_sync = sma_state_at_nb(close, windows, first, resync)
    scratch = np.empty((windows.shape[0], TILE))
    buf = np.empty((w, TILE))
    for t0 in range(start, stop, TILE):
        t1 = min(t0 + TILE, stop)
        a = max(t0 - shift, 0)  # decisions of bars [a, t1 - shift)
        sma_advance_nb(close, windows, totals, next_sync, scratch, a, t1 - shift, resync)
        for j in range(w):
            f = scratch[fi[j]]
            s = scratch[si[j]]
            for i in range(t0, t1):
                src = i - shift
                buf[j, i - t0] = (1.0 if f[src - a] > s[src - a] else 0.0) if src >= 0 else 0.0
        simulate_tile_nb(
            buf, False, c0, t0, t1, h, ts, tc, xs, fs, open_, close, next_open, lo, hi, fees,
            fixed_fees, slippage, granularity, min_size, start, risk_free, returns_out, out_col0,
            high, low, atr, xp, reasons_out, fx, funding,
        )  # fmt: skip
    block_finish_nb(h, ts, tc, c0, start, stop, close, risk_free, ppy, out)
