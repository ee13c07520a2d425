"""research.spec.build: sections -> library objects; the old import paths still work."""

from __future__ import annotations

import pandas as pd
import pytest

from backtest.costs import Costs
from backtest.execution import Execution
from backtest.splitters import WalkForward
from data_loaders.errors import ConfigError
from research.spec.build import (
    build_costs,
    build_execution,
    build_splitter,
    experiment_bars_per_year,
    ranking_direction,
    strategy_bars,
)
from tests.research.spec._minimal import minimal_experiment as _exp


def test_splitter_costs_and_execution_follow_the_spec():
    exp = _exp(
        walk_forward={"train": 300, "test": 100, "purge": 2, "anchored": True},
        costs={
            "fees": 0.002,
            "slippage_bps": 5,
            "execution": "close",
            "direction": "longonly",
            "init_cash": 5000,
        },
    )
    wf = build_splitter(exp)
    assert isinstance(wf, WalkForward)
    folds = list(wf.split(pd.RangeIndex(600)))
    assert [(f.train.start, f.test.start, f.test.stop) for f in folds][0] == (0, 302, 402)
    assert build_costs(exp) == Costs(fees=0.002, fixed_fees=0.0, slippage_bps=5.0)
    assert build_execution(exp, 252) == Execution(
        costs=Costs(fees=0.002, slippage_bps=5.0),
        fill="close",
        direction="longonly",
        init_cash=5000.0,
        periods_per_year=252.0,
    )


def test_bars_per_year_from_the_spec_or_the_data():
    idx = pd.date_range("2020-01-01", periods=400, freq="D", tz="UTC")
    bars = pd.DataFrame({"open": 1.0, "close": 1.0}, index=idx)
    assert experiment_bars_per_year(_exp(), bars) == 365.0
    assert experiment_bars_per_year(_exp(), {"A": bars, "B": bars}) == 365.0
    given = _exp(data={"source": "sample:sp500", "periods_per_year": 260})
    assert experiment_bars_per_year(given, bars) == 260.0


def test_ranking_direction_prefers_the_objective_then_the_metric_default():
    assert ranking_direction(_exp()) == "maximize"
    assert ranking_direction(_exp(ranking={"metric": "turnover"})) == "minimize"
    exp = _exp(
        objectives=[{"metric": "turnover", "direction": "maximize"}], ranking={"metric": "turnover"}
    )
    assert ranking_direction(exp) == "maximize"


def test_strategy_bars():
    class One:
        multi_asset = False

        @staticmethod
        def label():
            return "sma_cross"

    class Many:
        multi_asset = True

        @staticmethod
        def label():
            return "pairs"

    a = pd.DataFrame({"x": [1]})
    assert strategy_bars(One, {"A": a}, "k") is a
    assert strategy_bars(Many, {"A": a}, "k") == {"A": a}
    with pytest.raises(ConfigError, match=r"^strategies\[0\]: pairs trades several symbols"):
        strategy_bars(Many, a, "strategies[0]")


def test_strategy_bars_refuses_one_symbol_strategy_on_many_symbols_without_a_mode():
    class One:
        multi_asset = False

        @staticmethod
        def label():
            return "sma_cross"

    a, b = pd.DataFrame({"x": [1]}), pd.DataFrame({"x": [2]})
    with pytest.raises(
        ConfigError,
        match=r"^s\[0\]: sma_cross trades one symbol but the data "
        r"hold 2 \(A, B\); set universe.mode: per_symbol or pooled",
    ):
        strategy_bars(One, {"A": a, "B": b}, "s[0]")
    assert strategy_bars(One, {"A": a, "B": b}, "k", "pooled") == {"A": a, "B": b}
    with pytest.raises(ConfigError, match="needs several symbols"):
        strategy_bars(One, a, "k", "per_symbol")
    with pytest.raises(ConfigError, match="needs a multi-asset strategy"):
        strategy_bars(One, {"A": a, "B": b}, "k", "portfolio")


def test_old_import_paths_still_work():
    import research.experiment as old
    from research.spec import ExploreSection, experiment_hash

    assert old.ExploreSpec is ExploreSection and old.spec_hash is experiment_hash
    assert old.load_experiment.__module__ == "research.spec.parse"


def test_financing_leverage_and_order_limits_come_from_the_costs_section():
    exp = _exp(
        costs={
            "fees": 0.001,
            "sell_fees": 0.002,
            "min_fee": 1.5,
            "spread_bps": 4,
            "borrow_rate": 0.03,
            "cash_rate": 0.01,
            "debit_rate": 0.05,
            "max_leverage": 2,
            "maintenance_margin": 0.25,
            "notional": 10_000,
            "whole_units": True,
            "participation": 0.1,
        }
    )
    ex = build_execution(exp, 252)
    assert ex.costs == Costs(
        fees=0.001, sell_fees=0.002, min_fee=1.5, spread_bps=4.0,
        borrow_rate=0.03, cash_rate=0.01, debit_rate=0.05,
    )  # fmt: skip
    assert (ex.max_leverage, ex.maintenance_margin, ex.notional) == (2.0, 0.25, 10_000.0)
    assert ex.whole_units is True and ex.participation == 0.1
    kw = ex.engine_kwargs()
    assert kw["max_leverage"] == 2.0 and kw["rates_per_year"] == 252.0
    assert ex.to_dict()["costs"]["borrow_rate"] == 0.03  # what run.json records


@pytest.mark.parametrize(
    ("costs", "message"),
    [
        ({"max_leverage": 0.5}, "costs.max_leverage: must be >= 1"),
        ({"borrow_rate": -0.01}, "costs.borrow_rate: must be >= 0"),
        ({"participation": 2}, "costs.participation: must be <= 1"),
        ({"whole_units": "yes"}, "costs.whole_units"),
        ({"borow_rate": 0.01}, "borrow_rate"),  # did you mean
    ],
)
def test_bad_execution_settings_name_the_key(costs, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        _exp(costs=costs)
