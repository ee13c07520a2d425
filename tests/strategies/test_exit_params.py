"""Exit hyperparameters: declared like a strategy's, and every value they allow is a valid Exits."""

from __future__ import annotations

import dataclasses

import pytest

from backtest import Exits
from data_loaders.errors import ParameterError
from strategies import EXIT_PARAM_NAMES, Float, exit_space, exit_values


def test_names_are_exits_fields_and_every_grid_value_is_valid():
    fields = {f.name for f in dataclasses.fields(Exits)}
    assert set(EXIT_PARAM_NAMES) <= fields
    for name, param in exit_space().items():
        assert param.name == name
        for value in (param.low, param.default, param.high, *param.grid(5)):
            exits = Exits(**{name: value})
            assert getattr(exits, name) == value and exits.active


def test_prefix_override_and_round_trip():
    space = exit_space(["stop_loss", "take_profit"], prefix="exit_",
                       stop_loss=Float(0.01, 0.05, log=True))  # fmt: skip
    assert list(space) == ["exit_stop_loss", "exit_take_profit"]
    assert (space["exit_stop_loss"].low, space["exit_stop_loss"].high) == (0.01, 0.05)
    with pytest.raises(ParameterError, match="exit_stop_loss"):
        space["exit_stop_loss"].validate(0.2)
    params = {"fast": 10, "exit_stop_loss": 0.02, "exit_take_profit": 0.1}
    assert exit_values(params, prefix="exit_") == {"stop_loss": 0.02, "take_profit": 0.1}
    assert Exits(**exit_values(params, prefix="exit_")).stop_loss == 0.02


def test_unknown_name_is_refused_with_a_hint():
    with pytest.raises(ParameterError, match="did you mean 'trailing_stop'"):
        exit_space(["trailing_sto"])
