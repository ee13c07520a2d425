"""Numba kernels of the performance metrics: arrays in, scalars (or arrays) out.

Every return-based metric is computed from one *accumulator*: a small float64 state vector that
is updated bar by bar (:func:`acc_update_nb`) and read by finalizers (``acc_*_nb``). The
array kernels (``sharpe_ratio_nb(returns, ...)`` ...) build an accumulator over the array and call
the same finalizer, so a fused simulation kernel that feeds returns one bar at a time gets
bit-for-bit the same numbers as the array path, and nothing is written twice.

Use inside another ``@njit`` kernel::

    acc = acc_init_nb(0.0, 0.0)          # sortino threshold, omega threshold (per period)
    for t in range(n):
        ...                              # simulate, get the bar's simple return r
        acc_update_nb(acc, r)
    sharpe = acc_sharpe_ratio_nb(acc, 0.0, 252.0)

Conventions (the same as empyrical-reloaded 0.7, see ``backtest/metrics.py`` for the full text):

* returns are simple per-period returns; ``ppy`` is periods per year;
* ``NaN`` returns are *missing observations*: skipped by means and deviations, treated as a
  zero return by compounding (total return, drawdown), but still counted in the number of
  periods that sets the number of years of :func:`acc_cagr_nb` (empyrical does the same);
* standard deviation is the sample one (``ddof=1``), computed with Welford's update;
* a series whose values are all equal has a deviation of exactly ``0`` (so a constant positive
  return has an infinite Sharpe ratio, a constant zero return a ``NaN`` one);
* divisions follow IEEE rules (``x/0 = ±inf``, ``0/0 = NaN``): kernels use
  ``error_model="numpy"``.

Kernels that need the whole sample (quantiles: tail ratio, VaR, CVaR; skew and kurtosis) take the
array. Trade/position statistics are at the end of the module.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "ACC_SIZE",
    "RETURNS_METRICS",
    "acc_init_nb",
    "acc_reset_nb",
    "acc_update_nb",
    "acc_total_return_nb",
    "acc_cagr_nb",
    "acc_annual_volatility_nb",
    "acc_sharpe_ratio_nb",
    "acc_sharpe_ratio_per_period_nb",
    "acc_downside_risk_nb",
    "acc_sortino_ratio_nb",
    "acc_max_drawdown_nb",
    "acc_calmar_ratio_nb",
    "acc_omega_ratio_nb",
    "acc_fill_metrics_nb",
    "acc_from_sums_nb",
    "omega_threshold_nb",
    "accumulate_nb",
    "total_return_nb",
    "cagr_nb",
    "annual_volatility_nb",
    "sharpe_ratio_nb",
    "sharpe_ratio_per_period_nb",
    "downside_risk_nb",
    "sortino_ratio_nb",
    "max_drawdown_nb",
    "drawdown_series_nb",
    "calmar_ratio_nb",
    "omega_ratio_nb",
    "quantile_nb",
    "tail_ratio_nb",
    "value_at_risk_nb",
    "conditional_value_at_risk_nb",
    "skew_nb",
    "kurtosis_nb",
    "returns_metrics_nb",
    "returns_metrics_2d_nb",
    "exposure_nb",
    "turnover_nb",
    "position_trades_nb",
    "win_rate_nb",
    "profit_factor_nb",
    "expectancy_nb",
]

# --- accumulator layout (indices into the float64 state vector) -----------------------------------
_N = 0  # periods seen, NaN included (sets the number of years of CAGR)
_NV = 1  # valid (non-NaN) periods
_MEAN = 2  # running mean of valid returns (Welford)
_M2 = 3  # running sum of squared deviations from the mean (Welford)
_MIN = 4  # smallest valid return
_MAX = 5  # largest valid return
_GROWTH = 6  # prod(1 + r) over valid returns (wealth relative to the start)
_PEAK = 7  # running maximum of the wealth, starting at 1
_MDD = 8  # most negative drawdown seen so far (<= 0)
_DOWN_SQ = 9  # sum of min(r - sortino_threshold, 0) ** 2 over valid returns
_OMEGA_UP = 10  # sum of (r - omega_threshold) where positive
_OMEGA_DOWN = 11  # -sum of (r - omega_threshold) where negative (>= 0)
_SORTINO_T = 12  # per-period sortino required return
_OMEGA_T = 13  # per-period omega threshold (risk free + required return per period)
ACC_SIZE = 14

#: names of the columns written by :func:`acc_fill_metrics_nb` / :func:`returns_metrics_2d_nb`
RETURNS_METRICS = (
    "total_return",
    "cagr",
    "annual_volatility",
    "sharpe_ratio",
    "sortino_ratio",
    "max_drawdown",
    "calmar_ratio",
    "omega_ratio",
)


@njit(cache=True)
def acc_reset_nb(acc: np.ndarray, sortino_threshold: float, omega_threshold: float) -> None:
    """Reset an accumulator ``acc`` (shape ``(ACC_SIZE,)``) in place to the empty state."""
    acc[_N] = 0.0
    acc[_NV] = 0.0
    acc[_MEAN] = 0.0
    acc[_M2] = 0.0
    acc[_MIN] = np.inf
    acc[_MAX] = -np.inf
    acc[_GROWTH] = 1.0
    acc[_PEAK] = 1.0
    acc[_MDD] = 0.0
    acc[_DOWN_SQ] = 0.0
    acc[_OMEGA_UP] = 0.0
    acc[_OMEGA_DOWN] = 0.0
    acc[_SORTINO_T] = sortino_threshold
    acc[_OMEGA_T] = omega_threshold


@njit(cache=True)
def acc_init_nb(sortino_threshold: float = 0.0, omega_threshold: float = 0.0) -> np.ndarray:
    """A new empty accumulator, shape ``(ACC_SIZE,)``.

    ``sortino_threshold`` is the per-period required return of the Sortino ratio (empyrical's
    ``required_return``); ``omega_threshold`` the per-period threshold of the Omega ratio (see
    :func:`omega_threshold_nb`). Both are 0 by default.
    """
    acc = np.empty(ACC_SIZE, dtype=np.float64)
    acc_reset_nb(acc, sortino_threshold, omega_threshold)
    return acc


@njit(cache=True)
def acc_update_nb(acc: np.ndarray, r: float) -> None:
    """Feed one period's simple return ``r`` (``NaN`` = missing observation)."""
    acc[_N] += 1.0
    if math.isnan(r):
        return
    nv = acc[_NV] + 1.0
    acc[_NV] = nv
    delta = r - acc[_MEAN]
    acc[_MEAN] += delta / nv
    acc[_M2] += delta * (r - acc[_MEAN])
    if r < acc[_MIN]:
        acc[_MIN] = r
    if r > acc[_MAX]:
        acc[_MAX] = r
    growth = acc[_GROWTH] * (1.0 + r)
    acc[_GROWTH] = growth
    if growth > acc[_PEAK]:
        acc[_PEAK] = growth
    dd = (growth - acc[_PEAK]) / acc[_PEAK]
    if dd < acc[_MDD]:
        acc[_MDD] = dd
    down = r - acc[_SORTINO_T]
    if down < 0.0:
        acc[_DOWN_SQ] += down * down
    excess = r - acc[_OMEGA_T]
    if excess > 0.0:
        acc[_OMEGA_UP] += excess
    elif excess < 0.0:
        acc[_OMEGA_DOWN] -= excess


