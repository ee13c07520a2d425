"""Statistical features and tests: moments, autocorrelation, stationarity, memory, cointegration.

Conventions (stated once, used everywhere here):

* Returns are **log** returns ``log(close_t / close_{t-1})`` unless a function says otherwise.
* Standard deviations are **sample** deviations (``ddof=1``).
* Kurtosis is **excess** kurtosis (Fisher: a normal sample has 0), bias-corrected; skewness is the
  bias-corrected sample skewness (pandas' rolling ``skew``/``kurt`` and ``scipy.stats`` with
  ``bias=False`` agree on this).
* Rolling features are causal: the value at bar ``t`` reads bars ``t-w+1 .. t`` only.
* Tests run on the series given; callers pass the training slice when a result feeds a decision.

Functions return plain numbers, arrays, Series or small dataclasses; nothing prints.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from data_loaders.errors import DataTooShortError, DataValidationError
from research.explore._nb import rolling_autocorr_nb, rolling_beta_corr_nb

__all__ = [
    "log_returns",
    "describe_returns",
    "rolling_zscore",
    "rolling_skew",
    "rolling_kurtosis",
    "rolling_autocorr",
    "rolling_beta_corr",
    "volatility_regime",
    "autocorrelation",
    "ljung_box",
    "Stationarity",
    "stationarity",
    "hurst_exponent",
    "variance_ratio",
    "half_life",
    "CointegrationResult",
    "cointegration",
    "single_threaded_blas",
]


def single_threaded_blas() -> Any:
    """Context manager limiting BLAS to one thread.

    The tests here run many small least-squares fits; multi-threaded BLAS on matrices this small
    costs more in thread hand-offs than it gains (about 10x slower on 2 cores under load).
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


# --------------------------------------------------------------------------- features


def log_returns(close: pd.Series, periods: int = 1) -> pd.Series:
    """``log(close_t / close_{t-periods})``; ``NaN`` for the first ``periods`` bars."""
    lc = np.log(close.to_numpy(dtype=np.float64))
    out = np.full(lc.shape[0], np.nan)
    out[periods:] = lc[periods:] - lc[:-periods]
    return pd.Series(out, index=close.index, name=f"ret_{periods}")


def describe_returns(returns: pd.Series | np.ndarray) -> dict[str, float]:
    """Count, mean, sample std, bias-corrected skew and **excess** kurtosis, min and max.

    ``NaN`` values are dropped. A normal sample has skew and excess kurtosis near 0.
    """
    from scipy import stats

    r = np.asarray(returns, dtype=np.float64)
    r = r[np.isfinite(r)]
    if r.size < 4:
        raise DataTooShortError(f"describe_returns: need at least 4 finite returns, got {r.size}")
    return {
        "n": int(r.size),
        "mean": float(r.mean()),
        "std": float(r.std(ddof=1)),
        "skew": float(stats.skew(r, bias=False)),
        "excess_kurtosis": float(stats.kurtosis(r, fisher=True, bias=False)),
        "min": float(r.min()),
        "max": float(r.max()),
    }


def rolling_zscore(x: pd.Series, window: int) -> pd.Series:
    """``(x_t - mean) / std`` over the trailing ``window`` bars (sample std), causal."""
    roll = x.rolling(window, min_periods=window)
    std = roll.std()
    z = (x - roll.mean()) / std.where(std > 0)
    return z.rename(f"zscore_{window}")


def rolling_skew(x: pd.Series, window: int) -> pd.Series:
    """Bias-corrected sample skewness over the trailing ``window`` bars."""
    return x.rolling(window, min_periods=window).skew().rename(f"skew_{window}")


def rolling_kurtosis(x: pd.Series, window: int) -> pd.Series:
    """Bias-corrected **excess** kurtosis (normal = 0) over the trailing ``window`` bars."""
    return x.rolling(window, min_periods=window).kurt().rename(f"kurt_{window}")


def rolling_autocorr(x: pd.Series, window: int) -> pd.Series:
    """Lag-1 autocorrelation of ``x`` over the trailing ``window`` pairs (numba kernel)."""
    out = rolling_autocorr_nb(x.to_numpy(dtype=np.float64), int(window))
    return pd.Series(out, index=x.index, name=f"autocorr_{window}")


