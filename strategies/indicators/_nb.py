"""Numba kernels of the hot indicators: arrays in, arrays out.

Conventions shared by every kernel:

* Inputs are float64 arrays; a kernel (suffix ``_1d``) takes ``(n,)`` arrays and returns
  ``(n,)``; :mod:`strategies.indicators.fast` applies it to each column of a frame.
* Output is ``NaN`` before the warm-up (the first index where the window is full) and wherever
  the window holds a ``NaN``; kernels never fill. The warm-up of each kernel is stated in its
  docstring as a 0-based index.
* Results agree with the pandas / ``ta`` reference named in each docstring to 1e-9 (rolling sums
  use Kahan-compensated add/remove and rolling variances Welford's method, as pandas does).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "rolling_mean_1d_nb",
    "rolling_mean_windows_nb",
    "ewm_mean_1d_nb",
    "ewm_step_nb",
    "ema_1d_nb",
    "rolling_std_1d_nb",
    "rolling_zscore_1d_nb",
    "rsi_1d_nb",
    "true_range_1d_nb",
    "atr_1d_nb",
    "rolling_max_1d_nb",
    "rolling_min_1d_nb",
    "psar_1d_nb",
]


# --- simple moving average ------------------------------------------------------------------------
@njit(cache=True)
def _rolling_mean_nan(x: np.ndarray, window: int) -> np.ndarray:
    """Rolling mean tolerating NaN (Kahan-compensated add/remove, NaN until ``window`` values)."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    total = 0.0
    comp = 0.0
    nobs = 0
    for i in range(n):
        v = x[i]
        if v == v:
            nobs += 1
            y = v - comp
            t = total + y
            comp = (t - total) - y
            total = t
        if i >= window:
            old = x[i - window]
            if old == old:
                nobs -= 1
                y = -old - comp
                t = total + y
                comp = (t - total) - y
                total = t
        if nobs == window:
            out[i] = total / window
    return out


#: bars between exact re-summations of running window sums (see rolling_mean_1d_nb)
RESYNC = 1024


@njit(cache=True)
def rolling_mean_1d_nb(x: np.ndarray, window: int) -> np.ndarray:
    """Rolling mean over ``window`` bars, like ``pd.Series(x).rolling(window).mean()``.

    Warm-up ``window - 1``; a window holding a NaN gives NaN. Without NaNs a running sum is used,
    re-summed exactly every ``max(1024, window)`` bars so rounding drift stays below 1e-13
    relative. Shape ``(n,)`` -> ``(n,)``.
    """
    n = x.shape[0]
    for i in range(n):
        if x[i] != x[i]:
            return _rolling_mean_nan(x, window)
    if n < window:
        return np.full(n, np.nan)
    out = np.empty(n)
    out[: window - 1] = np.nan
    resync = max(RESYNC, window)
    start = window - 1
    while start < n:  # blocks of `resync` bars, each starting from an exact window sum
        total = 0.0
        for k in range(start - window + 1, start + 1):
            total += x[k]
        out[start] = total / window
        stop = min(start + resync, n)
        for i in range(start + 1, stop):
            total += x[i] - x[i - window]
            out[i] = total / window
        start = stop
    return out