@njit(cache=True)
def _acc_std_nb(acc: np.ndarray) -> float:
    """Sample standard deviation (ddof=1) of the valid returns; exactly 0 when all are equal."""
    if acc[_NV] < 2.0:
        return np.nan
    if acc[_MIN] == acc[_MAX]:
        return 0.0
    m2 = acc[_M2]
    if m2 < 0.0:  # rounding guard
        m2 = 0.0
    return math.sqrt(m2 / (acc[_NV] - 1.0))


@njit(cache=True)
def acc_total_return_nb(acc: np.ndarray) -> float:
    """``prod(1 + r) - 1`` over the valid returns; ``NaN`` when no period was seen."""
    if acc[_N] < 1.0:
        return np.nan
    return acc[_GROWTH] - 1.0


@njit(cache=True, error_model="numpy")
def acc_cagr_nb(acc: np.ndarray, ppy: float) -> float:
    """``prod(1 + r) ** (ppy / n) - 1`` with ``n`` the number of periods (NaN included).

    ``NaN`` when no period was seen; ``-1`` (everything lost) when the wealth ended at or below
    zero (empyrical raises a negative number to a fractional power there).
    """
    n = acc[_N]
    if n < 1.0:
        return np.nan
    growth = acc[_GROWTH]
    if growth <= 0.0:
        return -1.0
    return growth ** (ppy / n) - 1.0


