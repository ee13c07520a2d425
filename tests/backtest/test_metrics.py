"""Metrics against empyrical-reloaded (the reference), scipy and hand computations."""

from __future__ import annotations

import warnings

import empyrical as ep
import numpy as np
import pandas as pd
import pytest
import scipy.stats as st
from numba import njit

from backtest import _metrics_nb as nb
from backtest import metrics as M
from data_loaders.errors import DataValidationError, ParameterError


def _ref(fn, *args, **kwargs) -> float:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return float(fn(*args, **kwargs))


def _same(a: float, b: float, rtol: float = 1e-10) -> bool:
    if np.isnan(a) or np.isnan(b):
        return bool(np.isnan(a) and np.isnan(b))
    if np.isinf(a) or np.isinf(b):
        return a == b
    return bool(np.isclose(a, b, rtol=rtol, atol=1e-14))


def _annualised(name: str, **kw):
    """(ours, empyrical) of a metric taking the bars per year: ``periods_per_year`` here,
    ``annualization`` there; ``kw`` passed to both."""
    return (
        lambda r, ppy: getattr(M, name)(r, periods_per_year=ppy, **kw),
        lambda r, ppy: getattr(ep, name)(r, annualization=ppy, **kw),
    )


def _plain(name: str, **kw):
    """(ours, empyrical) of a metric without annualisation; ``kw`` passed to both."""
    return (lambda r, ppy: getattr(M, name)(r, **kw), lambda r, ppy: getattr(ep, name)(r, **kw))


# (ours, empyrical) with the same keyword meaning; ppy = periods per year
PAIRS = {
    "total_return": (lambda r, ppy: M.total_return(r), lambda r, ppy: ep.cum_returns_final(r)),
    "cagr": (M.cagr, lambda r, ppy: ep.cagr(r, annualization=ppy)),
    "annual_volatility": (
        M.annual_volatility,
        lambda r, ppy: ep.annual_volatility(r, annualization=ppy),
    ),
    "sharpe_ratio": _annualised("sharpe_ratio"),
    "sharpe_ratio_rf": _annualised("sharpe_ratio", risk_free=1e-4),
    "sortino_ratio": _annualised("sortino_ratio"),
    "sortino_ratio_mar": _annualised("sortino_ratio", required_return=2e-4),
    "downside_risk": _annualised("downside_risk"),
    "max_drawdown": _plain("max_drawdown"),
    "calmar_ratio": (M.calmar_ratio, lambda r, ppy: ep.calmar_ratio(r, annualization=ppy)),
    "omega_ratio": _annualised("omega_ratio"),
    "omega_ratio_thresholds": _annualised("omega_ratio", risk_free=5e-5, required_return=0.08),
    "tail_ratio": _plain("tail_ratio"),
    "value_at_risk": _plain("value_at_risk"),
    "conditional_value_at_risk": _plain("conditional_value_at_risk", cutoff=0.1),
    "skew": (lambda r, ppy: M.skew(r), lambda r, ppy: st.skew(r)),
    "excess_kurtosis": (lambda r, ppy: M.kurtosis(r), lambda r, ppy: st.kurtosis(r)),
    "raw_kurtosis": (
        lambda r, ppy: M.kurtosis(r, excess=False),
        lambda r, ppy: st.kurtosis(r, fisher=True) + 3.0,
    ),
}


@pytest.mark.parametrize("name", sorted(PAIRS))
@pytest.mark.parametrize(("seed", "n", "ppy"), [(0, 1000, 252), (1, 250, 252), (2, 60, 12)])
def test_matches_empyrical_on_random_returns(name: str, seed: int, n: int, ppy: int) -> None:
    rng = np.random.default_rng(seed)
    r = rng.standard_t(4, n) * 0.01 + 0.0004  # fat tails, slight drift
    ours, ref = PAIRS[name]
    expected = _ref(ref, r, ppy)
    assert _same(ours(r, ppy), expected), (name, ours(r, ppy), expected)
    # a Series gives the same number
    assert _same(ours(pd.Series(r), ppy), expected)


