"""Pandas wrappers: index and columns put back, Series and DataFrame forms, argument errors."""

import numpy as np
import pandas as pd
import pytest

from data_loaders.errors import ParameterError
from strategies.indicators import fast
from tests.strategies._data import make_bars


@pytest.fixture(scope="module")
def ohlc():
    return make_bars(300, seed=1)


def test_series_in_series_out_with_index_and_name(ohlc):
    out = fast.sma(ohlc["close"], 10)
    assert isinstance(out, pd.Series) and out.index.equals(ohlc.index) and out.name == "close"
    pd.testing.assert_series_equal(out, ohlc["close"].rolling(10).mean(), rtol=1e-12)


@pytest.mark.parametrize(
    ("func", "args", "reference"),
    [
        (fast.sma, (5,), lambda df: df.rolling(5).mean()),
        (fast.ema, (5,), lambda df: df.ewm(span=5, min_periods=5, adjust=False).mean()),
        (fast.rolling_std, (5,), lambda df: df.rolling(5).std()),
        (fast.rolling_zscore, (5,), lambda df: (df - df.rolling(5).mean()) / df.rolling(5).std()),
        (fast.donchian_high, (5,), lambda df: df.rolling(5).max()),
        (fast.donchian_low, (5,), lambda df: df.rolling(5).min()),
    ],
)
def test_dataframe_in_dataframe_out_per_column(ohlc, func, args, reference):
    frame = pd.DataFrame({"a": ohlc["close"], "b": ohlc["open"]})
    out = func(frame, *args)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["a", "b"]
    pd.testing.assert_frame_equal(out, reference(frame), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    ("func", "args"),
    [
        (fast.sma, (7,)),
        (fast.ema, (7,)),
        (fast.rolling_std, (7, 1)),
        (fast.rolling_zscore, (7, 0)),
        (fast.rsi, (7,)),
        (fast.donchian_high, (7,)),
        (fast.donchian_low, (7,)),
    ],
)
def test_a_frame_column_equals_its_series_to_the_bit(func, args):
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(100 + np.cumsum(rng.normal(size=(300, 4)), axis=0), columns=list("abcd"))
    out = func(frame, *args)
    for col in frame.columns:
        np.testing.assert_array_equal(out[col].to_numpy(), func(frame[col], *args).to_numpy())


def test_atr_and_true_range_accept_frames_of_symbols(ohlc):
    h = pd.DataFrame({"x": ohlc["high"], "y": ohlc["high"] * 2})
    lo = pd.DataFrame({"x": ohlc["low"], "y": ohlc["low"] * 2})
    c = pd.DataFrame({"x": ohlc["close"], "y": ohlc["close"] * 2})
    out = fast.atr(h, lo, c, 14)
    pd.testing.assert_series_equal(
        out["x"], fast.atr(ohlc["high"], ohlc["low"], ohlc["close"], 14), check_names=False
    )
    np.testing.assert_allclose(out["y"], 2 * out["x"], rtol=1e-12, equal_nan=True)
    tr = fast.true_range(h, lo, c)
    np.testing.assert_allclose(tr["y"], 2 * tr["x"], rtol=1e-12)


def test_psar_frame(ohlc):
    out = fast.psar(ohlc["high"], ohlc["low"], ohlc["close"])
    assert list(out.columns) == ["psar", "psar_trend"] and set(out["psar_trend"]) <= {1.0, -1.0}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: fast.sma(c, 0), "`window` must be an integer >= 1, got window=0"),
        (lambda c: fast.ema(c, 2.5), "`window` must be an integer >= 1, got window=2.5"),
        (lambda c: fast.rolling_std(c, 1), "`window` must be an integer >= 2, got window=1"),
        (lambda c: fast.rsi(c, True), "`window` must be an integer >= 1, got window=True"),
    ],
)
def test_bad_window_is_a_parameter_error(ohlc, call, message):
    with pytest.raises(ParameterError) as err:
        call(ohlc["close"])
    assert str(err.value) == message


def test_mismatched_shapes_are_rejected(ohlc):
    with pytest.raises(ParameterError, match="high, low and close must have one shape"):
        fast.atr(ohlc["high"], ohlc["low"].iloc[:-1], ohlc["close"])
