"""Numba kernels of the exploration stage: arrays in, arrays out, no pandas.

Conventions: inputs are float64 (or bool) 1-D arrays of length ``n`` unless stated; rolling
outputs have the same length, ``NaN`` until the window is full or while it holds a ``NaN``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "average_ranks_nb",
    "runs_nb",
    "rolling_autocorr_nb",
    "rolling_beta_corr_nb",
    "forward_log_returns_nb",
    "ksg_counts_nb",
    "rank_ic_stats_nb",
    "adx_nb",
    "cci_nb",
    "aroon_nb",
    "ulcer_nb",
    "mfi_nb",
    "kama_nb",
]


@njit(cache=True)
def average_ranks_nb(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    """1-based ranks of ``values`` with ties given their average rank (scipy's ``"average"``).

    Args:
        values: ``(n,)`` finite values.
        order: ``(n,)`` an argsort of ``values`` (ascending).

    Returns:
        ``(n,)`` float64 ranks in ``[1, n]``.
    """
    n = values.shape[0]
    ranks = np.empty(n, dtype=np.float64)
    i = 0
    while i < n:
        j = i
        v = values[order[i]]
        while j + 1 < n and values[order[j + 1]] == v:
            j += 1
        r = 0.5 * (i + j) + 1.0
        for k in range(i, j + 1):
            ranks[order[k]] = r
        i = j + 1
    return ranks


@njit(cache=True)
def runs_nb(mask: np.ndarray, min_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Maximal runs of ``True`` in ``mask`` at least ``min_len`` long.

    Returns:
        ``(starts, lengths)``: int64 arrays; run ``k`` covers ``mask[starts[k]:starts[k] + lengths[k]]``.
    """
    n = mask.shape[0]
    starts = np.empty(n, dtype=np.int64)
    lengths = np.empty(n, dtype=np.int64)
    m = 0
    i = 0
    while i < n:
        if mask[i]:
            j = i
            while j + 1 < n and mask[j + 1]:
                j += 1
            if j - i + 1 >= min_len:
                starts[m] = i
                lengths[m] = j - i + 1
                m += 1
            i = j + 1
        else:
            i += 1
    return starts[:m].copy(), lengths[:m].copy()


@njit(cache=True)
def _rolling_pair_nb(
    x: np.ndarray, y: np.ndarray, window: int, out_beta: np.ndarray, out_corr: np.ndarray
) -> None:
    """Rolling OLS beta of ``y`` on ``x`` and Pearson correlation over the last ``window`` pairs.

    Sums are updated incrementally and recomputed from scratch every ``window`` steps, which keeps
    the floating-point drift of add/remove updates bounded on long series.
    """
    n = x.shape[0]
    sx = sy = sxx = syy = sxy = 0.0
    bad = 0  # NaN pairs inside the window
    for t in range(n):
        xi, yi = x[t], y[t]
        if np.isnan(xi) or np.isnan(yi):
            bad += 1
        else:
            sx += xi
            sy += yi
            sxx += xi * xi
            syy += yi * yi
            sxy += xi * yi
        if t >= window:
            xo, yo = x[t - window], y[t - window]
            if np.isnan(xo) or np.isnan(yo):
                bad -= 1
            else:
                sx -= xo
                sy -= yo
                sxx -= xo * xo
                syy -= yo * yo
                sxy -= xo * yo
        if t % window == 0 and t >= window and bad == 0:
            sx = sy = sxx = syy = sxy = 0.0
            for k in range(t - window + 1, t + 1):
                sx += x[k]
                sy += y[k]
                sxx += x[k] * x[k]
                syy += y[k] * y[k]
                sxy += x[k] * y[k]
        if t < window - 1 or bad > 0:
            out_beta[t] = np.nan
            out_corr[t] = np.nan
            continue
        vx = sxx - sx * sx / window
        vy = syy - sy * sy / window
        cxy = sxy - sx * sy / window
        if vx <= 1e-300:
            out_beta[t] = np.nan
            out_corr[t] = np.nan
            continue
        out_beta[t] = cxy / vx
        if vy <= 1e-300:
            out_corr[t] = np.nan
        else:
            c = cxy / np.sqrt(vx * vy)
            out_corr[t] = min(1.0, max(-1.0, c))


@njit(cache=True)
def rolling_beta_corr_nb(
    y: np.ndarray, x: np.ndarray, window: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rolling beta (``cov(y, x) / var(x)``) and correlation of ``y`` and ``x`` over ``window`` bars.

    Returns:
        ``(beta, corr)``, each ``(n,)``; ``NaN`` until ``window`` pairs are available or while a
        ``NaN`` is inside the window.
    """
    n = x.shape[0]
    beta = np.empty(n, dtype=np.float64)
    corr = np.empty(n, dtype=np.float64)
    _rolling_pair_nb(x, y, window, beta, corr)
    return beta, corr


@njit(cache=True)
def rolling_autocorr_nb(x: np.ndarray, window: int) -> np.ndarray:
    """Rolling lag-1 autocorrelation: correlation of ``x[t-w+1..t]`` with ``x[t-w..t-1]``.

    Returns:
        ``(n,)``; first defined at index ``window`` (needs ``window + 1`` values).
    """
    n = x.shape[0]
    lagged = np.empty(n, dtype=np.float64)
    lagged[0] = np.nan
    lagged[1:] = x[:-1]
    beta = np.empty(n, dtype=np.float64)
    corr = np.empty(n, dtype=np.float64)
    _rolling_pair_nb(lagged, x, window, beta, corr)
    return corr


@njit(cache=True)
def forward_log_returns_nb(log_close: np.ndarray, horizon: int, stop: int) -> np.ndarray:
    """``log_close[t + horizon] - log_close[t]`` for ``t + horizon < stop``, else ``NaN``.

    ``stop`` bounds the prices a label may read (``n`` for the whole data, the end of the training
    window for screening), which purges labels that would reach past it.
    """
    n = log_close.shape[0]
    out = np.full(n, np.nan)
    for t in range(min(n, stop) - horizon):
        out[t] = log_close[t + horizon] - log_close[t]
    return out


@njit(cache=True)
def rank_ic_stats_nb(
    R: np.ndarray,
    X: np.ndarray,
    mu: np.ndarray,
    sd: np.ndarray,
    ry: np.ndarray,
    ys: np.ndarray,
    batch: int,
    periods: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Information coefficients of every column of a feature matrix against one label.

    Args:
        R: ``(n, k)`` standardised ranks of the features (mean 0, population std 1, 0 where the
            feature is undefined), any float dtype; Fortran order is fastest.
        X: ``(n, k)`` the raw features (``NaN`` where undefined).
        mu, sd: ``(k,)`` mean and std of each raw column (``sd > 0``).
        ry: ``(n,)`` standardised ranks of the label; ys: ``(n,)`` standardised label.
        batch: bars per batch of the batch-means t statistic; the ``m = n // batch`` batches
            are aligned to the end of the sample.
        periods: ``(P + 1,)`` increasing row bounds of the stability periods.

    Returns:
        ``(rank_ic, ic, t_stat, period_ic)``: ``mean(R_j * ry)`` (Spearman correlation),
        ``mean(((X_j - mu_j) / sd_j) * ys)`` with undefined values at the mean (Pearson), the
        t statistic ``mean(b) / (std(b, ddof=1) / sqrt(m))`` of the batch means ``b`` of
        ``R_j * ry`` (0 when ``std(b) = 0``), each ``(k,)``; and ``(P, k)`` the Pearson
        correlation of ``R_j`` and ``ry`` within each period (``NaN`` if either is constant).
    """
    n, k = R.shape
    m = n // batch
    off = n - m * batch
    n_p = periods.shape[0] - 1
    sy = np.zeros(n_p)
    syy = np.zeros(n_p)
    for p in range(n_p):
        for i in range(periods[p], periods[p + 1]):
            sy[p] += ry[i]
            syy[p] += ry[i] * ry[i]
    rank_ic = np.empty(k)
    ic = np.empty(k)
    t_stat = np.empty(k)
    period_ic = np.empty((n_p, k))
    bm = np.empty(m)
    for j in range(k):
        total = 0.0
        for i in range(off):
            total += np.float64(R[i, j]) * ry[i]
        for b in range(m):
            acc = 0.0
            for i in range(off + b * batch, off + (b + 1) * batch):
                acc += np.float64(R[i, j]) * ry[i]
            bm[b] = acc / batch
            total += acc
        rank_ic[j] = total / n
        mean_b = bm.mean()
        var_b = 0.0
        for b in range(m):
            var_b += (bm[b] - mean_b) ** 2
        sd_b = np.sqrt(var_b / (m - 1)) if m > 1 else 0.0
        t_stat[j] = mean_b / (sd_b / np.sqrt(m)) if sd_b > 0 else 0.0
        acc = 0.0
        for i in range(n):
            x = X[i, j]
            if np.isfinite(x):
                acc += (x - mu[j]) / sd[j] * ys[i]
        ic[j] = acc / n
        for p in range(n_p):
            sx = 0.0
            sxx = 0.0
            sxy = 0.0
            for i in range(periods[p], periods[p + 1]):
                r = np.float64(R[i, j])
                sx += r
                sxx += r * r
                sxy += r * ry[i]
            cnt = periods[p + 1] - periods[p]
            vx = sxx - sx * sx / cnt
            vy = syy[p] - sy[p] * sy[p] / cnt
            if vx > 0 and vy > 0:
                period_ic[p, j] = (sxy - sx * sy[p] / cnt) / np.sqrt(vx * vy)
            else:
                period_ic[p, j] = np.nan
    return rank_ic, ic, t_stat, period_ic


@njit(cache=True)
def ksg_counts_nb(x: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Neighbour counts of the Kraskov-Stoegbauer-Grassberger mutual-information estimator.

    For each point ``i`` of the ``(x, y)`` sample, ``eps_i`` is the Chebyshev distance to its
    ``k``-th nearest other point, and ``r_i`` the largest float below it; ``nx[i]`` and ``ny[i]``
    count the *other* points with ``|x_j - x_i| <= r_i`` and ``|y_j - y_i| <= r_i``. This is what
    scikit-learn's ``_compute_mi_cc`` gets from its k-d trees (``MI = psi(n) + psi(k) -
    mean(psi(nx + 1)) - mean(psi(ny + 1))``), found here by walking outwards in ``x`` order,
    which stops as soon as the ``x`` distance alone exceeds the ``k``-th smallest distance.

    Args:
        x, y: ``(n,)`` finite values without ties (add a tiny noise first), ``n > k``.
        k: number of neighbours.

    Returns:
        ``(nx, ny)``, float64 ``(n,)`` each.
    """
    n = x.shape[0]
    ox = np.argsort(x)
    oy = np.argsort(y)
    xs = x[ox]
    yx = y[ox]  # y in x order
    ys = y[oy]
    pos_y = np.empty(n, dtype=np.int64)
    for q in range(n):
        pos_y[oy[q]] = q
    nx = np.empty(n)
    ny = np.empty(n)
    best = np.empty(k)
    for p in range(n):
        xi = xs[p]
        yi = yx[p]
        m = 0
        lo = p - 1
        hi = p + 1
        while lo >= 0 or hi < n:
            dl = xi - xs[lo] if lo >= 0 else np.inf
            dh = xs[hi] - xi if hi < n else np.inf
            if dl <= dh:
                j = lo
                dx = dl
                lo -= 1
            else:
                j = hi
                dx = dh
                hi += 1
            if m == k and dx >= best[k - 1]:
                break  # every point further out in x is at least this far
            d = max(dx, abs(yx[j] - yi))
            if m < k:
                q = m
                m += 1
            elif d < best[k - 1]:
                q = k - 1
            else:
                continue
            while q > 0 and best[q - 1] > d:  # insertion into the sorted k smallest
                best[q] = best[q - 1]
                q -= 1
            best[q] = d
        r = np.nextafter(best[k - 1], 0.0)
        nx[ox[p]] = _count_within_nb(xs, p, r)
        ny[ox[p]] = _count_within_nb(ys, pos_y[ox[p]], r)
    return nx, ny


@njit(cache=True)
def _count_within_nb(sorted_values: np.ndarray, p: int, r: float) -> int:
    """How many values other than ``sorted_values[p]`` lie within ``r`` of it (sorted input)."""
    centre = sorted_values[p]
    c = 0
    q = p - 1
    while q >= 0 and abs(sorted_values[q] - centre) <= r:
        c += 1
        q -= 1
    q = p + 1
    while q < sorted_values.shape[0] and abs(sorted_values[q] - centre) <= r:
        c += 1
        q += 1
    return c


# --------------------------------------------------------------------------- slow ``ta`` indicators
# Each kernel reproduces the ``ta`` 0.11 class named in its docstring value for value (including
# ``ta``'s zero fill before its first value); callers mask the warm-up as the catalog does.


@njit(cache=True)
def adx_nb(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, window: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``ta.trend.ADXIndicator``: ``(adx, adx_pos, adx_neg)``, each ``(n,)``.

    Wilder sums ``S_t = S_{t-1} - S_{t-1}/w + x_t`` of the true range and of the directional
    movements, seeded at bar ``w`` with the sum of bars ``1..w``; ``+DI``/``-DI`` from bar
    ``w + 1``; ADX seeded at bar ``2w - 1`` with the mean DX of bars ``w..2w-1``.
    """
    n = close.shape[0]
    w = window
    adx = np.zeros(n)
    pos_di = np.zeros(n)
    neg_di = np.zeros(n)
    if n <= w + 1:
        return adx, pos_di, neg_di
    s_tr = s_pos = s_neg = 0.0
    dx = np.zeros(n)
    for t in range(1, n):
        tr = max(high[t], close[t - 1]) - min(low[t], close[t - 1])
        up = high[t] - high[t - 1]
        down = low[t - 1] - low[t]
        p = up if (up > down and up > 0) else 0.0
        m = down if (down > up and down > 0) else 0.0
        if t <= w:
            s_tr += tr
            s_pos += p
            s_neg += m
            if t < w:
                continue
        else:
            s_tr = s_tr - s_tr / w + tr
            s_pos = s_pos - s_pos / w + p
            s_neg = s_neg - s_neg / w + m
        dip = 100.0 * s_pos / s_tr if s_tr != 0 else 0.0
        din = 100.0 * s_neg / s_tr if s_tr != 0 else 0.0
        dx[t] = 100.0 * abs(dip - din) / (dip + din) if dip + din != 0 else 0.0
        if t > w:
            pos_di[t] = dip
            neg_di[t] = din
    first = 2 * w - 1
    if first < n:
        acc = 0.0
        for t in range(w, 2 * w):
            acc += dx[t]
        adx[first] = acc / w
        for t in range(first + 1, n):
            adx[t] = (adx[t - 1] * (w - 1) + dx[t]) / w
    return adx, pos_di, neg_di


@njit(cache=True)
def cci_nb(typical: np.ndarray, window: int, constant: float) -> np.ndarray:
    """``ta.trend.CCIIndicator`` from the typical price ``(h + l + c) / 3``: ``(n,)``.

    ``(tp - mean_w) / (constant * mean |tp - mean_w|)``; ``NaN`` before bar ``w - 1`` and where
    the mean deviation is 0.
    """
    n = typical.shape[0]
    out = np.full(n, np.nan)
    for t in range(window - 1, n):
        mean = 0.0
        for k in range(t - window + 1, t + 1):
            mean += typical[k]
        mean /= window
        mad = 0.0
        for k in range(t - window + 1, t + 1):
            mad += abs(typical[k] - mean)
        mad /= window
        if mad != 0:
            out[t] = (typical[t] - mean) / (constant * mad)
    return out


@njit(cache=True)
def aroon_nb(high: np.ndarray, low: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """``ta.trend.AroonIndicator``: ``(up, down)`` in percent, each ``(n,)``.

    Over the ``w + 1`` bars ending at ``t``: ``100 * argmax / w`` (first occurrence, counted from
    the oldest bar) of the highs and ``100 * argmin / w`` of the lows; ``NaN`` before bar ``w``.
    """
    n = high.shape[0]
    up = np.full(n, np.nan)
    down = np.full(n, np.nan)
    for t in range(window, n):
        s = t - window
        imax = 0
        imin = 0
        for k in range(1, window + 1):
            if high[s + k] > high[s + imax]:
                imax = k
            if low[s + k] < low[s + imin]:
                imin = k
        up[t] = imax / window * 100.0
        down[t] = imin / window * 100.0
    return up, down


@njit(cache=True)
def ulcer_nb(close: np.ndarray, window: int) -> np.ndarray:
    """``ta.volatility.UlcerIndex``: ``sqrt(sum_w R^2 / w)`` with ``R = 100 (c - max_w) / max_w``.

    The running maximum uses up to ``w`` bars (fewer at the start, as ``ta``); ``NaN`` before
    bar ``w - 1``.
    """
    n = close.shape[0]
    r = np.empty(n)
    for t in range(n):
        m = close[t]
        for k in range(max(0, t - window + 1), t):
            if close[k] > m:
                m = close[k]
        r[t] = 100.0 * (close[t] - m) / m
    out = np.full(n, np.nan)
    for t in range(window - 1, n):
        acc = 0.0
        for k in range(t - window + 1, t + 1):
            acc += r[k] ** 2 / window
        out[t] = np.sqrt(acc)
    return out


@njit(cache=True)
def mfi_nb(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, window: int
) -> np.ndarray:
    """``ta.volume.MFIIndicator``: ``100 - 100 / (1 + positive / negative)`` money flow, ``(n,)``.

    Money flow ``tp * volume`` signed by the change of the typical price ``tp`` (0 when
    unchanged and on the first bar), summed over ``w`` bars; ``NaN`` before bar ``w - 1`` and
    when both sums are 0.
    """
    n = close.shape[0]
    flow = np.zeros(n)
    prev = np.nan
    for t in range(n):
        tp = (high[t] + low[t] + close[t]) / 3.0
        if t > 0:
            if tp > prev:
                flow[t] = tp * volume[t]
            elif tp < prev:
                flow[t] = -tp * volume[t]
        prev = tp
    out = np.full(n, np.nan)
    for t in range(window - 1, n):
        pos = 0.0
        neg = 0.0
        for k in range(t - window + 1, t + 1):
            if flow[k] >= 0:
                pos += flow[k]
            else:
                neg += flow[k]
        neg = abs(neg)
        if neg != 0:
            out[t] = 100.0 - 100.0 / (1.0 + pos / neg)
        elif pos > 0:
            out[t] = 100.0
    return out


@njit(cache=True)
def kama_nb(close: np.ndarray, window: int, pow1: int, pow2: int) -> np.ndarray:
    """``ta.momentum.KAMAIndicator``: Kaufman adaptive moving average, ``(n,)``.

    Seeded with the close at bar ``w - 1``; then ``k_t = k_{t-1} + sc_t (c_t - k_{t-1})`` with
    ``sc = (er (2/(p1+1) - 2/(p2+1)) + 2/(p2+1))^2`` and efficiency ratio
    ``er = |c_t - c_{t-w}| / sum_w |c_k - c_{k-1}|`` (0 when the denominator is 0).
    """
    n = close.shape[0]
    out = np.full(n, np.nan)
    if n < window:
        return out
    fast = 2.0 / (pow1 + 1)
    slow = 2.0 / (pow2 + 1.0)
    out[window - 1] = close[window - 1]
    for t in range(window, n):
        den = 0.0
        for k in range(t - window + 1, t + 1):
            den += abs(close[k] - close[k - 1])
        er = abs(close[t] - close[t - window]) / den if den != 0 else 0.0
        sc = (er * (fast - slow) + slow) ** 2.0
        out[t] = out[t - 1] + sc * (close[t] - out[t - 1])
    return out
