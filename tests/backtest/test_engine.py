"""Tests of backtest/engine.py: run_backtest against hand computations of small examples."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from backtest.costs import Costs
from backtest.engine import run_backtest
from data_loaders.errors import DataValidationError, ParameterError

OPEN = [10.0, 11.0, 12.0, 13.0, 12.0, 11.0, 12.0, 13.0, 14.0, 15.0]
CLOSE = [10.5, 11.5, 12.5, 12.0, 11.5, 11.5, 12.5, 13.5, 14.5, 15.5]
#          0    1    2    3    4    5    6     7     8    9
TARGET = [0.0, 1.0, 1.0, 1.0, 0.0, 0.0, -1.0, -1.0, 0.0, 0.0]


def ten_bars(open_=OPEN, close=CLOSE) -> pd.DataFrame:
    index = pd.date_range("2024-01-01", periods=len(open_), freq="D", tz="UTC", name="time")
    o, c = np.asarray(open_, float), np.asarray(close, float)
    return pd.DataFrame(
        {
            "open": o,
            "high": np.maximum(o, c) + 1,
            "low": np.minimum(o, c) - 1,
            "close": c,
            "volume": 1.0,
        },
        index=index,
    )


def positions(values=TARGET) -> pd.Series:
    bars = ten_bars()
    return pd.Series(values, index=bars.index, dtype=float)


def hand_next_open(fee: float, fixed: float, slip: float, cash0: float = 1000.0):
    """Independent arithmetic of the 10-bar example: long 2->5, short 7->9 (next-open fills)."""
    eq = []
    cash, units = cash0, 0.0
    trades = {}
    for i in range(10):
        if i == 2:  # target 1 decided at bar 1: all cash in, fees included
            price = OPEN[2] * (1 + slip)
            units = (cash - fixed) / (1 + fee) / price
            trades["long_entry"] = (price, cash - units * price)  # price, fees
            cash = 0.0
        if i == 5:  # target 0 decided at bar 4: sell everything
            price = OPEN[5] * (1 - slip)
            proceeds = units * price
            fees = proceeds * fee + fixed
            trades["long_exit"] = (price, fees)
            cash = proceeds - fees
            long_units, units = units, 0.0
        if i == 7:  # target -1 decided at bar 6: short equity / open units
            value = cash
            units = -value / OPEN[7]
            price = OPEN[7] * (1 - slip)
            proceeds = -units * price
            fees = proceeds * fee + fixed
            trades["short_entry"] = (price, fees)
            cash = cash + proceeds - fees
        if i == 9:  # target 0 decided at bar 8: buy back
            price = OPEN[9] * (1 + slip)
            cost = -units * price
            fees = cost * fee + fixed
            trades["short_exit"] = (price, fees)
            cash = cash - cost - fees
            short_units, units = -units, 0.0
        eq.append(cash + units * CLOSE[i])
    return np.array(eq), trades, long_units, short_units


@pytest.mark.parametrize(
    "fee,fixed,slip_bps", [(0.0, 0.0, 0.0), (0.01, 1.0, 0.0), (0.002, 0.5, 25.0)]
)
def test_hand_computed_next_open_fills_fees_and_equity(fee, fixed, slip_bps):
    result = run_backtest(
        ten_bars(),
        positions(),
        costs=Costs(fees=fee, fixed_fees=fixed, slippage_bps=slip_bps),
        init_cash=1000.0,
    )
    eq, trades, long_units, short_units = hand_next_open(fee, fixed, slip_bps / 1e4)
    np.testing.assert_allclose(result.equity.to_numpy(), eq, rtol=1e-12)
    expected_returns = eq / np.r_[1000.0, eq[:-1]] - 1
    np.testing.assert_allclose(result.returns.to_numpy(), expected_returns, rtol=1e-10, atol=1e-15)

    t = result.trades
    assert list(t["direction"]) == ["long", "short"]
    assert list(t["status"]) == ["closed", "closed"]
    assert list(t["entry_bar"]) == [2, 7] and list(t["exit_bar"]) == [5, 9]
    assert t["entry_time"].iloc[0] == ten_bars().index[2]
    np.testing.assert_allclose(t["size"], [long_units, short_units], rtol=1e-12)
    np.testing.assert_allclose(
        t["entry_price"], [trades["long_entry"][0], trades["short_entry"][0]], rtol=1e-12
    )
    np.testing.assert_allclose(
        t["exit_price"], [trades["long_exit"][0], trades["short_exit"][0]], rtol=1e-12
    )
    long_fees = trades["long_entry"][1] + trades["long_exit"][1]
    short_fees = trades["short_entry"][1] + trades["short_exit"][1]
    np.testing.assert_allclose(t["fees"], [long_fees, short_fees], rtol=1e-9, atol=1e-12)
    long_pnl = long_units * (trades["long_exit"][0] - trades["long_entry"][0]) - long_fees
    short_pnl = short_units * (trades["short_entry"][0] - trades["short_exit"][0]) - short_fees
    np.testing.assert_allclose(t["pnl"], [long_pnl, short_pnl], rtol=1e-9)
    assert t["pnl"].sum() == pytest.approx(eq[-1] - 1000.0, rel=1e-9)


def test_close_execution_fills_at_the_signal_bar_close():
    result = run_backtest(
        ten_bars(), positions(), costs=Costs(fees=0.0), execution="close", init_cash=1000.0
    )
    t = result.trades
    assert list(t["entry_bar"]) == [1, 6] and list(t["exit_bar"]) == [4, 8]
    np.testing.assert_allclose(t["entry_price"], [CLOSE[1], CLOSE[6]])
    np.testing.assert_allclose(t["exit_price"], [CLOSE[4], CLOSE[8]])
    units = 1000.0 / CLOSE[1]
    cash = units * CLOSE[4]
    short = cash / CLOSE[6]
    final = cash + short * (CLOSE[6] - CLOSE[8])
    assert result.final_equity == pytest.approx(final, rel=1e-12)
    # the fill is at the close, so the bar of the entry has no return from the position yet
    assert result.returns.iloc[1] == pytest.approx(0.0, abs=1e-15)


def test_orders_only_when_the_target_changes_and_no_forced_exit():
    # 0.5 held while the price moves: no rebalancing; still open at the end
    values = [0.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    result = run_backtest(ten_bars(), positions(values), costs=Costs(fees=0.0), init_cash=1000.0)
    orders = result.portfolio.orders.values
    assert len(orders) == 1 and orders["idx"][0] == 2
    units = 500.0 / OPEN[2]
    assert result.final_equity == pytest.approx(500.0 + units * CLOSE[-1], rel=1e-12)
    assert list(result.trades["status"]) == ["open"]
    assert result.trades["exit_price"].iloc[0] == CLOSE[-1]
    exposure = units * CLOSE[-1] / result.final_equity
    assert result.exposure.iloc[-1] == pytest.approx(exposure, rel=1e-12)


def test_whole_units_round_sizes_down():
    result = run_backtest(
        ten_bars(), positions(), costs=Costs(fees=0.0), init_cash=1000.0, whole_units=True
    )
    sizes = result.portfolio.orders.values["size"]
    assert np.all(sizes == np.floor(sizes))
    assert sizes[0] == math.floor(1000.0 / OPEN[2])  # 83 units at 12
    cash_after_entry = 1000.0 - 83 * OPEN[2]
    assert result.equity.iloc[2] == pytest.approx(cash_after_entry + 83 * CLOSE[2], rel=1e-12)


@pytest.mark.parametrize("direction,lo,hi", [("longonly", 0.0, 1.0), ("shortonly", -1.0, 0.0)])
def test_direction_clips_targets(direction, lo, hi):
    pos = positions()
    clipped = run_backtest(ten_bars(), pos.clip(lo, hi), init_cash=1000.0)
    result = run_backtest(ten_bars(), pos, direction=direction, init_cash=1000.0)
    np.testing.assert_array_equal(result.equity.to_numpy(), clipped.equity.to_numpy())
    side = "long" if direction == "longonly" else "short"
    assert set(result.trades["direction"]) == {side}
    assert result.positions.between(lo, hi).all()


def test_several_symbols_share_cash_and_sell_before_buying():
    bars = ten_bars()
    other = ten_bars(open_=[2 * x for x in OPEN], close=[2 * x for x in CLOSE])
    idx = bars.index
    #            A: half, then out; B: half, then all in on the same bar as A's exit
    pos = pd.DataFrame(
        {
            "A": [0.0, 0.5, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            "B": [0.0, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        },
        index=idx,
    )
    result = run_backtest({"A": bars, "B": other}, pos, costs=Costs(fees=0.0), init_cash=1000.0)
    a_units = 500.0 / OPEN[2]
    b_units = 500.0 / (2 * OPEN[2])
    value5 = a_units * OPEN[5] + b_units * 2 * OPEN[5]  # account value at bar 5's open
    b_final = value5 / (2 * OPEN[5])  # B gets the whole account: A was sold first
    assert result.final_equity == pytest.approx(b_final * 2 * CLOSE[-1], rel=1e-12)
    assert result.exposure["A"].iloc[-1] == 0.0
    assert result.exposure["B"].iloc[-1] == pytest.approx(1.0, rel=1e-12)
    assert set(result.trades["symbol"]) == {"A", "B"}
    assert len(result.equity) == 10


def test_metrics_use_returns_trades_and_positions_in_force():
    result = run_backtest(ten_bars(), positions(), init_cash=1000.0)
    m = result.metrics()
    for key in (
        "total_return",
        "cagr",
        "sharpe_ratio",
        "sortino_ratio",
        "max_drawdown",
        "n_trades",
    ):
        assert key in m
    assert m["total_return"] == pytest.approx(result.final_equity / 1000.0 - 1, rel=1e-12)
    assert m["n_trades"] == 2
    # next-open: held targets are the decided ones one bar later -> exposed on bars 2-4 and 7-8
    assert m["exposure"] == pytest.approx(5 / 10)
    assert m["turnover"] == pytest.approx(4 / 10)


def test_metrics_of_several_symbols_count_a_hedged_book_as_exposed():
    """Exposure is per symbol (any leg held), never the summed signed target (which is 0 here)."""
    bars = ten_bars()
    other = ten_bars(open_=[2 * x for x in OPEN], close=[2 * x for x in CLOSE])
    legs = [0.0, 0.5, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    pos = pd.DataFrame({"A": legs, "B": [-x for x in legs]}, index=bars.index)
    assert (pos.sum(axis=1) == 0).all()
    result = run_backtest({"A": bars, "B": other}, pos, costs=Costs(fees=0.0), init_cash=1000.0)
    m = result.metrics()
    # next-open: both legs are held at the closes of bars 2, 3 and 4
    assert m["exposure"] == pytest.approx(3 / 10)
    # each leg changes by 0.5 twice: 4 changes of 0.5 over 10 bars
    assert m["turnover"] == pytest.approx(2.0 / 10)
    assert m["n_trades"] == 2  # one closed trade per leg
    assert m["total_return"] == pytest.approx(result.final_equity / 1000.0 - 1, rel=1e-12)


def test_bad_inputs_raise_named_errors():
    bars, pos = ten_bars(), positions()
    with pytest.raises(
        ParameterError, match=r"`execution` must be one of .*did you mean 'next-open'"
    ):
        run_backtest(bars, pos, execution="next_open")
    with pytest.raises(ParameterError, match=r"`direction` must be one of .*'longonly'"):
        run_backtest(bars, pos, direction="long")
    with pytest.raises(ParameterError, match=r"`init_cash` must be finite and > 0, got -5"):
        run_backtest(bars, pos, init_cash=-5)
    bad = pos.copy()
    bad.iloc[3] = np.nan
    with pytest.raises(DataValidationError, match=r"at 2024-01-04 .*in \[-1, 1\], got nan"):
        run_backtest(bars, bad)
    bad.iloc[3] = 1.5
    with pytest.raises(DataValidationError, match=r"got 1.5"):
        run_backtest(bars, bad)
    with pytest.raises(DataValidationError, match="positions index differs"):
        run_backtest(bars, pos.iloc[1:])
    with pytest.raises(DataValidationError, match=r"must have shape \(10,\), got \(9,\)"):
        run_backtest(bars, pos.to_numpy()[1:])
    broken = bars.copy()
    broken.iloc[4, 0] = -1.0
    with pytest.raises(DataValidationError, match=r"column 'open' at 2024-01-05 .* > 0, got -1.0"):
        run_backtest(broken, pos)
    with pytest.raises(DataValidationError, match="several symbols need positions as a DataFrame"):
        run_backtest({"A": bars, "B": bars}, pos)