EDGE_CASES = {
    "empty": np.array([]),
    "single": np.array([0.01]),
    "all_zero": np.zeros(40),
    "constant_positive": np.full(40, 0.001),
    "all_positive": np.abs(np.random.default_rng(3).normal(0.01, 0.01, 40)),
    "all_negative": -np.abs(np.random.default_rng(4).normal(0.01, 0.01, 40)),
    "with_nans": np.r_[np.nan, np.random.default_rng(5).normal(0, 0.01, 30), np.nan, 0.02],
    "all_nan": np.full(5, np.nan),
    "one_valid": np.array([np.nan, 0.01]),
    "wiped_out": np.array([0.1, -1.0, 0.2]),
}
# documented deviations on degenerate input (see backtest/metrics.py)
SKIP_NAN_METRICS = {"value_at_risk", "skew", "excess_kurtosis", "raw_kurtosis"}


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_edge_cases_match_empyrical(case: str) -> None:
    r = EDGE_CASES[case]
    for name, (ours, ref) in PAIRS.items():
        if name in SKIP_NAN_METRICS and np.isnan(r).any():
            expected = _ref(ref, r[~np.isnan(r)], 252)
        elif name in SKIP_NAN_METRICS - {"value_at_risk"} and case == "constant_positive":
            expected = float("nan")  # scipy: precision loss -> nan
        elif name in SKIP_NAN_METRICS and len(r) == 0:
            expected = float("nan")
        else:
            expected = _ref(ref, r, 252)
        assert _same(ours(r, 252), expected), (case, name, ours(r, 252), expected)


def test_edge_case_values_stated_in_docstrings() -> None:
    zeros, pos = EDGE_CASES["all_zero"], EDGE_CASES["all_positive"]
    assert np.isnan(M.sharpe_ratio(zeros)) and np.isnan(M.sortino_ratio(zeros))
    assert M.max_drawdown(zeros) == 0.0 and M.total_return(zeros) == 0.0
    assert M.sortino_ratio(pos) == np.inf
    assert M.sharpe_ratio(EDGE_CASES["constant_positive"]) == np.inf
    assert np.isnan(M.calmar_ratio(pos))  # no drawdown
    assert np.isnan(M.sharpe_ratio(EDGE_CASES["single"]))
    assert np.isnan(M.total_return(EDGE_CASES["empty"]))
    # wealth below zero: CAGR is a total loss (empyrical gives a power of a negative number)
    assert M.cagr(np.array([0.1, -1.5, 0.2])) == -1.0


def test_hand_computed_values() -> None:
    r = np.array([0.10, -0.20, 0.05, 0.10])
    wealth = np.cumprod(1 + r)
    assert M.total_return(r) == pytest.approx(wealth[-1] - 1)
    assert M.cagr(r, periods_per_year=4) == pytest.approx(wealth[-1] - 1)  # exactly one year
    assert M.cagr(r, periods_per_year=2) == pytest.approx(wealth[-1] ** 0.5 - 1)
    assert M.max_drawdown(r) == pytest.approx(0.88 / 1.10 - 1)
    assert M.annual_volatility(r, periods_per_year=4) == pytest.approx(np.std(r, ddof=1) * 2)
    dd = M.drawdown_series(pd.Series(r))
    np.testing.assert_allclose(dd.to_numpy(), wealth / np.maximum.accumulate(wealth) - 1, atol=0)
    assert dd.name == "drawdown"
    # Sortino: downside deviation averages the squared shortfalls over all periods
    downside = np.sqrt(np.mean(np.minimum(r, 0) ** 2))
    assert M.sortino_ratio(r, periods_per_year=4) == pytest.approx(r.mean() * 4 / (downside * 2))
    # Omega with a zero threshold: gains over losses
    assert M.omega_ratio(r) == pytest.approx(0.25 / 0.20)
    # CVaR at 5% of 4 values: int(3 * 0.05) + 1 = 1 worst value
    assert M.conditional_value_at_risk(r) == -0.20