@njit(cache=True)
def rolling_mean_windows_nb(x: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """Rolling means of one series for many windows: ``(n,)``, ``(k,)`` -> ``(k, n)``.

    Row ``r`` is :func:`rolling_mean_1d_nb` of ``x`` with ``windows[r]`` (rows are contiguous so
    each moving average is read sequentially by the signal kernels).
    """
    k = windows.shape[0]
    out = np.empty((k, x.shape[0]))
    for r in range(k):
        out[r] = rolling_mean_1d_nb(x, windows[r])
    return out


# --- exponential moving averages ------------------------------------------------------------------
@njit(cache=True)
def ewm_mean_1d_nb(x: np.ndarray, alpha: float, min_periods: int) -> np.ndarray:
    """Exponentially weighted mean, exactly pandas' ``ewm(alpha=..., adjust=False).mean()``.

    ``ignore_na=False`` semantics: leading NaNs are skipped, an interior NaN holds the previous
    value and decays its weight. Output is NaN until ``min_periods`` non-NaN values were seen.
    """
    n = x.shape[0]
    out = np.full(n, np.nan)
    decay = 1.0 - alpha
    weighted = np.nan
    old_wt = 1.0
    nobs = 0
    for i in range(n):
        cur = x[i]
        if cur == cur:
            nobs += 1
        weighted, old_wt = ewm_step_nb(weighted, old_wt, cur, alpha, decay)
        if nobs >= min_periods:
            out[i] = weighted
    return out


@njit(cache=True, nogil=True)
def ewm_step_nb(
    weighted: float, old_wt: float, cur: float, alpha: float, decay: float
) -> tuple[float, float]:
    """One observation ``cur`` (NaN: none) of :func:`ewm_mean_1d_nb`'s recursion:
    ``(weighted, old_wt)`` after it (start from ``(NaN, 1.0)``; ``decay = 1 - alpha``)."""
    is_obs = cur == cur
    if weighted == weighted:
        old_wt *= decay
        if is_obs:
            if weighted != cur:
                num = old_wt * weighted + alpha * cur
                den = old_wt + alpha
                # x / 1.0 == x exactly: skip the division (the recursion's longest step) in the
                # steady state, where old_wt == decay and decay + alpha is 1.0 for the usual spans
                weighted = num if den == 1.0 else num / den
            old_wt = 1.0
    elif is_obs:
        weighted = cur
        old_wt = 1.0
    return weighted, old_wt


@njit(cache=True)
def ema_1d_nb(x: np.ndarray, window: int) -> np.ndarray:
    """EMA with span ``window`` (alpha = 2 / (window + 1)), ``ta`` convention.

    Same as ``x.ewm(span=window, min_periods=window, adjust=False).mean()``; warm-up
    ``first_valid + window - 1`` (``window - 1`` for a series without leading NaNs).
    """
    return ewm_mean_1d_nb(x, 2.0 / (window + 1.0), window)


# --- rolling standard deviation and z-score ---------------------------------------------------------
@njit(cache=True)
def _window_mean_ssqdm(x: np.ndarray, start: int, stop: int) -> tuple[float, float]:
    """Exact two-pass mean and sum of squared deviations of ``x[start:stop]`` (no NaN)."""
    m = 0.0
    for k in range(start, stop):
        m += x[k]
    m /= stop - start
    ss = 0.0
    for k in range(start, stop):
        d = x[k] - m
        ss += d * d
    return m, ss


@njit(cache=True)
def _rolling_mean_var(x: np.ndarray, window: int, ddof: int) -> tuple[np.ndarray, np.ndarray]:
    """Rolling mean and variance: Welford's add/remove updates (pandas' algorithm) with resyncs.

    Without NaNs in ``x`` the window statistics are recomputed exactly (two passes) every
    ``window`` bars, and directly at every bar for windows of at most 16, so the rounding error of
    a quiet window after a volatile one stays near machine precision (amortised cost O(1) per bar).
    """
    n = x.shape[0]
    mean_out = np.full(n, np.nan)
    var_out = np.full(n, np.nan)
    has_nan = False
    for i in range(n):
        if x[i] != x[i]:
            has_nan = True
            break
    if not has_nan and window <= 16:
        for i in range(window - 1, n):
            m, ss = _window_mean_ssqdm(x, i - window + 1, i + 1)
            if window > ddof:
                mean_out[i] = m
                var_out[i] = ss / (window - ddof)
        return mean_out, var_out
    if not has_nan and n >= window:  # full windows only: replace-one updates, exact resyncs
        inv = 1.0 / window
        denom = window - ddof
        mean, ssqdm = _window_mean_ssqdm(x, 0, window)
        if denom > 0:
            mean_out[window - 1] = mean
            var_out[window - 1] = ssqdm / denom
        since = 0
        for i in range(window, n):
            since += 1
            if since == window:
                mean, ssqdm = _window_mean_ssqdm(x, i - window + 1, i + 1)
                since = 0
            else:
                v = x[i]
                old = x[i - window]
                new_mean = mean + (v - old) * inv
                ssqdm += (v - old) * (v - new_mean + old - mean)
                mean = new_mean
            if denom > 0:
                mean_out[i] = mean
                var_out[i] = max(ssqdm, 0.0) / denom
        return mean_out, var_out
    since = 0
    nobs = 0
    mean = 0.0
    ssqdm = 0.0
    for i in range(n):
        v = x[i]
        if not has_nan and i >= window:
            since += 1
        if since == window:
            mean, ssqdm = _window_mean_ssqdm(x, i - window + 1, i + 1)
            since = 0
        else:
            if v == v:
                nobs += 1
                delta = v - mean
                mean += delta / nobs
                ssqdm += delta * (v - mean)
            if i >= window:
                old = x[i - window]
                if old == old:
                    nobs -= 1
                    if nobs > 0:
                        delta = old - mean
                        mean -= delta / nobs
                        ssqdm -= delta * (old - mean)
                    else:
                        mean = 0.0
                        ssqdm = 0.0
        if nobs == window and nobs > ddof:
            mean_out[i] = mean
            var_out[i] = max(ssqdm, 0.0) / (nobs - ddof)
    return mean_out, var_out


@njit(cache=True)
def rolling_std_1d_nb(x: np.ndarray, window: int, ddof: int = 1) -> np.ndarray:
    """Rolling standard deviation, like ``x.rolling(window).std(ddof=ddof)``. Warm-up ``window - 1``."""
    _, var = _rolling_mean_var(x, window, ddof)
    return np.sqrt(var)


@njit(cache=True)
def rolling_zscore_1d_nb(x: np.ndarray, window: int, ddof: int = 1) -> np.ndarray:
    """Rolling z-score ``(x - mean) / std`` over ``window`` bars (window includes bar ``t``).

    Same as ``(x - x.rolling(w).mean()) / x.rolling(w).std(ddof=ddof)`` except that a zero
    standard deviation gives NaN instead of ``inf``. Warm-up ``window - 1``.
    """
    mean, var = _rolling_mean_var(x, window, ddof)
    n = x.shape[0]
    out = np.full(n, np.nan)
    for i in range(n):
        sd = np.sqrt(var[i])
        if sd > 0.0:
            out[i] = (x[i] - mean[i]) / sd
    return out


# --- RSI --------------------------------------------------------------------------------------------
@njit(cache=True)
def rsi_1d_nb(close: np.ndarray, window: int) -> np.ndarray:
    """Wilder RSI exactly as ``ta.momentum.RSIIndicator(close, window, fillna=False)``.

    Gains and losses are smoothed with ``alpha = 1 / window`` (``adjust=False``); the first bar
    counts as a zero change (``ta``'s convention), so the warm-up is ``window - 1``. A window with
    no losses gives 100.
    """
    n = close.shape[0]
    out = np.full(n, np.nan)
    alpha = 1.0 / window
    decay = 1.0 - alpha
    # two pandas-exact ewm(alpha, adjust=False) states (see ewm_mean_1d_nb), fused in one pass
    eu = np.nan
    ed = np.nan
    wu = 1.0
    wd = 1.0
    nobs = 0
    for i in range(n):
        if i == 0:
            u = 0.0
            d = 0.0
        else:
            diff = close[i] - close[i - 1]
            if diff != diff:
                u = np.nan
                d = np.nan
            else:
                u = diff if diff > 0 else 0.0
                d = -diff if diff < 0 else 0.0
        if u == u:
            nobs += 1
            if eu == eu:
                wu *= decay
                if eu != u:
                    eu = (wu * eu + alpha * u) / (wu + alpha)
                wu = 1.0
                wd *= decay
                if ed != d:
                    ed = (wd * ed + alpha * d) / (wd + alpha)
                wd = 1.0
            else:
                eu = u
                ed = d
        elif eu == eu:
            wu *= decay
            wd *= decay
        if nobs >= window:
            if ed == 0.0:
                out[i] = 100.0
            else:
                out[i] = 100.0 - 100.0 / (1.0 + eu / ed)
    return out


# --- true range and ATR -------------------------------------------------------------------------------
@njit(cache=True)
def true_range_1d_nb(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """True range ``max(h - l, |h - c[t-1]|, |l - c[t-1]|)``; bar 0 is ``h - l`` (no prior close)."""
    n = close.shape[0]
    out = np.empty(n)
    if n == 0:
        return out
    out[0] = high[0] - low[0]
    for i in range(1, n):
        pc = close[i - 1]
        out[i] = max(high[i] - low[i], abs(high[i] - pc), abs(low[i] - pc))
    return out


@njit(cache=True)
def atr_1d_nb(high: np.ndarray, low: np.ndarray, close: np.ndarray, window: int) -> np.ndarray:
    """Average true range with Wilder smoothing, as ``ta.volatility.AverageTrueRange``.

    ``atr[window-1] = mean(tr[0:window])``, then ``atr[t] = (atr[t-1] * (window-1) + tr[t]) /
    window``. Warm-up ``window - 1`` (``ta`` writes zeros before it; here they are NaN).
    """
    n = close.shape[0]
    out = np.full(n, np.nan)
    if n < window:
        return out
    tr = true_range_1d_nb(high, low, close)
    out[window - 1] = tr[:window].mean()
    for i in range(window, n):
        out[i] = (out[i - 1] * (window - 1) + tr[i]) / window
    return out


# --- rolling max / min (Donchian channel) ---------------------------------------------------------------
@njit(cache=True)
def _rolling_extreme(x: np.ndarray, window: int, is_max: bool) -> np.ndarray:
    """Monotonic-deque rolling max (``is_max``) or min, O(n). NaN in the window gives NaN."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    dq = np.empty(n, dtype=np.int64)
    head = 0
    tail = 0
    nan_count = 0
    for i in range(n):
        v = x[i]
        if v != v:
            nan_count += 1
        else:
            if is_max:
                while tail > head and x[dq[tail - 1]] <= v:
                    tail -= 1
            else:
                while tail > head and x[dq[tail - 1]] >= v:
                    tail -= 1
            dq[tail] = i
            tail += 1
        if i >= window and x[i - window] != x[i - window]:
            nan_count -= 1
        while tail > head and dq[head] <= i - window:
            head += 1
        if i >= window - 1 and nan_count == 0:
            out[i] = x[dq[head]]
    return out


@njit(cache=True)
def rolling_max_1d_nb(x: np.ndarray, window: int) -> np.ndarray:
    """Rolling maximum over ``window`` bars including bar ``t`` (Donchian high). Warm-up ``window - 1``."""
    return _rolling_extreme(x, window, True)


@njit(cache=True)
def rolling_min_1d_nb(x: np.ndarray, window: int) -> np.ndarray:
    """Rolling minimum over ``window`` bars including bar ``t`` (Donchian low). Warm-up ``window - 1``."""
    return _rolling_extreme(x, window, False)


# --- parabolic SAR ----------------------------------------------------------------------------------
@njit(cache=True)
def psar_1d_nb(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, step: float, max_step: float
) -> tuple[np.ndarray, np.ndarray]:
    """Parabolic SAR and its trend (+1 up, -1 down), the algorithm of ``ta.trend.PSARIndicator``.

    Bars 0 and 1 carry the close as SAR and an up trend (``ta``'s initialisation); the SAR is
    defined from bar 0. Returns ``(sar, trend)``, both ``(n,)``.
    """
    n = close.shape[0]
    sar = close.copy()
    trend = np.ones(n)
    if n == 0:
        return sar, trend
    up_trend = True
    af = step
    up_high = high[0]
    down_low = low[0]
    for i in range(2, n):
        reversal = False
        max_high = high[i]
        min_low = low[i]
        if up_trend:
            sar[i] = sar[i - 1] + af * (up_high - sar[i - 1])
            if min_low < sar[i]:
                reversal = True
                sar[i] = up_high
                down_low = min_low
                af = step
            else:
                if max_high > up_high:
                    up_high = max_high
                    af = min(af + step, max_step)
                if low[i - 2] < sar[i]:
                    sar[i] = low[i - 2]
                elif low[i - 1] < sar[i]:
                    sar[i] = low[i - 1]
        else:
            sar[i] = sar[i - 1] - af * (sar[i - 1] - down_low)
            if max_high > sar[i]:
                reversal = True
                sar[i] = down_low
                up_high = max_high
                af = step
            else:
                if min_low < down_low:
                    down_low = min_low
                    af = min(af + step, max_step)
                if high[i - 2] > sar[i]:
                    sar[i] = high[i - 2]
                elif high[i - 1] > sar[i]:
                    sar[i] = high[i - 1]
        up_trend = up_trend != reversal
        trend[i] = 1.0 if up_trend else -1.0
    return sar, trend
