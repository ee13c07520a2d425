"""Tests of backtest/costs.py: the cost model's values, validation and conventions."""

from __future__ import annotations

import math

import pytest

from backtest.costs import Costs
from data_loaders.errors import ParameterError


def test_defaults_and_slippage_fraction():
    costs = Costs()
    assert (costs.fees, costs.fixed_fees, costs.slippage_bps) == (0.001, 0.0, 0.0)
    assert Costs(slippage_bps=25).slippage == pytest.approx(0.0025)
    assert Costs(fees=0.002, fixed_fees=1, slippage_bps=5).to_dict() == {
        "fees": 0.002,
        "fixed_fees": 1.0,
        "slippage_bps": 5.0,
    }


def test_values_are_coerced_to_float_and_frozen():
    costs = Costs(fees=0, fixed_fees=2, slippage_bps=1)
    assert isinstance(costs.fees, float) and isinstance(costs.fixed_fees, float)
    with pytest.raises(AttributeError):
        costs.fees = 0.5  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"fees": -0.001}, r"`fees` must be finite, >= 0 and < 1, got -0.001"),
        ({"fees": 1.0}, r"`fees` must be finite, >= 0 and < 1, got 1.0"),
        ({"fixed_fees": math.inf}, r"`fixed_fees` must be finite, >= 0, got inf"),
        ({"slippage_bps": -1}, r"`slippage_bps` must be finite, >= 0 and < 10000, got -1"),
        ({"slippage_bps": math.nan}, r"`slippage_bps` must be finite"),
        ({"fees": "0.1%"}, r"`fees` must be a number, got '0.1%'"),
    ],
)
def test_bad_values_raise_parameter_error(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        Costs(**kwargs)
