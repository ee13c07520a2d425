"""Statistical features and tests against statsmodels, arch, scipy and known series."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from data_loaders import cointegrated_pair
from data_loaders.errors import DataTooShortError, DataValidationError
from research.explore import statistical as st


def _ar1(n: int, phi: float, seed: int, sigma: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    e = rng.normal(0.0, sigma, n)
    x = np.empty(n)
    x[0] = e[0]
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return x


def test_describe_returns_conventions(rng) -> None:
    r = rng.standard_t(5, size=5000) * 0.01
    d = st.describe_returns(np.r_[np.nan, r])
    assert d["n"] == 5000
    assert d["std"] == pytest.approx(r.std(ddof=1))
    assert d["skew"] == pytest.approx(stats.skew(r, bias=False))
    assert d["excess_kurtosis"] == pytest.approx(stats.kurtosis(r, fisher=True, bias=False))
    assert d["excess_kurtosis"] > 1.0  # fat tails of a t(5) in excess terms
    assert abs(st.describe_returns(rng.normal(size=20000))["excess_kurtosis"]) < 0.15


def test_stationarity_equals_statsmodels_and_classifies(rng) -> None:
    from statsmodels.tsa.stattools import adfuller, kpss

    noise = rng.normal(size=1500)
    walk = np.cumsum(rng.normal(size=1500))
    for x in (noise, walk):
        res = st.stationarity(x, alpha=0.05, max_obs=5000)
        maxlag = math.ceil(12 * (len(x) / 100) ** 0.25)
        adf = adfuller(x, maxlag=maxlag, autolag=None, regression="c", result_object=False)
        assert res.adf_stat == pytest.approx(adf[0])
        assert res.adf_pvalue == pytest.approx(adf[1])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # KPSS p-values outside its table are clipped
            k = kpss(x, regression="c", nlags="auto", result_object=False)
        assert res.kpss_stat == pytest.approx(k[0])
        assert res.kpss_pvalue == pytest.approx(k[1])
        assert res.step == 1 and res.n_obs == 1500
    assert st.stationarity(noise).verdict == "stationary"
    assert st.stationarity(walk).verdict == "unit_root"
    thinned = st.stationarity(
        np.r_[walk, walk[-1] + np.cumsum(rng.normal(size=1500))], max_obs=1000
    )
    assert thinned.step == 3 and thinned.n_obs == 1000 and thinned.verdict == "unit_root"
    assert st.stationarity(np.full(100, 3.0)).verdict == "constant"
    with pytest.raises(DataTooShortError):
        st.stationarity(np.r_[np.ones(10), np.nan])


def test_ljung_box_equals_statsmodels_and_detects_autocorrelation() -> None:
    from statsmodels.stats.diagnostic import acorr_ljungbox

    white = np.random.default_rng(1).normal(size=2000)
    ar = _ar1(2000, 0.3, seed=2)
    for x in (white, ar):
        ours = st.ljung_box(x, [1, 5, 10])
        want = acorr_ljungbox(x, lags=[1, 5, 10], return_df=True)
        np.testing.assert_allclose(ours["lb_stat"], want["lb_stat"], rtol=1e-9)
        np.testing.assert_allclose(ours["lb_pvalue"], want["lb_pvalue"], rtol=1e-7, atol=1e-300)
    assert st.ljung_box(ar, [5])["lb_pvalue"].iloc[0] < 1e-10
    assert st.ljung_box(white, [5])["lb_pvalue"].iloc[0] > 0.01
    acf = st.autocorrelation(ar, 3)
    assert acf[0] == 1.0 and acf[1] == pytest.approx(0.3, abs=0.05)


def test_half_life_is_the_ols_one_and_recovers_a_planted_value() -> None:
    phi = 0.5 ** (1 / 15)  # half-life 15 bars
    x = _ar1(20000, phi, seed=3) + 5.0
    b = np.polyfit(x[:-1], np.diff(x), 1)[0]  # OLS slope of dx on the lagged level
    assert st.half_life(x) == pytest.approx(-math.log(2) / math.log(1 + b), rel=1e-9)
    assert st.half_life(x) == pytest.approx(15, rel=0.15)
    trending = np.cumsum(np.abs(np.random.default_rng(4).normal(size=500)))
    assert st.half_life(trending) == math.inf


def test_hurst_exponent_on_known_series() -> None:
    walk = np.cumsum(np.random.default_rng(5).normal(size=20000))
    reverting = _ar1(20000, 0.5, seed=6)  # levels of a fast AR(1): anti-persistent increments
    inc = _ar1(20000, 0.6, seed=7)  # positively autocorrelated increments
    trending = np.cumsum(inc)
    assert st.hurst_exponent(walk) == pytest.approx(0.5, abs=0.05)
    assert st.hurst_exponent(reverting) < 0.2
    assert st.hurst_exponent(trending) > 0.6
    with pytest.raises(DataTooShortError):
        st.hurst_exponent(np.arange(10.0))


def test_variance_ratio_equals_arch() -> None:
    from arch.unitroot import VarianceRatio

    rng = np.random.default_rng(8)
    e = rng.standard_t(5, size=4000)
    r = e.copy()
    r[1:] += 0.2 * e[:-1]  # MA(1): VR > 1
    p = np.cumsum(r) * 0.01
    ours = st.variance_ratio(p, [2, 5, 10])
    for q in (2, 5, 10):
        plain = VarianceRatio(p, lags=q, trend="c", debiased=True, robust=False, overlap=True)
        robust = VarianceRatio(p, lags=q, trend="c", debiased=True, robust=True, overlap=True)
        assert ours.at[q, "vr"] == pytest.approx(plain.vr, rel=1e-10)
        assert ours.at[q, "z"] == pytest.approx(plain.stat, rel=1e-10)
        assert ours.at[q, "z_robust"] == pytest.approx(robust.stat, rel=1e-10)
        assert ours.at[q, "pvalue"] == pytest.approx(robust.pvalue, rel=1e-6, abs=1e-12)
    assert (ours["vr"] > 1.1).all() and (ours["pvalue"] < 1e-6).all()
    walk = np.cumsum(rng.normal(size=4000)) * 0.01
    assert (st.variance_ratio(walk, [2, 5])["pvalue"] > 0.01).all()


def test_cointegration_of_a_planted_pair() -> None:
    from statsmodels.tsa.stattools import coint
    from statsmodels.tsa.vector_ar.vecm import coint_johansen

    pair = cointegrated_pair(1500, seed=9, hedge_ratio=1.5, half_life=10.0)
    res = st.cointegration(pair)
    assert res.symbols == ("A", "B")
    assert res.hedge_ratio == pytest.approx(1.5, abs=0.05)
    assert res.eg_pvalue < 0.01
    la, lb = np.log(pair["A"]["close"]), np.log(pair["B"]["close"])
    eg = coint(la.to_numpy(), lb.to_numpy(), trend="c", autolag="aic")
    assert res.eg_stat == pytest.approx(eg[0]) and res.eg_pvalue == pytest.approx(eg[1])
    jo = coint_johansen(np.column_stack([la, lb]), det_order=0, k_ar_diff=1)
    np.testing.assert_allclose(res.johansen_trace, jo.trace_stat)
    assert res.johansen_trace[0] > res.johansen_crit[0][1]  # rank 0 rejected at 95%
    assert res.johansen_rank >= 1
    assert res.johansen_weights["A"] == 1.0
    assert res.johansen_weights["B"] == pytest.approx(-1.5, abs=0.1)
    assert res.half_life == pytest.approx(10, rel=0.3)
    spread = la - res.intercept - res.hedge_ratio * lb
    np.testing.assert_allclose(res.spread, spread, atol=1e-12)
    assert set(res.to_dict()) >= {"hedge_ratios", "eg_pvalue", "johansen_rank", "half_life"}


def test_independent_walks_are_rarely_found_cointegrated() -> None:
    """Engle-Granger at 5% on 20 pairs of independent walks: about one rejection expected
    (four or more has a probability of 1.6% for a correctly sized test)."""
    rejected = 0
    for seed in range(20):
        a = cointegrated_pair(800, seed=100 + seed)["B"]
        b = cointegrated_pair(800, seed=200 + seed)["B"]
        rejected += st.cointegration({"X": a, "Y": b}).eg_pvalue < 0.05
    assert rejected <= 3


def test_cointegration_input_errors() -> None:
    pair = cointegrated_pair(100, seed=1)
    with pytest.raises(DataValidationError, match="at least two symbols"):
        st.cointegration({"A": pair["A"]})
    with pytest.raises(DataValidationError, match="no column 'vwap'"):
        st.cointegration(pair, field="vwap")
    with pytest.raises(DataTooShortError, match="30 common timestamps"):
        st.cointegration({k: v.iloc[:20] for k, v in pair.items()})


def test_volatility_regime_is_causal_and_ranks_volatility() -> None:
    rng = np.random.default_rng(12)
    sigma = np.r_[np.full(600, 0.01), np.full(300, 0.03), np.full(600, 0.01)]
    r = pd.Series(rng.normal(size=sigma.size) * sigma)
    label = st.volatility_regime(r, window=20, lookback=300)
    # the start of the turbulent stretch ranks high against its calm trailing window (later on
    # the window fills with turbulent bars: the label is relative to the recent past)
    assert (label.iloc[630:750] == 2.0).mean() > 0.9
    assert (label.iloc[560:600] == 2.0).mean() < 0.5
    part = st.volatility_regime(r.iloc[:1000], window=20, lookback=300)
    pd.testing.assert_series_equal(part, label.iloc[:1000])