@njit(cache=True)
def acc_annual_volatility_nb(acc: np.ndarray, ppy: float) -> float:
    """Sample standard deviation of returns times ``sqrt(ppy)``; ``NaN`` with < 2 periods."""
    if acc[_N] < 2.0:
        return np.nan
    return _acc_std_nb(acc) * math.sqrt(ppy)


@njit(cache=True, error_model="numpy")
def acc_sharpe_ratio_per_period_nb(acc: np.ndarray, risk_free: float) -> float:
    """``mean(r - risk_free) / std(r, ddof=1)``, not annualised; ``NaN`` with < 2 periods."""
    if acc[_N] < 2.0:
        return np.nan
    std = _acc_std_nb(acc)
    return (acc[_MEAN] - risk_free) / std


@njit(cache=True, error_model="numpy")
def acc_sharpe_ratio_nb(acc: np.ndarray, risk_free: float, ppy: float) -> float:
    """Per-period Sharpe ratio times ``sqrt(ppy)`` (``risk_free`` is per period)."""
    return acc_sharpe_ratio_per_period_nb(acc, risk_free) * math.sqrt(ppy)


@njit(cache=True)
def acc_downside_risk_nb(acc: np.ndarray, ppy: float) -> float:
    """``sqrt(mean(min(r - T, 0) ** 2)) * sqrt(ppy)`` over valid returns (T: sortino threshold)."""
    if acc[_N] < 1.0 or acc[_NV] < 1.0:
        return np.nan
    return math.sqrt(acc[_DOWN_SQ] / acc[_NV]) * math.sqrt(ppy)


@njit(cache=True, error_model="numpy")
def acc_sortino_ratio_nb(acc: np.ndarray, ppy: float) -> float:
    """``mean(r - T) * ppy / downside_risk``; ``NaN`` with < 2 periods, ``inf`` without losses."""
    if acc[_N] < 2.0 or acc[_NV] < 1.0:
        return np.nan
    return (acc[_MEAN] - acc[_SORTINO_T]) * ppy / acc_downside_risk_nb(acc, ppy)


@njit(cache=True)
def acc_max_drawdown_nb(acc: np.ndarray) -> float:
    """Most negative ``wealth / running_peak - 1`` (the start counts as a peak); ``<= 0``."""
    if acc[_N] < 1.0:
        return np.nan
    return acc[_MDD]


@njit(cache=True, error_model="numpy")
def acc_calmar_ratio_nb(acc: np.ndarray, ppy: float) -> float:
    """``cagr / |max_drawdown|``; ``NaN`` without a drawdown or when infinite."""
    mdd = acc_max_drawdown_nb(acc)
    if not mdd < 0.0:
        return np.nan
    out = acc_cagr_nb(acc, ppy) / abs(mdd)
    if math.isinf(out):
        return np.nan
    return out


@njit(cache=True, error_model="numpy")
def acc_omega_ratio_nb(acc: np.ndarray) -> float:
    """Sum of gains over the threshold / sum of losses under it; ``NaN`` without losses."""
    if acc[_N] < 2.0 or math.isnan(acc[_OMEGA_T]):
        return np.nan
    if acc[_OMEGA_DOWN] > 0.0:
        return acc[_OMEGA_UP] / acc[_OMEGA_DOWN]
    return np.nan