def rolling_beta_corr(y: pd.Series, x: pd.Series, window: int) -> pd.DataFrame:
    """Rolling OLS beta of ``y`` on ``x`` and their correlation over the trailing ``window`` bars.

    ``y`` and ``x`` are aligned on ``y``'s index first (``x`` missing -> ``NaN``).

    Returns:
        DataFrame ``(n, 2)`` with columns ``beta`` and ``corr``, indexed like ``y``.
    """
    xa = x.reindex(y.index).to_numpy(dtype=np.float64)
    beta, corr = rolling_beta_corr_nb(y.to_numpy(dtype=np.float64), xa, int(window))
    return pd.DataFrame({"beta": beta, "corr": corr}, index=y.index)


def volatility_regime(returns: pd.Series, window: int = 20, lookback: int = 500) -> pd.Series:
    """Causal volatility-regime label: 0 = low, 1 = normal, 2 = high, ``NaN`` while undefined.

    The realised volatility (sample std of ``returns`` over ``window`` bars) at bar ``t`` is ranked
    among its own last ``lookback`` values (bars ``t-lookback+1 .. t``); the bottom third is low,
    the top third high. Only past and current bars are read.
    """
    vol = returns.rolling(window, min_periods=window).std()
    pct = vol.rolling(lookback, min_periods=lookback).rank(pct=True)
    label = np.where(
        pct.isna(), np.nan, np.where(pct <= 1 / 3, 0.0, np.where(pct > 2 / 3, 2.0, 1.0))
    )
    return pd.Series(label, index=returns.index, name="vol_regime")


# --------------------------------------------------------------------------- tests


def _finite(x: pd.Series | np.ndarray) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    return a[np.isfinite(a)]


def autocorrelation(x: pd.Series | np.ndarray, nlags: int) -> np.ndarray:
    """Sample autocorrelations at lags ``0..nlags`` (statsmodels ``acf``, FFT), ``NaN`` dropped."""
    from statsmodels.tsa.stattools import acf

    a = _finite(x)
    if a.size <= nlags + 1:
        raise DataTooShortError(f"autocorrelation: need more than {nlags + 1} values, got {a.size}")
    return np.asarray(acf(a, nlags=nlags, fft=True))


def ljung_box(x: pd.Series | np.ndarray, lags: Sequence[int]) -> pd.DataFrame:
    """Ljung-Box Q statistics and p-values at each lag in ``lags`` (H0: no autocorrelation).

    ``Q(h) = n (n + 2) sum_{k=1..h} r_k^2 / (n - k)`` with the sample autocorrelations ``r_k``
    (mean removed, denominator ``n``), compared with a chi-square with ``h`` degrees of freedom:
    the numbers of statsmodels' ``acorr_ljungbox`` (``model_df=0``). The autocorrelations come
    from an FFT (statsmodels' own call uses a direct O(n^2) correlation, minutes on a million
    bars).

    Returns:
        DataFrame indexed by lag with columns ``lb_stat`` and ``lb_pvalue``.
    """
    from scipy import stats

    a = _finite(x)
    lags = [int(q) for q in lags]
    if a.size <= max(lags) + 1:
        raise DataTooShortError(f"ljung_box: need more than {max(lags) + 1} values, got {a.size}")
    n = a.size
    r = autocorrelation(a, max(lags))[1:]
    q = n * (n + 2) * np.cumsum(r * r / (n - np.arange(1, r.size + 1)))
    stat = np.array([q[h - 1] for h in lags])
    return pd.DataFrame(
        {"lb_stat": stat, "lb_pvalue": stats.chi2.sf(stat, lags)},
        index=pd.Index(lags, name="lag"),
    )


@dataclass(frozen=True)
class Stationarity:
    """ADF and KPSS results for one series.

    ``verdict``: ``stationary`` (ADF rejects a unit root, KPSS does not reject stationarity),
    ``unit_root`` (ADF does not reject, KPSS rejects), ``conflicting`` (both reject: typically a
    trend, a break or long memory), ``inconclusive`` (neither rejects: too little evidence), or
    ``constant``.
    """

    adf_stat: float
    adf_pvalue: float
    kpss_stat: float
    kpss_pvalue: float
    n_obs: int
    step: int
    verdict: str


