"""The numba kernels agree with pandas and ``ta`` to 1e-9 (1-D and 2-D forms, NaN handling)."""

import numpy as np
import pandas as pd
import pytest
import ta

from strategies.indicators import _nb
from tests.strategies._data import make_bars

TOL = dict(rtol=1e-9, atol=1e-9, equal_nan=True)


@pytest.fixture(scope="module")
def ohlc():
    return make_bars(3000, seed=3)


@pytest.mark.parametrize("window", [1, 2, 5, 37, 200])
def test_rolling_mean_matches_pandas(ohlc, window):
    c = ohlc["close"]
    got = _nb.rolling_mean_1d_nb(c.to_numpy(), window)
    np.testing.assert_allclose(got, c.rolling(window).mean().to_numpy(), **TOL)
    assert np.isnan(got[: window - 1]).all() and not np.isnan(got[window - 1 :]).any()


def test_rolling_mean_stays_exact_past_many_resyncs():
    x = np.random.default_rng(0).normal(1e4, 1.0, 50_000)
    got = _nb.rolling_mean_1d_nb(x, 30)
    idx = np.arange(29, len(x), 997)
    exact = np.array([x[i - 29 : i + 1].mean() for i in idx])
    np.testing.assert_allclose(got[idx], exact, rtol=1e-13)


def test_rolling_mean_with_nans_matches_pandas():
    x = np.random.default_rng(1).normal(size=300)
    x[[5, 6, 100, 250]] = np.nan
    got = _nb.rolling_mean_1d_nb(x, 10)
    np.testing.assert_allclose(got, pd.Series(x).rolling(10).mean().to_numpy(), **TOL)


def test_rolling_mean_windows_rows_are_the_1d_kernel(ohlc):
    x = ohlc["close"].to_numpy()
    windows = np.array([3, 10, 50])
    got = _nb.rolling_mean_windows_nb(x, windows)
    assert got.shape == (3, len(x))
    for r, w in enumerate(windows):
        np.testing.assert_array_equal(got[r], _nb.rolling_mean_1d_nb(x, w))


@pytest.mark.parametrize("window", [2, 12, 50])
def test_ema_matches_pandas_and_ta(ohlc, window):
    c = ohlc["close"]
    got = _nb.ema_1d_nb(c.to_numpy(), window)
    np.testing.assert_allclose(
        got, c.ewm(span=window, min_periods=window, adjust=False).mean().to_numpy(), **TOL
    )
    np.testing.assert_allclose(got, ta.trend.EMAIndicator(c, window).ema_indicator(), **TOL)


def test_ewm_mean_handles_leading_and_interior_nans_like_pandas():
    x = np.random.default_rng(2).normal(size=200)
    x[:7] = np.nan
    x[[50, 51, 52, 120]] = np.nan
    got = _nb.ewm_mean_1d_nb(x, 0.1, 5)
    want = pd.Series(x).ewm(alpha=0.1, min_periods=5, adjust=False).mean().to_numpy()
    np.testing.assert_allclose(got, want, **TOL)


@pytest.mark.parametrize(("window", "ddof"), [(2, 1), (20, 0), (20, 1), (100, 1)])
def test_rolling_std_matches_pandas(ohlc, window, ddof):
    c = ohlc["close"]
    got = _nb.rolling_std_1d_nb(c.to_numpy(), window, ddof)
    np.testing.assert_allclose(got, c.rolling(window).std(ddof=ddof).to_numpy(), **TOL)


def test_rolling_std_with_nans_matches_pandas():
    x = np.random.default_rng(4).normal(size=400)
    x[[10, 200, 201]] = np.nan
    got = _nb.rolling_std_1d_nb(x, 15, 1)
    np.testing.assert_allclose(got, pd.Series(x).rolling(15).std().to_numpy(), **TOL)


def test_rolling_std_stays_accurate_on_long_series():
    x = 100.0 + np.cumsum(np.random.default_rng(5).normal(0, 0.01, 200_000))
    got = _nb.rolling_std_1d_nb(x, 50, 1)
    idx = np.arange(49, len(x), 4999)
    exact = np.array([x[i - 49 : i + 1].std(ddof=1) for i in idx])
    np.testing.assert_allclose(got[idx], exact, rtol=1e-9)


def _exact_windows(x: np.ndarray, window: int, func) -> np.ndarray:
    """Two-pass reference over every full window (NaN before)."""
    out = np.full(len(x), np.nan)
    out[window - 1 :] = func(np.lib.stride_tricks.sliding_window_view(x, window), axis=1)
    return out


@pytest.mark.parametrize("window", [3, 5, 20, 60])
def test_rolling_std_and_zscore_match_an_exact_two_pass_reference(ohlc, window):
    x = ohlc["close"].to_numpy()
    std = _exact_windows(x, window, lambda w, axis: w.std(axis=axis, ddof=1))
    mean = _exact_windows(x, window, np.mean)
    np.testing.assert_allclose(_nb.rolling_std_1d_nb(x, window, 1), std, rtol=1e-11, equal_nan=True)
    np.testing.assert_allclose(
        _nb.rolling_zscore_1d_nb(x, window, 1),
        (x - mean) / std,
        rtol=1e-10,
        atol=1e-12,
        equal_nan=True,
    )


