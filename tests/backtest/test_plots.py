"""Tests of backtest/plots.py: monthly table, rolling Sharpe, buy-and-hold and the price markers,
each against a computation written here by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from backtest import plots
from data_loaders.errors import ParameterError


def _returns(n: int = 300, seed: int = 1) -> pd.Series:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2021-01-04", periods=n, freq="B", tz="UTC")
    return pd.Series(rng.normal(0.0005, 0.01, n), index=index)


def test_monthly_and_yearly_returns_compound_the_bars_of_each_period():
    r = _returns()
    r.iloc[5] = np.nan  # a missing return compounds as 0
    table = plots.monthly_returns(r)
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    assert list(table.columns) == [*months, "Year"]
    for (year, month), expected in _by_hand(r, monthly=True).items():
        assert table.loc[year, table.columns[month - 1]] == pytest.approx(expected, rel=1e-12)
    for year, expected in _by_hand(r, monthly=False).items():
        assert table.loc[year, "Year"] == pytest.approx(expected, rel=1e-12)
    first_year = table.loc[2021]
    assert not first_year.isna().any()


def _by_hand(r: pd.Series, monthly: bool) -> dict:
    out: dict = {}
    for stamp, value in r.items():
        key = (stamp.year, stamp.month) if monthly else stamp.year
        value = 0.0 if math.isnan(value) else value
        out[key] = out.get(key, 1.0) * (1.0 + value)
    return {k: v - 1.0 for k, v in out.items()}


def test_monthly_table_leaves_months_without_bars_empty():
    r = _returns(40)  # Jan 4 .. late Feb 2021
    table = plots.monthly_returns(r)
    assert list(table.index) == [2021]
    assert table.loc[2021, "Jan"] == pytest.approx(_by_hand(r, True)[(2021, 1)])
    assert table.loc[2021, ["Apr", "May", "Dec"]].isna().all()
    assert table.loc[2021, "Year"] == pytest.approx(float(np.prod(1 + r.to_numpy()) - 1))


def test_rolling_sharpe_equals_a_loop_over_windows():
    r = _returns(120)
    window, ppy = 30, 252
    got = plots.rolling_sharpe(r, window, ppy)
    assert got.iloc[: window - 1].isna().all()
    for end in range(window, len(r) + 1, 7):
        chunk = r.to_numpy()[end - window : end]
        expected = chunk.mean() / chunk.std(ddof=1) * math.sqrt(ppy)
        assert got.iloc[end - 1] == pytest.approx(expected, rel=1e-9)
    flat = pd.Series(np.zeros(40), index=r.index[:40])
    assert plots.rolling_sharpe(flat, 10).isna().all()  # zero deviation: NaN, not inf
    with pytest.raises(ParameterError, match="window"):
        plots.rolling_sharpe(r, 1)


def test_buy_and_hold_is_an_equal_weight_hold_from_the_first_close():
    index = pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC")
    close = pd.DataFrame({"A": [10.0, 20.0, 5.0], "B": [100.0, 100.0, 300.0]}, index=index)
    got = plots.buy_and_hold(close, 1000.0)
    # half the cash in each: 500 * (p / p0) summed
    assert got.tolist() == pytest.approx([1000.0, 500 * 2 + 500 * 1, 500 * 0.5 + 500 * 3])
    single = plots.buy_and_hold(close["A"], 10.0)
    assert single.tolist() == pytest.approx([10.0, 20.0, 5.0])


def _trades(with_reason: bool) -> pd.DataFrame:
    index = pd.date_range("2024-01-01", periods=10, freq="D", tz="UTC")
    t = pd.DataFrame(
        {
            "symbol": ["X"] * 3,
            "direction": ["long", "short", "long"],
            "status": ["closed", "closed", "open"],
            "entry_time": index[[1, 4, 7]],
            "exit_time": index[[3, 6, 9]],
            "entry_price": [10.0, 11.0, 12.0],
            "exit_price": [10.5, 10.0, 12.5],
        }
    )
    if with_reason:
        t["exit_reason"] = ["stop_loss", "signal", None]
    return t


def test_price_figure_marks_entries_and_exits_at_their_fills():
    close = pd.Series(np.linspace(10, 12, 10), index=_trades(False)["entry_time"].iloc[0]
                      + pd.to_timedelta(np.arange(-1, 9), "D"), name="X")  # fmt: skip
    fig = plots.price_figure(close, _trades(False))
    by_name = {tr.name: tr for tr in fig.data}
    assert set(by_name) == {"X", "entry long", "entry short", "exit"}
    assert list(by_name["entry long"].y) == [10.0, 12.0]
    assert list(by_name["entry short"].y) == [11.0]
    assert list(by_name["exit"].y) == [10.5, 10.0]  # the open trade has no exit marker
    fig = plots.price_figure(close, _trades(True))
    names = [tr.name for tr in fig.data]
    assert "exit: signal" in names and "exit: stop_loss" in names and "exit" not in names
    stop = next(tr for tr in fig.data if tr.name == "exit: stop_loss")
    assert list(stop.y) == [10.5]