def stationarity(
    x: pd.Series | np.ndarray, *, alpha: float = 0.05, max_obs: int = 2000, regression: str = "c"
) -> Stationarity:
    """ADF (H0: unit root) and KPSS (H0: stationary) tests on ``x`` (statsmodels).

    ``NaN`` values are dropped; a longer series is thinned to every ``step``-th value so that at
    most ``max_obs`` remain (thinning keeps a unit root a unit root and a stationary series
    stationary, and bounds the cost on minute data). ADF uses Schwert's lag
    ``ceil(12 (n/100)^(1/4))``; KPSS the automatic lag of Hobijn et al. KPSS p-values are
    interpolated in a table and clipped to ``[0.01, 0.1]``.
    """
    from statsmodels.tools.sm_exceptions import InterpolationWarning
    from statsmodels.tsa.stattools import adfuller, kpss

    a = _finite(x)
    step = max(1, math.ceil(a.size / max_obs))
    a = a[::step]
    n = a.size
    if n < 20:
        raise DataTooShortError(f"stationarity: need at least 20 finite values, got {n}")
    if np.ptp(a) <= 1e-12 * max(1.0, float(np.abs(a).max())):
        return Stationarity(math.nan, math.nan, math.nan, math.nan, n, step, "constant")
    maxlag = min(int(math.ceil(12 * (n / 100) ** 0.25)), n // 4)
    adf_stat, adf_p = adfuller(
        a, maxlag=maxlag, regression=regression, autolag=None, result_object=False
    )[:2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InterpolationWarning)
        kpss_stat, kpss_p = kpss(a, regression=regression, nlags="auto", result_object=False)[:2]
    adf_rejects, kpss_rejects = adf_p < alpha, kpss_p < alpha
    if adf_rejects and not kpss_rejects:
        verdict = "stationary"
    elif not adf_rejects and kpss_rejects:
        verdict = "unit_root"
    elif adf_rejects and kpss_rejects:
        verdict = "conflicting"
    else:
        verdict = "inconclusive"
    return Stationarity(
        float(adf_stat), float(adf_p), float(kpss_stat), float(kpss_p), n, step, verdict
    )


def hurst_exponent(levels: pd.Series | np.ndarray, max_lag: int = 100, min_lag: int = 2) -> float:
    """Hurst exponent of a level series (e.g. log prices) from the scaling of its increments.

    ``std(x_{t+k} - x_t) ~ k^H`` over about 20 log-spaced lags ``k`` in ``[min_lag, max_lag]``;
    ``H`` is the OLS slope in logs. A random walk gives ``H ~ 0.5``, a mean-reverting series
    ``H < 0.5``, a trending (persistent) one ``H > 0.5``.
    """
    a = _finite(levels)
    max_lag = min(max_lag, a.size // 4)
    if max_lag < max(min_lag, 2) + 2:
        raise DataTooShortError(
            f"hurst_exponent: need at least {4 * (min_lag + 2)} values, got {a.size}"
        )
    lags = np.unique(np.geomspace(min_lag, max_lag, 20).astype(int))
    tau = np.array([np.std(a[k:] - a[:-k]) for k in lags])
    ok = tau > 0
    if ok.sum() < 2:
        return math.nan
    slope = np.polyfit(np.log(lags[ok]), np.log(tau[ok]), 1)[0]
    return float(slope)


def variance_ratio(
    log_prices: pd.Series | np.ndarray, lags: Sequence[int] = (2, 5, 10, 20)
) -> pd.DataFrame:
    """Lo-MacKinlay variance ratio test of a random walk on log prices.

    Overlapping ``q``-period returns, bias-corrected variances (Lo & MacKinlay 1988, eqs. 12-13);
    ``z`` is the homoskedastic statistic, ``z_robust`` the heteroskedasticity-consistent one
    (``sqrt(T) (VR - 1) / sqrt(theta)``) and ``pvalue`` its two-sided normal p-value. ``VR > 1``: positive autocorrelation (trending),
    ``VR < 1``: mean reversion.

    Returns:
        DataFrame indexed by ``q`` with columns ``vr``, ``z``, ``z_robust``, ``pvalue``.
    """
    from scipy import stats

    p = _finite(log_prices)
    T = p.size - 1
    if T < 2 * max(lags):
        raise DataTooShortError(
            f"variance_ratio: need at least {2 * max(lags) + 1} prices, got {p.size}"
        )
    r = np.diff(p)
    mu = (p[-1] - p[0]) / T
    dev = r - mu
    dev2 = dev * dev
    sigma_a = dev2.sum() / (T - 1)
    denom = dev2.sum() ** 2
    rows = []
    for q in lags:
        m = q * (T - q + 1) * (1 - q / T)
        rq = p[q:] - p[:-q] - q * mu
        sigma_c = (rq * rq).sum() / m
        vr = sigma_c / sigma_a
        z = (vr - 1) / math.sqrt(2 * (2 * q - 1) * (q - 1) / (3 * q * T))
        theta = 0.0
        for j in range(1, q):
            delta = T * (dev2[j:] * dev2[:-j]).sum() / denom
            theta += (2 * (q - j) / q) ** 2 * delta
        z_rob = math.sqrt(T) * (vr - 1) / math.sqrt(theta)
        rows.append((q, vr, z, z_rob, 2 * stats.norm.sf(abs(z_rob))))
    return pd.DataFrame(rows, columns=["q", "vr", "z", "z_robust", "pvalue"]).set_index("q")


def half_life(x: pd.Series | np.ndarray) -> float:
    """Mean-reversion half-life (in bars) from the OLS ``x_t - x_{t-1} = a + b x_{t-1} + e``.

    ``half_life = -ln 2 / ln(1 + b)`` for ``-1 < b < 0``; ``inf`` when ``b >= 0`` (no mean
    reversion); ``0`` when ``b <= -1`` (reverts within one bar).
    """
    import statsmodels.api as sm

    a = _finite(x)
    if a.size < 10:
        raise DataTooShortError(f"half_life: need at least 10 finite values, got {a.size}")
    lag = a[:-1]
    delta = np.diff(a)
    b = float(sm.OLS(delta, sm.add_constant(lag, has_constant="add")).fit().params[1])
    if b >= 0:
        return math.inf
    if b <= -1:
        return 0.0
    return float(-math.log(2) / math.log1p(b))


# --------------------------------------------------------------------------- cointegration


@dataclass(frozen=True)
class CointegrationResult:
    """Engle-Granger and Johansen cointegration of several price series.

    The Engle-Granger regression is ``y = intercept + sum_i hedge_ratios[x_i] * x_i + spread``
    with ``y`` the first symbol; ``eg_pvalue`` is MacKinnon's p-value of the residual ADF test
    (H0: no cointegration). Johansen (statsmodels ``coint_johansen``) gives trace statistics for
    ranks ``0..k-1`` with their 90/95/99% critical values (statsmodels gives no p-values);
    ``johansen_rank`` is the number of sequential trace rejections at 95%, and
    ``johansen_weights`` the first eigenvector normalised to 1 on ``y``. ``half_life`` is the
    mean-reversion half-life of the spread in bars. Prices are in logs when ``log=True``.

    Engle-Granger is the test to decide on. statsmodels' Johansen test with a constant
    (``det_order=0``) rejects too often on driftless random walks: about 12% at the nominal 5%
    for rank 0 and for rank <= 1 on 200 simulated pairs of independent 1,500-bar walks (see
    statsmodels issues #5355 and #6168 on its critical values), so its rank is reported as
    supporting evidence only.
    """

    symbols: tuple[str, ...]
    log: bool
    intercept: float
    hedge_ratios: dict[str, float]
    eg_stat: float
    eg_pvalue: float
    half_life: float
    johansen_trace: tuple[float, ...]
    johansen_crit: tuple[tuple[float, float, float], ...]
    johansen_rank: int
    johansen_weights: dict[str, float]
    spread: pd.Series = field(repr=False)

    @property
    def hedge_ratio(self) -> float:
        """The hedge ratio of the second symbol (the pair case)."""
        return self.hedge_ratios[self.symbols[1]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the spread series)."""
        return {
            "symbols": list(self.symbols),
            "log": self.log,
            "intercept": self.intercept,
            "hedge_ratios": self.hedge_ratios,
            "eg_stat": self.eg_stat,
            "eg_pvalue": self.eg_pvalue,
            "half_life": self.half_life,
            "johansen_trace": list(self.johansen_trace),
            "johansen_crit_90_95_99": [list(c) for c in self.johansen_crit],
            "johansen_rank": self.johansen_rank,
            "johansen_weights": self.johansen_weights,
        }


def cointegration(
    bars: Mapping[str, pd.DataFrame] | pd.DataFrame,
    *,
    field: str = "close",
    log: bool = True,
    k_ar_diff: int = 1,
) -> CointegrationResult:
    """Engle-Granger and Johansen cointegration across symbols; hedge ratios and spread half-life.

    Args:
        bars: ``{symbol: bars}`` (at least two; the first is the dependent ``y``), or a DataFrame
            of prices with one column per symbol. Series are aligned on their common timestamps.
            Pass the training slice when the result feeds a strategy.
        field: the bars column to use.
        log: test log prices (hedge ratios are then elasticities).
        k_ar_diff: lagged differences in the Johansen VECM.

    Raises:
        DataValidationError: fewer than two symbols, a missing column, non-positive prices.
        DataTooShortError: fewer than 30 common timestamps.
    """
    with single_threaded_blas():  # many tiny least squares: threads only add hand-offs
        return _cointegration(bars, field, log, k_ar_diff)


def _cointegration(
    bars: Mapping[str, pd.DataFrame] | pd.DataFrame, field: str, log: bool, k_ar_diff: int
) -> CointegrationResult:
    import statsmodels.api as sm
    from statsmodels.tsa.stattools import coint
    from statsmodels.tsa.vector_ar.vecm import coint_johansen

    if isinstance(bars, pd.DataFrame):
        prices = bars.astype(np.float64)
    else:
        cols = {}
        for sym, df in bars.items():
            if field not in df.columns:
                raise DataValidationError(
                    f"cointegration: bars of {sym!r} have no column {field!r}"
                )
            cols[str(sym)] = df[field].astype(np.float64)
        prices = pd.concat(cols, axis=1, join="inner")
    symbols = tuple(str(c) for c in prices.columns)
    if len(symbols) < 2:
        raise DataValidationError(f"cointegration: need at least two symbols, got {list(symbols)}")
    prices = prices.dropna()
    if len(prices) < 30:
        raise DataTooShortError(
            f"cointegration: need at least 30 common timestamps, got {len(prices)}"
        )
    if log:
        if (prices <= 0).to_numpy().any():
            raise DataValidationError("cointegration: prices must be > 0 to take logs (log=True)")
        prices = np.log(prices)
    y = prices[symbols[0]].to_numpy()
    xs = prices[list(symbols[1:])].to_numpy()
    ols = sm.OLS(y, sm.add_constant(xs, has_constant="add")).fit()
    intercept, betas = float(ols.params[0]), ols.params[1:]
    spread = pd.Series(y - ols.fittedvalues, index=prices.index, name="spread")
    eg_stat, eg_p, _ = coint(y, xs if xs.shape[1] > 1 else xs[:, 0], trend="c", autolag="aic")
    jo = coint_johansen(prices.to_numpy(), det_order=0, k_ar_diff=k_ar_diff)
    trace, crit = jo.trace_stat, jo.trace_stat_crit_vals
    rank = 0
    for i in range(len(symbols)):
        if trace[i] > crit[i, 1]:
            rank += 1
        else:
            break
    vec = jo.evec[:, 0]
    weights = vec / vec[0] if abs(vec[0]) > 1e-12 else vec
    return CointegrationResult(
        symbols=symbols,
        log=log,
        intercept=intercept,
        hedge_ratios={s: float(b) for s, b in zip(symbols[1:], betas)},
        eg_stat=float(eg_stat),
        eg_pvalue=float(eg_p),
        half_life=half_life(spread.to_numpy()),
        johansen_trace=tuple(float(t) for t in trace),
        johansen_crit=tuple(tuple(float(c) for c in row) for row in crit),
        johansen_rank=rank,
        johansen_weights={s: float(w) for s, w in zip(symbols, weights)},
        spread=spread,
    )