def test_dataframe_input_gives_one_value_per_column(rng: np.random.Generator) -> None:
    df = pd.DataFrame(rng.normal(0.0005, 0.01, (300, 3)), columns=["a", "b", "c"])
    out = M.sharpe_ratio(df)
    assert list(out.index) == ["a", "b", "c"]
    for col in df:
        assert out[col] == pytest.approx(M.sharpe_ratio(df[col]), rel=1e-14)
    assert _same(out["b"], _ref(ep.sharpe_ratio, df["b"]))
    arr = M.max_drawdown(df.to_numpy())
    assert isinstance(arr, np.ndarray) and arr.shape == (3,)


@njit  # default (python) error model: callees must not raise on division by zero
def _streamed(returns: np.ndarray, rf: float, ppy: float) -> np.ndarray:
    acc = nb.acc_init_nb(0.0, rf)
    for i in range(returns.shape[0]):
        nb.acc_update_nb(acc, returns[i])
    out = np.empty(len(nb.RETURNS_METRICS))
    nb.acc_fill_metrics_nb(acc, rf, ppy, out)
    return out


@pytest.mark.parametrize("case", ["random", "constant_positive", "all_zero", "with_nans"])
def test_streaming_accumulator_equals_array_path(case: str) -> None:
    if case == "random":
        r = np.random.default_rng(7).normal(0.0003, 0.012, 2000)
    else:
        r = EDGE_CASES[case]
    streamed = _streamed(r, 0.0, 252.0)
    np.testing.assert_array_equal(streamed, nb.returns_metrics_nb(r, 0.0, 252.0))
    expected = [
        M.total_return(r),
        M.cagr(r),
        M.annual_volatility(r),
        M.sharpe_ratio(r),
        M.sortino_ratio(r),
        M.max_drawdown(r),
        M.calmar_ratio(r),
        M.omega_ratio(r),
    ]
    np.testing.assert_array_equal(streamed, np.array(expected))
    two_d = nb.returns_metrics_2d_nb(np.column_stack([r, r[::-1]]), 0.0, 252.0)
    np.testing.assert_array_equal(two_d[0], streamed)
    np.testing.assert_array_equal(two_d[1], nb.returns_metrics_nb(r[::-1].copy(), 0.0, 252.0))


@njit
def _from_sums(returns: np.ndarray, rf: float, ppy: float) -> np.ndarray:
    n = s = s2 = down = up = dn = mdd = 0.0
    lo, hi, growth, peak = np.inf, -np.inf, 1.0, 1.0
    for r in returns:
        n += 1.0
        s += r
        s2 += r * r
        lo, hi = min(lo, r), max(hi, r)
        growth *= 1.0 + r
        peak = max(peak, growth)
        mdd = min(mdd, (growth - peak) / peak)
        down += min(r, 0.0) ** 2
        if r - rf > 0:
            up += r - rf
        else:
            dn -= r - rf
    acc = nb.acc_from_sums_nb(n, n, s, s2, lo, hi, growth, peak, mdd, down, up, dn, 0.0, rf)
    out = np.empty(len(nb.RETURNS_METRICS))
    nb.acc_fill_metrics_nb(acc, rf, ppy, out)
    return out


def test_accumulator_from_plain_sums_agrees_with_welford() -> None:
    r = np.random.default_rng(8).normal(0.0004, 0.01, 5000)
    np.testing.assert_allclose(
        _from_sums(r, 1e-5, 252.0), nb.returns_metrics_nb(r, 1e-5, 252.0), rtol=1e-12
    )


def test_sharpe_per_period_is_unannualised(rng: np.random.Generator) -> None:
    r = rng.normal(0.001, 0.01, 500)
    assert M.sharpe_ratio_per_period(r) == pytest.approx(r.mean() / r.std(ddof=1), rel=1e-12)
    assert M.sharpe_ratio(r) == pytest.approx(M.sharpe_ratio_per_period(r) * np.sqrt(252))