@njit(cache=True)
def omega_threshold_nb(risk_free: float, required_return: float, annualization: float) -> float:
    """Per-period Omega threshold as empyrical: ``risk_free + (1 + R) ** (1 / a) - 1``.

    ``required_return`` ``R`` is annual unless ``annualization == 1`` (then per period);
    ``R <= -1`` gives ``NaN`` (Omega undefined).
    """
    if annualization == 1.0:
        return risk_free + required_return
    if required_return <= -1.0:
        return np.nan
    return risk_free + (1.0 + required_return) ** (1.0 / annualization) - 1.0


@njit(cache=True)
def acc_fill_metrics_nb(acc: np.ndarray, risk_free: float, ppy: float, out: np.ndarray) -> None:
    """Write the :data:`RETURNS_METRICS` of ``acc`` into ``out`` (shape ``(8,)``), in order."""
    out[0] = acc_total_return_nb(acc)
    out[1] = acc_cagr_nb(acc, ppy)
    out[2] = acc_annual_volatility_nb(acc, ppy)
    out[3] = acc_sharpe_ratio_nb(acc, risk_free, ppy)
    out[4] = acc_sortino_ratio_nb(acc, ppy)
    out[5] = acc_max_drawdown_nb(acc)
    out[6] = acc_calmar_ratio_nb(acc, ppy)
    out[7] = acc_omega_ratio_nb(acc)


@njit(cache=True)
def acc_from_sums_nb(
    n: float, n_valid: float, total: float, total_sq: float, r_min: float, r_max: float,
    growth: float, peak: float, mdd: float, down_sq: float, omega_up: float, omega_down: float,
    sortino_threshold: float = 0.0, omega_threshold: float = 0.0,
) -> np.ndarray:  # fmt: skip
    """An accumulator from plain running sums kept in local variables by a fused kernel.

    For kernels that cannot afford :func:`acc_update_nb`'s Welford division on the loop-carried
    chain: keep ``total = sum(r)``, ``total_sq = sum(r**2)`` over valid returns, and the other
    fields exactly as :func:`acc_update_nb` does (``growth *= 1 + r``; ``peak = max(peak,
    growth)``; ``mdd = min(mdd, (growth - peak) / peak)``; ``down_sq += min(r - T, 0) ** 2``;
    Omega sums of ``r - threshold`` above/below zero; min/max), then build the accumulator once
    here. The mean is ``total / n_valid`` and the squared deviations ``total_sq - total * mean``
    (clamped at 0); deviation-based metrics then agree with the Welford path to about 1e-13
    relative for return series (whose mean is small next to their deviation).
    """
    acc = acc_init_nb(sortino_threshold, omega_threshold)
    acc[_N] = n
    acc[_NV] = n_valid
    if n_valid > 0:
        mean = total / n_valid
        m2 = total_sq - total * mean
        acc[_MEAN] = mean
        acc[_M2] = m2 if m2 > 0.0 else 0.0
        acc[_MIN] = r_min
        acc[_MAX] = r_max
    acc[_GROWTH] = growth
    acc[_PEAK] = peak
    acc[_MDD] = mdd
    acc[_DOWN_SQ] = down_sq
    acc[_OMEGA_UP] = omega_up
    acc[_OMEGA_DOWN] = omega_down
    return acc


# --- array kernels over a 1-D returns array ---------------------------------------------------------
@njit(cache=True)
def accumulate_nb(
    returns: np.ndarray, sortino_threshold: float = 0.0, omega_threshold: float = 0.0
) -> np.ndarray:
    """Accumulator over a 1-D returns array, shape ``(ACC_SIZE,)``."""
    acc = acc_init_nb(sortino_threshold, omega_threshold)
    for i in range(returns.shape[0]):
        acc_update_nb(acc, returns[i])
    return acc


