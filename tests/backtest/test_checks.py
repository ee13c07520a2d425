"""Issue 11 items 6, 13, 14 on every engine path: misaligned positions, extreme prices, wiped-out books."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from backtest import Costs, Exits, evaluate_batch, run_backtest
from data_loaders import load_bars
from data_loaders.errors import DataValidationError


def _bars(close: np.ndarray) -> pd.DataFrame:
    index = pd.date_range("2021-01-01", periods=len(close), freq="D", tz="UTC")
    open_ = np.r_[close[0], close[:-1]]
    return pd.DataFrame(
        {"open": open_, "high": np.maximum(open_, close) * 1.001,
         "low": np.minimum(open_, close) * 0.999, "close": close, "volume": 1.0},
        index=index,
    )  # fmt: skip


STOP_HALF = Exits(stop_loss=0.5)


def _paths(bars, pos, ex=STOP_HALF, **kw):
    """Every engine path on the same input, by name (the exit layer ``ex`` on two of them)."""
    return {
        "reference": lambda: run_backtest(bars, pos, **kw),
        "reference+exits": lambda: run_backtest(bars, pos, exits=ex, **kw),
        "batch": lambda: evaluate_batch(bars.open, bars.close, pos, **kw),
        "batch+exits": lambda: evaluate_batch(
            bars.open, bars.close, pos, high=bars.high, low=bars.low, exits=ex, **kw
        ),
    }


def test_positions_shifted_by_a_year_are_refused_on_every_path():
    bars = load_bars("sample:sp500").iloc[:600]
    signal = (bars.close.rolling(5).mean() > bars.close.rolling(20).mean()).astype(float)
    shifted = signal.copy()
    shifted.index = shifted.index + pd.Timedelta(days=365)
    for name, run in _paths(bars, shifted).items():
        with pytest.raises(DataValidationError, match="positions index differs from the bars") as e:
            run()
        assert "\n" not in str(e.value), name
    frame = shifted.to_frame()  # a DataFrame of one set, and a chunk iterator
    with pytest.raises(DataValidationError, match=r"at row 0 \(position 2000"):
        evaluate_batch(bars.open, bars.close, frame)
    with pytest.raises(DataValidationError, match="positions chunk 0"):
        evaluate_batch(bars.open, bars.close, iter([frame]), index=bars.index)


@pytest.mark.parametrize("scale", [1e15, 1e300])
def test_prices_too_high_for_the_cash_are_refused_on_every_path(scale):
    bars = _bars(np.linspace(1.0, 2.0, 30)) * scale
    bars["volume"] = 1.0
    pos = pd.Series(1.0, index=bars.index)
    for name, run in _paths(bars, pos).items():
        with pytest.raises(DataValidationError, match="below the minimum order size 1e-08") as e:
            run()
        assert "rescale the prices or raise init_cash" in str(e.value), name


def test_prices_too_low_overflow_and_whole_units_warn():
    bars = _bars(np.linspace(1.0, 2.0, 30)) * 1e-300
    bars["volume"] = 1.0
    pos = pd.Series(1.0, index=bars.index)
    for run in _paths(bars, pos).values():
        with pytest.raises(DataValidationError, match="overflow"):
            run()
    dear = _bars(np.linspace(200_000.0, 210_000.0, 30))  # one unit costs more than the cash
    with pytest.warns(RuntimeWarning, match="cannot buy one unit"):
        result = evaluate_batch(dear.open, dear.close, np.ones(30), whole_units=True)
    assert result.metrics.n_orders[0] == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # fractional units: no warning
        evaluate_batch(dear.open, dear.close, np.ones(30))


def test_a_wiped_out_book_is_closed_out_and_bounded_on_every_path():
    # short AAPL through its rally: equity would go deeply negative
    bars = load_bars("sample:aapl")
    pos = pd.Series(-1.0, index=bars.index)
    costs = Costs(fees=0.001)
    ref = run_backtest(bars, pos, costs=costs)
    k = bars.index.get_loc(ref.liquidated_at)
    # independent check: short 1 unit per (cash / open) at bar 1's open; the close where
    # cash_after_sale - units * close first reaches <= 0
    units = 100_000.0 / bars.open.iloc[1]
    cash = 100_000.0 + units * bars.open.iloc[1] * (1 - 0.001)
    first = int(np.argmax((cash - units * bars.close.to_numpy()) <= 0))
    assert k == first
    # a take-profit far below a short's entry never fills: the exit layer does not interfere
    for name, run in _paths(bars, pos, ex=Exits(take_profit=0.9), costs=costs).items():
        result = run()
        if name.startswith("batch"):
            assert result.liquidated_at.tolist() == [k], name
            assert result.metrics.max_drawdown[0] == -1.0 and result.metrics.final_equity[0] == 0
            if result.exit_reasons is not None:
                assert result.exit_reasons.margin[0] == 1
        else:
            assert result.liquidated_at == bars.index[k], name
            assert result.equity.min() == 0.0 and result.returns.min() == -1.0
            assert result.metrics()["max_drawdown"] == -1.0
            assert result.trades.exit_reason.iloc[-1] == "margin"
            assert result.trades.exit_bar.max() == k


def test_no_close_out_without_a_wipe_out():
    bars = load_bars("sample:sp500").iloc[:300]
    pos = pd.Series(-1.0, index=bars.index)
    assert run_backtest(bars, pos).liquidated_at is None
    assert evaluate_batch(bars.open, bars.close, pos.to_numpy()).liquidated_at.tolist() == [-1]