@pytest.mark.parametrize("window", [5, 20])
def test_rolling_zscore_matches_pandas(ohlc, window):
    """To 1e-9 absolute; pandas' own online variance drifts by ~1e-9 relative on short windows."""
    c = ohlc["close"]
    want = (c - c.rolling(window).mean()) / c.rolling(window).std()
    got = _nb.rolling_zscore_1d_nb(c.to_numpy(), window, 1)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-8, equal_nan=True)


def test_rolling_zscore_of_a_flat_window_is_nan():
    got = _nb.rolling_zscore_1d_nb(np.array([1.0, 1.0, 1.0, 2.0]), 3, 1)
    assert np.isnan(got[:3]).all() and got[3] == pytest.approx(
        (2 - 4 / 3) / np.std([1, 1, 2], ddof=1)
    )


@pytest.mark.parametrize("window", [2, 14, 30])
def test_rsi_matches_ta(ohlc, window):
    c = ohlc["close"]
    got = _nb.rsi_1d_nb(c.to_numpy(), window)
    np.testing.assert_allclose(got, ta.momentum.RSIIndicator(c, window).rsi(), **TOL)
    assert np.isnan(got[: window - 1]).all() and not np.isnan(got[window - 1 :]).any()


def test_rsi_is_100_without_losses():
    got = _nb.rsi_1d_nb(np.arange(1.0, 30.0), 14)
    assert (got[13:] == 100.0).all()


@pytest.mark.parametrize("window", [1, 14, 30])
def test_atr_matches_ta_after_warmup(ohlc, window):
    h, lo, c = ohlc["high"], ohlc["low"], ohlc["close"]
    got = _nb.atr_1d_nb(h.to_numpy(), lo.to_numpy(), c.to_numpy(), window)
    want = ta.volatility.AverageTrueRange(h, lo, c, window).average_true_range().to_numpy()
    np.testing.assert_allclose(got[window - 1 :], want[window - 1 :], **TOL)
    assert np.isnan(got[: window - 1]).all()  # ta writes zeros there


def test_atr_of_data_shorter_than_window_is_all_nan():
    x = np.ones(5)
    assert np.isnan(_nb.atr_1d_nb(x + 1, x, x, 10)).all()


def test_true_range_first_bar_is_high_minus_low(ohlc):
    h, lo, c = (ohlc[k].to_numpy() for k in ("high", "low", "close"))
    tr = _nb.true_range_1d_nb(h, lo, c)
    assert tr[0] == h[0] - lo[0]
    want = np.maximum.reduce([h[1:] - lo[1:], abs(h[1:] - c[:-1]), abs(lo[1:] - c[:-1])])
    np.testing.assert_array_equal(tr[1:], want)


@pytest.mark.parametrize("window", [1, 3, 20, 55])
def test_rolling_max_min_match_pandas(ohlc, window):
    h, lo = ohlc["high"], ohlc["low"]
    np.testing.assert_array_equal(
        _nb.rolling_max_1d_nb(h.to_numpy(), window), h.rolling(window).max().to_numpy()
    )
    np.testing.assert_array_equal(
        _nb.rolling_min_1d_nb(lo.to_numpy(), window), lo.rolling(window).min().to_numpy()
    )


def test_rolling_max_with_nan_matches_pandas():
    x = np.random.default_rng(6).normal(size=100)
    x[[3, 40]] = np.nan
    np.testing.assert_array_equal(
        _nb.rolling_max_1d_nb(x, 5), pd.Series(x).rolling(5).max().to_numpy()
    )


@pytest.mark.parametrize(("step", "max_step"), [(0.02, 0.2), (0.05, 0.3)])
def test_psar_matches_ta(ohlc, step, max_step):
    """Compared with ``ta.trend.PSARIndicator`` itself on a RangeIndex: ta writes
    ``self._psar[i]`` by label in one branch, which pandas 3 turns into a new row unless the
    labels are the positions (so the indicator layer calls the kernel, never ta, on bars)."""
    h, lo, c = (ohlc[k].to_numpy()[:800] for k in ("high", "low", "close"))
    sar, trend = _nb.psar_1d_nb(h, lo, c, step, max_step)
    ind = ta.trend.PSARIndicator(pd.Series(h), pd.Series(lo), pd.Series(c), step, max_step)
    np.testing.assert_allclose(sar, ind.psar().to_numpy(), rtol=1e-12)
    up, down = ind.psar_up().notna().to_numpy(), ind.psar_down().notna().to_numpy()
    assert not (up & down).any() and (up | down)[2:].all()
    np.testing.assert_array_equal(trend[2:], np.where(up, 1.0, -1.0)[2:])
    assert (trend[:2] == 1).all()  # ta's initialisation: an up trend (no SAR side yet)
    assert (trend == -1).any() and (trend == 1).any()