@njit(cache=True)
def total_return_nb(returns: np.ndarray) -> float:
    """See :func:`acc_total_return_nb`. ``returns``: shape ``(n,)``."""
    return acc_total_return_nb(accumulate_nb(returns))


@njit(cache=True)
def cagr_nb(returns: np.ndarray, ppy: float) -> float:
    """See :func:`acc_cagr_nb`."""
    return acc_cagr_nb(accumulate_nb(returns), ppy)


@njit(cache=True)
def annual_volatility_nb(returns: np.ndarray, ppy: float) -> float:
    """See :func:`acc_annual_volatility_nb`."""
    return acc_annual_volatility_nb(accumulate_nb(returns), ppy)


@njit(cache=True)
def sharpe_ratio_nb(returns: np.ndarray, risk_free: float, ppy: float) -> float:
    """See :func:`acc_sharpe_ratio_nb`."""
    return acc_sharpe_ratio_nb(accumulate_nb(returns), risk_free, ppy)


@njit(cache=True)
def sharpe_ratio_per_period_nb(returns: np.ndarray, risk_free: float) -> float:
    """See :func:`acc_sharpe_ratio_per_period_nb`."""
    return acc_sharpe_ratio_per_period_nb(accumulate_nb(returns), risk_free)


@njit(cache=True)
def downside_risk_nb(returns: np.ndarray, required_return: float, ppy: float) -> float:
    """See :func:`acc_downside_risk_nb`."""
    return acc_downside_risk_nb(accumulate_nb(returns, required_return, 0.0), ppy)


@njit(cache=True)
def sortino_ratio_nb(returns: np.ndarray, required_return: float, ppy: float) -> float:
    """See :func:`acc_sortino_ratio_nb`."""
    return acc_sortino_ratio_nb(accumulate_nb(returns, required_return, 0.0), ppy)


@njit(cache=True)
def max_drawdown_nb(returns: np.ndarray) -> float:
    """See :func:`acc_max_drawdown_nb`."""
    return acc_max_drawdown_nb(accumulate_nb(returns))


@njit(cache=True)
def drawdown_series_nb(returns: np.ndarray) -> np.ndarray:
    """Drawdown after each period, shape ``(n,)``: ``wealth / running_peak - 1`` (NaN = 0 return)."""
    n = returns.shape[0]
    out = np.empty(n, dtype=np.float64)
    growth = 1.0
    peak = 1.0
    for i in range(n):
        r = returns[i]
        if not math.isnan(r):
            growth *= 1.0 + r
            if growth > peak:
                peak = growth
        out[i] = (growth - peak) / peak
    return out


@njit(cache=True)
def calmar_ratio_nb(returns: np.ndarray, ppy: float) -> float:
    """See :func:`acc_calmar_ratio_nb`."""
    return acc_calmar_ratio_nb(accumulate_nb(returns), ppy)


@njit(cache=True)
def omega_ratio_nb(
    returns: np.ndarray, risk_free: float, required_return: float, annualization: float
) -> float:
    """See :func:`acc_omega_ratio_nb` and :func:`omega_threshold_nb`."""
    threshold = omega_threshold_nb(risk_free, required_return, annualization)
    return acc_omega_ratio_nb(accumulate_nb(returns, 0.0, threshold))


@njit(cache=True)
def _valid_sorted_nb(returns: np.ndarray) -> np.ndarray:
    """The non-NaN values of ``returns``, sorted ascending."""
    m = 0
    for i in range(returns.shape[0]):
        if not math.isnan(returns[i]):
            m += 1
    out = np.empty(m, dtype=np.float64)
    j = 0
    for i in range(returns.shape[0]):
        if not math.isnan(returns[i]):
            out[j] = returns[i]
            j += 1
    out.sort()
    return out


