"""Fused signal + simulation kernels of the built-in strategies (the batch path's fast lane).

A fused kernel computes a block of parameter sets' targets tile by tile inside the simulation
pass of :mod:`backtest._sim_nb` (``block_begin_nb`` -> ``block_tile_nb`` per tile ->
``block_end_nb``), so no ``(n_bars, n_sets)`` positions matrix is ever materialised: only a
``(w, TILE)`` target buffer per block and the strategy's indicator state. Its targets are
bit-identical to the strategy's ``batch_positions`` (the same indicator arithmetic, the same
state machines: :func:`strategies._signals_nb.entry_exit_step_nb`, ``stop_step_nb``), so its
metrics equal those of the matrix path.

* :func:`sma_cross_block_nb`: the SMAs of the block's distinct windows advanced one tile at a
  time (running sums, no indicator array at all).
* :func:`rule_block_nb`: ``rsi_reversion``, ``bollinger``, ``macd_momentum`` and
  ``donchian_atr``. Their indicators of each *distinct* window (RSI, SMA and population
  standard deviation, EMAs, shifted Donchian channels, ATR) are computed once per batch by the
  strategies' own indicator kernels into a ``(k, n_bars)`` table (``k`` distinct windows, far
  fewer than sets), and everything per set (band width, MACD line and its signal EMA, entry and
  exit rules, the state machine, the trailing stop) runs per bar inside the pass.

Calling convention (see :class:`backtest.fused.FusedSignal`): ``kernel(*signal_args, c0, c1,
sim)`` with ``sim`` the settings tuple of :mod:`backtest._sim_nb` (fields ``S_*``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from backtest._sim_nb import (
    S_NEXT_OPEN,
    S_START,
    S_STOP,
    TILE,
    block_begin_nb,
    block_end_nb,
    block_tile_nb,
)
from strategies._fused import RULE_BOLLINGER, RULE_MACD, RULE_RSI
from strategies._signals_nb import entry_exit_step_nb, sma_advance_nb, sma_state_at_nb, stop_step_nb
from strategies.indicators._nb import ewm_step_nb

__all__ = ["sma_cross_block_nb", "rule_block_nb"]

#: per-set signal state of :func:`rule_block_nb`: target state, trailing extreme (donchian) or
#: signal EMA (macd), the EMA's weight, observations seen
_ST_POS, _ST_X, _ST_WT, _ST_NOBS = range(4)


@njit(cache=True, nogil=True)
def _begin_nb(w: int, sim: tuple) -> tuple:
    """``(state, buf, start, stop, shift, first)`` of a block of ``w`` sets: the simulation
    state, a ``(w, TILE)`` target buffer, ``sim``'s window, 1 with next-open fills (else 0) and
    the first bar whose decision is read."""
    start, stop = sim[S_START], sim[S_STOP]
    shift = 1 if sim[S_NEXT_OPEN] else 0
    return block_begin_nb(w, sim), np.empty((w, TILE)), start, stop, shift, max(start - shift, 0)


@njit(cache=True, nogil=True)
def _tile_nb(t0: int, stop: int, shift: int) -> tuple[int, int]:
    """``(t1, a)``: the tile of bars ``[t0, t1)`` reads the decisions of bars ``[a, t1 - shift)``."""
    return min(t0 + TILE, stop), max(t0 - shift, 0)


@njit(cache=True, nogil=True)
def sma_cross_block_nb(
    fast: np.ndarray, slow: np.ndarray, resync: int, close: np.ndarray, c0: int, c1: int, sim: tuple
) -> None:
    """``sma_cross`` sets ``c0:c1`` (``fast``/``slow``: ``(n_sets,)`` int64 windows) simulated
    over ``sim``'s window: target ``1.0 if SMA(fast) > SMA(slow) else 0.0`` at each close
    (:class:`strategies.builtin.sma_cross.SmaCross`), the SMAs of the block's distinct windows
    advanced one tile at a time (:func:`strategies._signals_nb.sma_advance_nb`)."""
    w = c1 - c0
    windows = np.unique(np.concatenate((fast[c0:c1], slow[c0:c1])))
    fi = np.searchsorted(windows, fast[c0:c1])
    si = np.searchsorted(windows, slow[c0:c1])
    state, buf, start, stop, shift, first = _begin_nb(w, sim)
    totals, next_sync = sma_state_at_nb(close, windows, first, resync)
    scratch = np.empty((windows.shape[0], TILE))
    for t0 in range(start, stop, TILE):
        t1, a = _tile_nb(t0, stop, shift)
        sma_advance_nb(close, windows, totals, next_sync, scratch, a, t1 - shift, resync)
        off = a + shift - t0  # 1 at bar 0 with next-open fills: no decision before it
        for j in range(w):
            f, s, dst = scratch[fi[j]], scratch[si[j]], buf[j]
            dst[:off] = 0.0
            for k in range(t1 - t0 - off):  # dst[k + off]: the decision of bar a + k
                dst[k + off] = 1.0 if f[k] > s[k] else 0.0
        block_tile_nb(buf, False, c0, t0, t1, state, sim)
    block_end_nb(state, c0, sim)


@njit(cache=True, nogil=True)
def rule_block_nb(
    rule: int,
    rows: np.ndarray,
    close: np.ndarray,
    ip: np.ndarray,
    fp: np.ndarray,
    c0: int,
    c1: int,
    sim: tuple,
) -> None:
    """Sets ``c0:c1`` of the strategy ``rule`` (``strategies._fused.RULE_*``) simulated over
    ``sim``'s window.

    ``rows``: ``(k, n_bars)`` indicator table of the distinct windows; ``close``: the bars'
    closes the rules read; ``ip``/``fp``: ``(n_sets, .)`` int64/float64 per-set parameters
    (rows of ``rows`` and the rule's numbers, laid out in :func:`_rule_tile_nb`). Each set's
    signal state is first walked from bar 0 to the window's first decision (the rules are
    path-dependent), then tile by tile inside the simulation pass.
    """
    w = c1 - c0
    state, buf, start, stop, shift, first = _begin_nb(w, sim)
    st = np.zeros((w, 4))
    st[:, _ST_X] = np.nan  # no EMA value yet
    st[:, _ST_WT] = 1.0
    spec = (rule, rows, close, ip, fp)
    for a in range(0, first, TILE):  # the signal state before the window (targets unused)
        _rule_tile_nb(spec, c0, st, a, min(a + TILE, first), buf, 0)
    for t0 in range(start, stop, TILE):
        t1, a = _tile_nb(t0, stop, shift)
        off = a + shift - t0  # 1 at bar 0 with next-open fills: no decision before it
        buf[:, :off] = 0.0
        _rule_tile_nb(spec, c0, st, a, t1 - shift, buf, off)
        block_tile_nb(buf, False, c0, t0, t1, state, sim)
    block_end_nb(state, c0, sim)


@njit(cache=True, nogil=True)
def _rule_tile_nb(
    spec: tuple, c0: int, st: np.ndarray, a: int, b: int, buf: np.ndarray, off: int
) -> None:
    """Targets decided at bars ``[a, b)`` into ``buf[j, off + i - a]``, advancing ``st``;
    ``spec``: ``(rule, rows, close, ip, fp)`` of :func:`rule_block_nb`.

    Per-set parameters, ``ip`` / ``fp``: ``ip[0]`` allow_short, ``ip[1]`` warmup (targets
    before it are 0), then

    * RSI: ``[rsi row]`` / ``[lower, upper, exit_level]``;
    * BOLLINGER: ``[sma row, std row, breakout]`` / ``[n_std]``;
    * MACD: ``[fast EMA row, slow EMA row, signal]`` / ``[]``;
    * DONCHIAN: ``[entry high row, entry low row, exit high row, exit low row, ATR row (-1:
      no stop)]`` / ``[atr_mult]`` (channel rows unshifted: bar ``i`` reads ``i - 1``).
    """
    rule, rows, close, ip, fp = spec
    for j in range(st.shape[0]):
        q = ip[c0 + j]
        short = q[0] != 0
        warm = q[1]
        dst, k = buf[j], off - a  # dst[i + k]: the target decided at bar i
        if rule == RULE_RSI:
            _rsi_nb(rows[q[2]], fp[c0 + j], short, warm, st[j], a, b, dst, k)
        elif rule == RULE_BOLLINGER:
            _bollinger_nb(rows[q[2]], rows[q[3]], close, q[4] != 0, fp[c0 + j, 0], short, warm,
                          st[j], a, b, dst, k)  # fmt: skip
        elif rule == RULE_MACD:
            _macd_nb(rows[q[2]], rows[q[3]], q[4], short, warm, st[j], a, b, dst, k)
        else:
            _donchian_nb(rows, close, q, fp[c0 + j, 0], short, warm, st[j], a, b, dst, k)


@njit(cache=True, nogil=True)
def _rsi_nb(rsi, f, short, warm, st, a, b, dst, k):
    """rsi_reversion: :meth:`RsiReversion.signals` through the entry/exit state machine."""
    lower, upper, exit_level = f[0], f[1], f[2]
    pos = st[_ST_POS]
    for i in range(a, b):
        r = rsi[i]
        pos = entry_exit_step_nb(
            pos, r < lower, r >= exit_level, short and r > upper, short and r <= exit_level, 1.0
        )
        dst[i + k] = pos if i >= warm else 0.0
    st[_ST_POS] = pos


@njit(cache=True, nogil=True)
def _bollinger_nb(mid, std, close, breakout, n_std, short, warm, st, a, b, dst, k):
    """bollinger: :meth:`Bollinger.signals` (bands ``mid +- n_std * std``) through the
    entry/exit state machine."""
    pos = st[_ST_POS]
    for i in range(a, b):
        c = close[i]
        m = mid[i]
        width = n_std * std[i]
        upper, lower = m + width, m - width
        if breakout:
            le, lx, se, sx = c > upper, c < m, c < lower, c > m
        else:
            le, lx, se, sx = c < lower, c >= m, c > upper, c <= m
        pos = entry_exit_step_nb(pos, le, lx, short and se, short and sx, 1.0)
        dst[i + k] = pos if i >= warm else 0.0
    st[_ST_POS] = pos


@njit(cache=True, nogil=True)
def _macd_nb(ema_fast, ema_slow, signal, short, warm, st, a, b, dst, k):
    """macd_momentum: the MACD line ``EMA(fast) - EMA(slow)`` against its signal EMA
    (:func:`strategies.indicators._nb.ewm_step_nb`, the arithmetic of ``ema_1d_nb``)."""
    alpha = 2.0 / (signal + 1.0)
    decay = 1.0 - alpha
    ema, wt, nobs = st[_ST_X], st[_ST_WT], st[_ST_NOBS]
    for i in range(a, b):
        line = ema_fast[i] - ema_slow[i]
        if line == line:
            nobs += 1
        ema, wt = ewm_step_nb(ema, wt, line, alpha, decay)
        diff = line - (ema if nobs >= signal else np.nan)
        tgt = 1.0 if diff > 0 else 0.0
        if short and diff < 0:
            tgt = -1.0
        dst[i + k] = tgt if i >= warm else 0.0
    st[_ST_X], st[_ST_WT], st[_ST_NOBS] = ema, wt, nobs


@njit(cache=True, nogil=True)
def _donchian_nb(rows, close, q, atr_mult, short, warm, st, a, b, dst, k):
    """donchian_atr: the channels of the previous bars, the ATR trailing stop and the
    stop state machine (:func:`strategies._signals_nb.stop_step_nb`)."""
    entry_high, entry_low, exit_high, exit_low = rows[q[2]], rows[q[3]], rows[q[4]], rows[q[5]]
    atr = rows[max(q[6], 0)]
    has_stop = q[6] >= 0
    pos, extreme = int(st[_ST_POS]), st[_ST_X]
    nan = np.nan
    for i in range(a, b):
        c = close[i]
        eh = entry_high[i - 1] if i > 0 else nan
        el = entry_low[i - 1] if i > 0 else nan
        xh = exit_high[i - 1] if i > 0 else nan
        xl = exit_low[i - 1] if i > 0 else nan
        d = atr_mult * atr[i] if has_stop else nan
        live = i >= warm
        pos, extreme = stop_step_nb(
            pos, extreme, c, live and c > eh, c < xl, short and live and c < el,
            short and c > xh, d,
        )  # fmt: skip
        dst[i + k] = float(pos) if live else 0.0
    st[_ST_POS], st[_ST_X] = pos, extreme
