"""The Indicator record: parameter resolution, grid, labels, inputs, short data."""

import numpy as np
import pandas as pd
import pytest

from data_loaders.errors import DataValidationError, ParameterError
from strategies.indicators import Indicator, get_indicator
from tests.strategies._data import make_bars


@pytest.fixture(scope="module")
def ohlc():
    return make_bars(200, seed=2)


def _demo_func(close: pd.Series, window: int = 3, scale: float = 1.0, flag: bool = False):
    """Demo: scaled rolling sum."""
    return close.rolling(window).sum() * scale


DEMO = Indicator(
    "demo",
    "price",
    _demo_func,
    warmup=lambda window, scale, flag: window - 1,
    grid={"window": [2, 3, 4]},
    constraints=("window < 10",),
)


def test_inputs_defaults_params_and_description_come_from_the_function():
    assert DEMO.inputs == ("close",)
    assert DEMO.defaults == {"window": 3, "scale": 1.0, "flag": False}
    assert DEMO.params == {"window": [2, 3, 4], "scale": [1.0], "flag": [False]}
    assert DEMO.outputs == ("demo",)
    assert DEMO.description == "Demo: scaled rolling sum."


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"windw": 3}, "unknown parameter 'windw' for indicator 'demo' (did you mean 'window'?)"),
        ({"window": 0}, "indicator 'demo': `window` must be an integer >= 1, got window=0"),
        ({"window": 2.5}, "indicator 'demo': `window` must be an integer >= 1, got window=2.5"),
        ({"scale": -1}, "indicator 'demo': `scale` must be a finite number > 0, got scale=-1"),
        ({"flag": 1}, "indicator 'demo': `flag` must be True or False, got flag=1"),
        ({"window": 12}, "indicator 'demo': `window` must be < 10.0, got window=12"),
    ],
)
def test_bad_parameters_name_the_rule(params, message):
    with pytest.raises(ParameterError) as err:
        DEMO.resolve(**params)
    assert str(err.value) == message


def test_grid_points_drop_constraint_violations():
    macd = get_indicator("macd")
    points = macd.grid_points()
    assert points == [{"window_slow": 26, "window_fast": 12, "window_sign": 9}]
    assert [p["window"] for p in DEMO.grid_points()] == [2, 3, 4]


def test_label_lists_output_and_parameter_values():
    assert get_indicator("rsi").label() == "rsi_14"
    assert get_indicator("macd").label("macd_signal", window_fast=5) == "macd_signal_26_5_9"
    assert get_indicator("obv").label() == "obv"


def test_compute_masks_before_warmup_and_names_the_output(ohlc):
    out = DEMO.compute(ohlc, window=4, scale=2.0)
    want = ohlc["close"].rolling(4).sum() * 2.0
    assert out.name == "demo" and out.index.equals(ohlc.index)
    np.testing.assert_allclose(out, want, equal_nan=True)


def test_a_series_counts_as_close_for_close_only_indicators(ohlc):
    pd.testing.assert_series_equal(
        get_indicator("rsi").compute(ohlc["close"]), get_indicator("rsi").compute(ohlc)
    )
    with pytest.raises(DataValidationError, match="indicator 'atr' needs columns"):
        get_indicator("atr").compute(ohlc["close"])


def test_missing_column_is_a_data_error(ohlc):
    with pytest.raises(DataValidationError) as err:
        get_indicator("obv").compute(ohlc.drop(columns="volume"))
    assert str(err.value) == (
        "indicator 'obv' needs column 'volume'; bars have columns ['open', 'high', 'low', 'close']"
    )


@pytest.mark.parametrize("name", ["adx", "atr", "macd", "kst", "psar"])
def test_data_no_longer_than_the_warmup_gives_all_nan(ohlc, name):
    ind = get_indicator(name)
    short = ohlc.iloc[: ind.warmup()]
    out = ind.compute(short)
    assert len(out) == len(short) and np.isnan(np.asarray(out, dtype=float)).all()


def test_bad_declarations_are_caught_at_definition():
    with pytest.raises(ValueError, match="family must be one of"):
        Indicator("x", "magic", _demo_func, warmup=lambda **p: 0)
    with pytest.raises(ValueError, match="grid names unknown parameters"):
        Indicator("x", "price", _demo_func, warmup=lambda **p: 0, grid={"nope": [1]})
