"""Honest fused reference loops of the built-in strategies for ``bench_backtest.py --kernel``.

Each reference is a hand-written numba loop, written independently of the project's kernels:
one pass per parameter set (threads across sets), the strategy's indicators kept
incrementally (running sums, EMA recursions, Wilder smoothing, monotonic deques), the signal,
the fill at the next bar's open with all equity, the fee, the equity and the Sharpe and
drawdown sums all in that pass, no positions matrix and no shared indicator table. Long/flat
sets only (the benchmark grids never short), ``1e-8`` minimum order size as vectorbt.

Every reference (``REFERENCES[name]``) takes ``(open_, high, low, close, ip, fp, fee, init_cash,
ppy)`` (``ip``/``fp``: ``(n_sets, .)`` int64/float64 parameters, see :func:`params`) and returns
``(n_sets, 3)``: final equity, Sharpe ratio, maximum drawdown; the strategy's kernel is one set's
pass, run for all sets on numba's threads (``prange``). Indicator arithmetic is the textbook one (e.g. the
Bollinger variance from a running sum of squares), so equities may differ from the project's
in the last digits, or where a signal sits exactly on a threshold.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from numba import njit, prange


def _grid(**axes: list) -> list[dict[str, Any]]:
    keys = list(axes)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*axes.values())]


#: 90 long/flat sets per built-in strategy
GRIDS: dict[str, list[dict[str, Any]]] = {
    "sma_cross": [
        {"fast": f, "slow": s} for f in range(5, 55, 5) for s in range(20, 220, 20) if f < s
    ],
    "rsi_reversion": _grid(
        window=[7, 14, 21, 28, 35], lower=[20.0, 25.0, 30.0],
        exit_level=[45.0, 50.0, 55.0, 60.0, 65.0, 68.0], upper=[70.0],
    ),
    "bollinger": _grid(
        window=[10, 20, 30, 40, 50, 60, 70, 80, 90], n_std=[1.0, 1.5, 2.0, 2.5, 3.0],
        mode=["reversion", "breakout"],
    ),
    "macd_momentum": _grid(fast=[4, 6, 8, 10, 12, 14], slow=[20, 26, 32, 40, 50], signal=[5, 9, 12]),
    "donchian_atr": _grid(
        entry_window=[20, 40, 60, 80, 100, 120], exit_window=[5, 10, 15], stop=["atr"],
        atr_window=[14], atr_mult=[2.0, 3.0, 4.0, 5.0, 6.0],
    ),
}  # fmt: skip


def params(strategy: str, sets: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """``(ip, fp)`` of the reference of ``strategy`` for ``sets``."""
    rows = {
        "sma_cross": lambda p: ([p["fast"], p["slow"]], []),
        "rsi_reversion": lambda p: ([p["window"]], [p["lower"], p["exit_level"]]),
        "bollinger": lambda p: ([p["window"], p["mode"] == "breakout"], [p["n_std"]]),
        "macd_momentum": lambda p: ([p["fast"], p["slow"], p["signal"]], []),
        "donchian_atr": lambda p: (
            [p["entry_window"], p["exit_window"], p["atr_window"]],
            [p["atr_mult"]],
        ),
    }[strategy]
    pairs = [rows(p) for p in sets]
    ip = np.array([a for a, _ in pairs], dtype=np.int64).reshape(len(sets), -1)
    fp = np.array([b for _, b in pairs], dtype=np.float64).reshape(len(sets), -1)
    return ip, fp


# --- the account: fill at the open, mark at the close --------------------------------------------
# (held, cash, units, previous equity, peak, sum of returns, sum of squares, max drawdown): a
# tuple of floats, which numba keeps in registers like separate local variables
@njit(cache=True, inline="always")
def _open(init_cash):
    return (0.0, init_cash, 0.0, init_cash, init_cash, 0.0, 0.0, 0.0)


@njit(cache=True, inline="always")
def _fill(acc, want, price, fee):
    held, cash, units, prev, peak, total, total_sq, mdd = acc
    if want != (held != 0.0):
        if want:  # all cash in, fees on top
            size = cash / (1.0 + fee) / price
            # vectorbt's default min_size (1e-8 units) up to its 1e-12 tolerance
            if size >= 1e-8 - 1e-12:
                units = size
                cash = 0.0
        elif units > 0.0:
            proceeds = units * price
            cash += proceeds - proceeds * fee
            units = 0.0
        held = 1.0 if want else 0.0
    return (held, cash, units, prev, peak, total, total_sq, mdd)


@njit(cache=True, inline="always")
def _mark(acc, c):
    held, cash, units, prev, peak, total, total_sq, mdd = acc
    eq = cash + units * c
    r = (eq - prev) / prev
    total += r
    total_sq += r * r
    if eq > peak:
        peak = eq
    elif eq < peak * (1.0 + mdd):
        mdd = eq / peak - 1.0
    return (held, cash, units, eq, peak, total, total_sq, mdd)


@njit(cache=True)
def _finish(out, acc, n, ppy):
    prev, total, total_sq, mdd = acc[3], acc[5], acc[6], acc[7]
    mean = total / n
    var = (total_sq - total * mean) / (n - 1)
    out[0] = prev
    out[1] = mean / np.sqrt(var) * np.sqrt(ppy) if var > 0 else np.nan
    out[2] = mdd


# --- the strategies --------------------------------------------------------------------------------
@njit(cache=True)
def sma_cross_ref(open_, high, low, close, ip, fp, fee, init_cash):
    """Long while SMA(fast) > SMA(slow), both SMAs as running sums."""
    f, s, sum_f, sum_s = ip[0], ip[1], 0.0, 0.0
    want, acc = False, _open(init_cash)
    for i in range(close.shape[0]):
        acc = _fill(acc, want, open_[i], fee)
        c = close[i]
        sum_f += c
        sum_s += c
        if i >= f:
            sum_f -= close[i - f]
        if i >= s:
            sum_s -= close[i - s]
        want = i >= s - 1 and sum_f / f > sum_s / s
        acc = _mark(acc, c)
    return acc


@njit(cache=True)
def rsi_reversion_ref(open_, high, low, close, ip, fp, fee, init_cash):
    """Long from RSI < lower until RSI >= exit_level; Wilder RSI by its recursion."""
    n = close.shape[0]
    w = ip[0]
    lower, exit_level = fp[0], fp[1]
    alpha = 1.0 / w
    up = down = 0.0
    want, acc = False, _open(init_cash)
    for i in range(n):
        acc = _fill(acc, want, open_[i], fee)
        c = close[i]
        if i > 0:
            diff = c - close[i - 1]
            up += alpha * ((diff if diff > 0 else 0.0) - up)
            down += alpha * ((-diff if diff < 0 else 0.0) - down)
        if i >= w - 1:
            rsi = 100.0 if down == 0.0 else 100.0 - 100.0 / (1.0 + up / down)
            if want and rsi >= exit_level:
                want = False
            elif not want and rsi < lower:
                want = True
        acc = _mark(acc, c)
    return acc


@njit(cache=True)
def bollinger_ref(open_, high, low, close, ip, fp, fee, init_cash):
    """Reversion (long below the lower band until the mid) or breakout (long above the upper
    band until below the mid); bands from running sums of closes and squared closes."""
    n = close.shape[0]
    w, breakout, k = ip[0], ip[1] != 0, fp[0]
    s1 = s2 = 0.0
    want, acc = False, _open(init_cash)
    for i in range(n):
        acc = _fill(acc, want, open_[i], fee)
        c = close[i]
        s1 += c
        s2 += c * c
        if i >= w:
            old = close[i - w]
            s1 -= old
            s2 -= old * old
        if i >= w - 1:
            mid = s1 / w
            width = k * np.sqrt(max(s2 / w - mid * mid, 0.0))
            if breakout:
                go, leave = c > mid + width, c < mid
            else:
                go, leave = c < mid - width, c >= mid
            if want and leave:
                want = False
            if go and not leave:
                want = True
        acc = _mark(acc, c)
    return acc


@njit(cache=True)
def macd_momentum_ref(open_, high, low, close, ip, fp, fee, init_cash):
    """Long while the MACD line is above its signal EMA; three EMA recursions."""
    n = close.shape[0]
    f, s, g = ip[0], ip[1], ip[2]
    af, as_, ag = 2.0 / (f + 1.0), 2.0 / (s + 1.0), 2.0 / (g + 1.0)
    ema_f = ema_s = sig = close[0]
    want, acc = False, _open(init_cash)
    for i in range(n):
        acc = _fill(acc, want, open_[i], fee)
        c = close[i]
        ema_f += af * (c - ema_f)
        ema_s += as_ * (c - ema_s)
        line = ema_f - ema_s
        if i == s - 1:
            sig = line
        else:
            sig += ag * (line - sig)
        want = i >= s + g - 2 and line > sig
        acc = _mark(acc, c)
    return acc


@njit(cache=True, inline="always")
def _push(dq, head, tail, x, i, is_max):
    """Monotonic deque of indices into ``x`` (the window's max or min at ``dq[head]``)."""
    v = x[i]
    while tail > head and ((x[dq[tail - 1]] <= v) if is_max else (x[dq[tail - 1]] >= v)):
        tail -= 1
    dq[tail] = i
    return tail + 1


@njit(cache=True)
def donchian_atr_ref(open_, high, low, close, ip, fp, fee, init_cash):
    """Long above the previous ``entry_window`` bars' high until below the previous
    ``exit_window`` bars' low or ``atr_mult`` ATRs under the highest close since entry;
    channels by monotonic deques, ATR by Wilder's recursion."""
    n = close.shape[0]
    e, x, aw, mult = ip[0], ip[1], ip[2], fp[0]
    warmup = max(e, x, aw - 1)
    dq_hi = np.empty(n, dtype=np.int64)
    dq_lo = np.empty(n, dtype=np.int64)
    h_hi = t_hi = h_lo = t_lo = 0
    tr_sum = atr = extreme = 0.0
    want, acc = False, _open(init_cash)
    for i in range(n):
        acc = _fill(acc, want, open_[i], fee)
        c = close[i]
        if i > 0:  # channels of bars [i - window, i - 1]
            t_hi = _push(dq_hi, h_hi, t_hi, high, i - 1, True)
            t_lo = _push(dq_lo, h_lo, t_lo, low, i - 1, False)
            while dq_hi[h_hi] < i - e:
                h_hi += 1
            while dq_lo[h_lo] < i - x:
                h_lo += 1
            pc = close[i - 1]
            tr = max(high[i] - low[i], abs(high[i] - pc), abs(low[i] - pc))
        else:
            tr = high[i] - low[i]
        if i < aw:
            tr_sum += tr
            atr = tr_sum / aw
        else:
            atr = (atr * (aw - 1) + tr) / aw
        if i >= warmup:
            exited = False
            if want:
                extreme = max(extreme, c)
                if c < low[dq_lo[h_lo]] or c < extreme - mult * atr:
                    want = False
                    exited = True
            if not want and not exited and c > high[dq_hi[h_hi]]:
                want = True
                extreme = c
        acc = _mark(acc, c)
    return acc


@njit(parallel=True)
def _sets(kernel, open_, high, low, close, ip, fp, fee, init_cash, ppy):
    """``kernel`` (one set's pass) for every set, threads across sets: ``(n_sets, 3)``."""
    out = np.empty((ip.shape[0], 3))
    for j in prange(ip.shape[0]):
        acc = kernel(open_, high, low, close, ip[j], fp[j], fee, init_cash)
        _finish(out[j], acc, close.shape[0], ppy)
    return out


def _reference(kernel: Any) -> Any:
    def run(open_, high, low, close, ip, fp, fee, init_cash, ppy):
        return _sets(kernel, open_, high, low, close, ip, fp, fee, init_cash, ppy)

    return run


REFERENCES = {
    name: _reference(kernel)
    for name, kernel in {
        "sma_cross": sma_cross_ref,
        "rsi_reversion": rsi_reversion_ref,
        "bollinger": bollinger_ref,
        "macd_momentum": macd_momentum_ref,
        "donchian_atr": donchian_atr_ref,
    }.items()
}