@njit(cache=True)
def quantile_nb(sorted_values: np.ndarray, q: float) -> float:
    """Linear-interpolation quantile (numpy's default ``"linear"`` method) of a sorted array."""
    m = sorted_values.shape[0]
    if m == 0:
        return np.nan
    h = (m - 1) * q
    lo = int(math.floor(h))
    if lo >= m - 1:
        return sorted_values[m - 1]
    t = h - lo
    a = sorted_values[lo]
    b = sorted_values[lo + 1]
    diff = b - a
    if t >= 0.5:  # numpy's _lerp: exact at both ends
        return b - diff * (1.0 - t)
    return a + diff * t


@njit(cache=True, error_model="numpy")
def tail_ratio_nb(returns: np.ndarray) -> float:
    """``|95th percentile| / |5th percentile|`` of the valid returns; ``NaN`` when none."""
    values = _valid_sorted_nb(returns)
    if values.shape[0] == 0:
        return np.nan
    return abs(quantile_nb(values, 0.95)) / abs(quantile_nb(values, 0.05))


@njit(cache=True)
def value_at_risk_nb(returns: np.ndarray, cutoff: float) -> float:
    """Historical VaR: the ``cutoff`` quantile (linear interpolation) of the valid returns."""
    return quantile_nb(_valid_sorted_nb(returns), cutoff)


@njit(cache=True)
def conditional_value_at_risk_nb(returns: np.ndarray, cutoff: float) -> float:
    """Historical CVaR: mean of the ``int((m - 1) * cutoff) + 1`` smallest of ``m`` valid returns."""
    values = _valid_sorted_nb(returns)
    m = values.shape[0]
    if m == 0:
        return np.nan
    k = int((m - 1) * cutoff) + 1
    total = 0.0
    for i in range(k):
        total += values[i]
    return total / k


@njit(cache=True)
def _central_moments_nb(returns: np.ndarray) -> tuple[float, float, float, float]:
    """``(count, m2, m3, m4)``: population central moments of the valid returns.

    ``m2 = 0`` exactly when all valid values are equal (no rounding residue).
    """
    n = 0
    total = 0.0
    lo = np.inf
    hi = -np.inf
    for i in range(returns.shape[0]):
        r = returns[i]
        if not math.isnan(r):
            n += 1
            total += r
            lo = min(lo, r)
            hi = max(hi, r)
    if n == 0:
        return 0.0, np.nan, np.nan, np.nan
    if lo == hi:
        return float(n), 0.0, 0.0, 0.0
    mean = total / n
    m2 = 0.0
    m3 = 0.0
    m4 = 0.0
    for i in range(returns.shape[0]):
        r = returns[i]
        if not math.isnan(r):
            d = r - mean
            d2 = d * d
            m2 += d2
            m3 += d2 * d
            m4 += d2 * d2
    return float(n), m2 / n, m3 / n, m4 / n


@njit(cache=True, error_model="numpy")
def skew_nb(returns: np.ndarray) -> float:
    """Population (biased) skewness ``m3 / m2 ** 1.5`` of the valid returns; ``NaN`` if constant."""
    n, m2, m3, _ = _central_moments_nb(returns)
    if n == 0.0 or m2 == 0.0:
        return np.nan
    return m3 / m2**1.5


@njit(cache=True, error_model="numpy")
def kurtosis_nb(returns: np.ndarray, excess: bool) -> float:
    """Population (biased) kurtosis ``m4 / m2 ** 2``, minus 3 when ``excess``; ``NaN`` if constant."""
    n, m2, _, m4 = _central_moments_nb(returns)
    if n == 0.0 or m2 == 0.0:
        return np.nan
    k = m4 / (m2 * m2)
    if excess:
        return k - 3.0
    return k


@njit(cache=True)
def returns_metrics_nb(returns: np.ndarray, risk_free: float, ppy: float) -> np.ndarray:
    """The :data:`RETURNS_METRICS` of a 1-D returns array, shape ``(8,)``."""
    out = np.empty(len(RETURNS_METRICS), dtype=np.float64)
    acc_fill_metrics_nb(accumulate_nb(returns, 0.0, risk_free), risk_free, ppy, out)
    return out


