"""Resumable simulation kernel: continue a block of columns from a saved state.

:func:`resume_block_nb` advances the state of :func:`backtest._sim_nb.block_state_nb` (cash,
position, target in force, trade bookkeeping, metric sums) over bars ``[begin, stop)`` of a
window begun at ``start``, with the tile loop of :func:`backtest._sim_nb.simulate_tile_nb`, so
simulating ``[start, k)`` then resuming ``[k, stop)`` performs the very operations of one pass
over ``[start, stop)``: results are bit-identical. Plain path only (no exit layer, no
leverage/financing); the wrapper is :func:`backtest.resume.simulate_resumable`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from backtest._exits_nb import N_XP
from backtest._sim_nb import TILE, simulate_tile_nb

__all__ = ["resume_block_nb"]


@njit(cache=True, nogil=True)
def resume_block_nb(
    open_: np.ndarray,
    close: np.ndarray,
    targets: np.ndarray,
    c0: int,
    h: np.ndarray,
    ts: np.ndarray,
    tc: np.ndarray,
    xs: np.ndarray,
    fs: np.ndarray,
    begin: int,
    start: int,
    stop: int,
    next_open: bool,
    lo: float,
    hi: float,
    fees: float,
    fixed_fees: float,
    slippage: float,
    granularity: float,
    min_size: float,
    risk_free: float,
) -> None:
    """Advance columns ``c0 : c0 + len(h)`` of the C-ordered ``(n_bars, n_cols)`` ``targets``
    over bars ``[begin, stop)`` (``start <= begin < stop``), updating the state in place."""
    w = h.shape[0]
    buf = np.empty((w, TILE))
    shift = 1 if next_open else 0
    none = np.empty(0)
    no_rows = np.empty((0, 0))
    no_xp = np.empty((0, N_XP))
    for t0 in range(begin, stop, TILE):
        t1 = min(t0 + TILE, stop)
        for i in range(t0, t1):
            src = i - shift
            for j in range(w):
                buf[j, i - t0] = targets[src, c0 + j] if src >= 0 else 0.0
        simulate_tile_nb(
            buf, False, c0, t0, t1, h, ts, tc, xs, fs, open_, close, next_open, lo, hi, fees,
            fixed_fees, slippage, granularity, min_size, start, risk_free, no_rows, 0, none, none,
            none, no_xp, no_rows, None, none,
        )  # fmt: skip