# --- trades and positions ---------------------------------------------------------------------------
def test_trade_statistics_hand_computed() -> None:
    trades = pd.DataFrame(
        {
            "PnL": [100.0, -50.0, 30.0, 0.0, -20.0, 999.0],
            "Status": ["Closed", "Closed", "Closed", "Closed", "Closed", "Open"],
        }
    )
    closed = np.array([100.0, -50.0, 30.0, 0.0, -20.0])
    assert M.n_trades(trades) == 6  # the open trade counts
    assert M.win_rate(trades) == pytest.approx(2 / 5)
    assert M.profit_factor(trades) == pytest.approx(130 / 70)
    assert M.expectancy(trades) == pytest.approx(closed.mean())
    # vectorbt integer status codes (Open=0, Closed=1) and a bare pnl array
    coded = trades.assign(Status=[1, 1, 1, 1, 1, 0])
    assert M.win_rate(coded) == pytest.approx(2 / 5)
    assert M.profit_factor(closed) == pytest.approx(130 / 70)
    assert M.profit_factor(np.array([5.0, 1.0])) == np.inf
    assert np.isnan(M.win_rate(np.array([])))
    assert M.n_trades(np.array([1.0, 2.0])) == 2


def test_trades_without_pnl_column_is_a_clear_error() -> None:
    with pytest.raises(DataValidationError, match=r"trades must have a 'pnl' column.*'profit'"):
        M.win_rate(pd.DataFrame({"profit": [1.0]}))


def test_exposure_turnover_and_position_trades() -> None:
    pos = np.array([0.0, 1.0, 1.0, 0.5, 0.0, -1.0, -1.0, 1.0, np.nan, 0.0])
    assert M.exposure(pos) == pytest.approx(6 / 10)
    # |1| + |0.5| + |0.5| + |1| + |2| + |1| (nan -> 0) = 6 over 10 bars
    assert M.turnover(pos) == pytest.approx(6.0 / 10)
    assert nb.position_trades_nb(pos) == 3  # 0->1, 0->-1, -1->1 (resize 1->0.5 is not a trade)
    frame = pd.DataFrame({"a": [0.0, 1.0, 1.0, 0.0], "b": [0.0, 0.0, -0.5, -0.5]})
    assert M.exposure(frame) == pytest.approx(3 / 4)
    assert M.turnover(frame) == pytest.approx((1 + 1 + 0.5) / 4)


def test_compute_metrics_keys_and_consistency(rng: np.random.Generator) -> None:
    r = pd.Series(rng.normal(0.0004, 0.01, 400))
    pos = np.r_[np.zeros(100), np.ones(200), np.zeros(100)]
    out = M.compute_metrics(r, positions=pos, periods_per_year=252, risk_free=1e-5)
    assert tuple(out) == M.METRIC_NAMES
    assert out["sharpe_ratio"] == pytest.approx(_ref(ep.sharpe_ratio, r, risk_free=1e-5), rel=1e-10)
    assert out["omega_ratio"] == pytest.approx(_ref(ep.omega_ratio, r, risk_free=1e-5), rel=1e-10)
    assert out["sortino_ratio"] == M.sortino_ratio(r)
    assert out["kurtosis"] == pytest.approx(st.kurtosis(r), rel=1e-10)
    assert out["n_periods"] == 400 and out["n_trades"] == 1
    assert out["exposure"] == 0.5 and out["turnover"] == pytest.approx(2 / 400)
    assert np.isnan(out["win_rate"])
    with_trades = M.compute_metrics(r, trades=pd.DataFrame({"pnl": [10.0, -5.0]}))
    assert with_trades["n_trades"] == 2 and with_trades["win_rate"] == 0.5
    assert np.isnan(with_trades["exposure"])
    assert all(isinstance(v, float | int) for v in out.values())


def test_bad_arguments_raise_named_errors() -> None:
    r = np.zeros(10)
    with pytest.raises(
        ParameterError, match=r"`periods_per_year` must be a positive number, got 0"
    ):
        M.sharpe_ratio(r, periods_per_year=0)
    with pytest.raises(ParameterError, match=r"`cutoff` must be in \(0, 1\), got 5"):
        M.value_at_risk(r, cutoff=5)
    with pytest.raises(DataValidationError, match="returns must be numeric"):
        M.total_return(["a", "b"])
    with pytest.raises(DataValidationError, match=r"returns must be 1-D for compute_metrics"):
        M.compute_metrics(np.zeros((3, 2)))