@njit(cache=True)
def returns_metrics_2d_nb(returns: np.ndarray, risk_free: float, ppy: float) -> np.ndarray:
    """:data:`RETURNS_METRICS` per column of ``returns`` ``(n, m)``: shape ``(m, 8)``."""
    n_cols = returns.shape[1]
    out = np.empty((n_cols, len(RETURNS_METRICS)), dtype=np.float64)
    acc = acc_init_nb(0.0, risk_free)
    for j in range(n_cols):
        acc_reset_nb(acc, 0.0, risk_free)
        for i in range(returns.shape[0]):
            acc_update_nb(acc, returns[i, j])
        acc_fill_metrics_nb(acc, risk_free, ppy, out[j])
    return out


# --- position and trade statistics ------------------------------------------------------------------
@njit(cache=True)
def _share_nb(x: np.ndarray, positive: bool) -> float:
    """Fraction of the elements of ``x`` that are ``> 0`` (``positive``) or non-zero (else);
    ``NaN`` elements count, never as hits; ``NaN`` if ``x`` is empty."""
    n = x.shape[0]
    if n == 0:
        return np.nan
    count = 0
    for i in range(n):
        v = x[i]
        hit = v > 0.0 if positive else (v != 0.0 and not math.isnan(v))
        if hit:
            count += 1
    return count / n


@njit(cache=True)
def exposure_nb(positions: np.ndarray) -> float:
    """Fraction of bars whose position is non-zero (``NaN`` counts as flat); ``NaN`` if empty."""
    return _share_nb(positions, False)


@njit(cache=True)
def turnover_nb(positions: np.ndarray, initial: float = 0.0) -> float:
    """Mean absolute change of target exposure per bar: ``sum(|p_t - p_{t-1}|) / n``.

    ``p_{-1} = initial`` (0: the window starts flat); ``NaN`` positions count as 0. Not
    annualised: multiply by periods per year for the fraction of equity traded per year.
    """
    n = positions.shape[0]
    if n == 0:
        return np.nan
    prev = 0.0 if math.isnan(initial) else initial
    total = 0.0
    for i in range(n):
        p = positions[i]
        if math.isnan(p):
            p = 0.0
        total += abs(p - prev)
        prev = p
    return total / n


@njit(cache=True)
def position_trades_nb(positions: np.ndarray, initial: float = 0.0) -> int:
    """Number of positions opened: bars where the position becomes non-zero from flat or flips sign.

    Resizing a position on the same side does not open a new one (vectorbt's ``positions``
    count, open ones included). ``NaN`` counts as flat.
    """
    prev = 0.0 if math.isnan(initial) else initial
    count = 0
    for i in range(positions.shape[0]):
        p = positions[i]
        if math.isnan(p):
            p = 0.0
        if p != 0.0 and (prev == 0.0 or (p > 0.0) != (prev > 0.0)):
            count += 1
        prev = p
    return count


@njit(cache=True)
def win_rate_nb(pnl: np.ndarray) -> float:
    """Fraction of trades with ``pnl > 0`` among all trades (NaN pnl count, never as wins)."""
    return _share_nb(pnl, True)


@njit(cache=True, error_model="numpy")
def profit_factor_nb(pnl: np.ndarray) -> float:
    """``sum(winning pnl) / |sum(losing pnl)|``: ``inf`` without losses, ``NaN`` if neither."""
    if pnl.shape[0] == 0:
        return np.nan
    gains = 0.0
    losses = 0.0
    for i in range(pnl.shape[0]):
        x = pnl[i]
        if x > 0.0:
            gains += x
        elif x < 0.0:
            losses -= x
    return gains / losses


@njit(cache=True)
def expectancy_nb(pnl: np.ndarray) -> float:
    """Mean pnl per trade over the trades with a finite pnl; ``NaN`` when none."""
    n = 0
    total = 0.0
    for i in range(pnl.shape[0]):
        if math.isfinite(pnl[i]):
            n += 1
            total += pnl[i]
    if n == 0:
        return np.nan
    return total / n
