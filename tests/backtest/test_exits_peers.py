"""The exit layer against backtesting.py and vectorbt on real bundled daily bars.

Conventions that match, and where they differ (documented in :mod:`backtest.exits`):

* backtesting.py (``trade_on_close=False``, ``buy(sl=, tp=)``): market orders at the next open,
  SL/TP active on the entry bar, a gap through SL or TP fills at the open, SL processed before TP
  in one bar. Its ``sl``/``tp`` are prices, so the harness sets them from the next bar's open
  (what our percent levels are relative to). It sizes in whole units (our ``whole_units=True``).
  Two differences: it processes a trade's SL before a market order placed at the previous close
  (the harness clears SL/TP before closing on the signal, so the open fills first, as ours), and
  with a gap through the target and a range through the stop in one bar it fills the stop (ours:
  the target at the open, the first price of the bar).
* vectorbt ``from_signals`` (``stop_entry_price="price"``, ``stop_exit_price="stopmarket"``):
  stops watched from the bar after the entry (our ``entry_bar=False``), the trailing extreme
  learns highs from that bar on after each check. Difference: on a bar where a signal exit fills
  at the open and the range also crosses the stop, vectorbt fills the stop (checked first);
  ours fills the signal at the open.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from backtest import Costs, Exits, evaluate_batch, run_backtest
from data_loaders import load_bars


def _signal(bars: pd.DataFrame) -> pd.Series:
    close = bars.close
    return (close.rolling(10).mean() > close.rolling(30).mean()).astype(float)


def _backtesting_py_equity(bars, signal, sl, tp, commission):
    from backtesting import Backtest, Strategy

    data = bars.rename(columns=str.capitalize)[["Open", "High", "Low", "Close", "Volume"]]
    data.index = data.index.tz_localize(None)
    opens, target = data.Open.to_numpy(), signal.to_numpy()

    class Harness(Strategy):
        def init(self):
            pass

        def next(self):
            i = len(self.data) - 1
            if i + 1 >= len(opens):
                return
            prev = target[i - 1] if i > 0 else 0.0
            if target[i] == 1 and prev == 0 and not self.position:
                entry = opens[i + 1]  # the fill price our percent levels refer to
                self.buy(sl=entry * (1 - sl), tp=entry * (1 + tp) if tp else None)
            elif target[i] == 0:
                for trade in self.trades:
                    trade.sl, trade.tp = None, None  # the open's market exit comes first
                    trade.close()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = Backtest(
            data, Harness, cash=100_000, commission=commission, trade_on_close=False,
            finalize_trades=False,
        ).run()  # fmt: skip
    return stats._equity_curve.Equity.to_numpy(), stats._trades


@pytest.mark.parametrize(("sl", "tp"), [(0.03, None), (0.03, 0.05), (0.02, 0.02)])
@pytest.mark.parametrize("fees", [0.0, 0.001])
def test_backtesting_py_stop_and_target(sl, tp, fees):
    bars = load_bars("sample:sp500")
    signal = _signal(bars)
    equity, peer_trades = _backtesting_py_equity(bars, signal, sl, tp, fees)
    exits = Exits(stop_loss=sl, take_profit=tp)
    ours = run_backtest(bars, signal, exits=exits, costs=Costs(fees=fees), whole_units=True)
    np.testing.assert_allclose(ours.equity.to_numpy(), equity, rtol=1e-9)
    closed = ours.trades[ours.trades.status == "closed"]
    np.testing.assert_allclose(closed.exit_price, peer_trades.ExitPrice[: len(closed)], rtol=1e-12)
    reasons = set(closed.exit_reason)
    assert {"stop", "signal"} <= reasons and (tp is None or "target" in reasons)
    batch = evaluate_batch(
        bars.open, bars.close, signal.to_numpy(), high=bars.high, low=bars.low, exits=exits,
        costs=Costs(fees=fees), whole_units=True,
    )  # fmt: skip
    assert batch.metrics.final_equity[0] == pytest.approx(equity[-1], rel=1e-9)


def _vectorbt(bars, signal, fees, slippage, **stops):
    import vectorbt as vbt

    change = signal.diff()
    entries = (change > 0).shift(1, fill_value=False).to_numpy()  # filled at the next open
    exits = (change < 0).shift(1, fill_value=False).to_numpy()
    return vbt.Portfolio.from_signals(
        close=bars.close, entries=entries, exits=exits, open=bars.open, high=bars.high,
        low=bars.low, price=bars.open, fees=fees, slippage=slippage, init_cash=100_000,
        stop_entry_price="price", stop_exit_price="stopmarket", freq=None, **stops,
    )  # fmt: skip


CASES = [
    ({"sl_stop": 0.03}, {"stop_loss": 0.03}),
    ({"sl_stop": 0.03, "tp_stop": 0.05}, {"stop_loss": 0.03, "take_profit": 0.05}),
    ({"sl_stop": 0.04, "sl_trail": True}, {"trailing_stop": 0.04}),
]


@pytest.mark.parametrize(("peer", "mine"), CASES)
@pytest.mark.parametrize(("fees", "slippage"), [(0.0, 0.0), (0.001, 0.0005)])
def test_vectorbt_stops_on_aapl(peer, mine, fees, slippage):
    bars = load_bars("sample:aapl")
    signal = _signal(bars)
    pf = _vectorbt(bars, signal, fees, slippage, **peer)
    exits = Exits(**mine, entry_bar=False)
    costs = Costs(fees=fees, slippage_bps=slippage * 1e4)
    ours = run_backtest(bars, signal, exits=exits, costs=costs)
    np.testing.assert_allclose(ours.equity.to_numpy(), pf.value().to_numpy(), rtol=1e-9)
    assert len(ours.trades) == len(pf.trades.records)
    assert (ours.trades.exit_reason != "signal").sum() > 10  # the stops did the work
    batch = evaluate_batch(
        bars.open, bars.close, signal.to_numpy(), high=bars.high, low=bars.low, exits=exits,
        costs=costs,
    )  # fmt: skip
    assert batch.metrics.final_equity[0] == pytest.approx(ours.final_equity, rel=1e-12)


def test_vectorbt_differs_only_where_documented_on_sp500():
    bars = load_bars("sample:sp500")
    signal = _signal(bars)
    pf = _vectorbt(bars, signal, 0.0, 0.0, sl_stop=0.03)
    ours = run_backtest(
        bars, signal, exits=Exits(stop_loss=0.03, entry_bar=False), costs=Costs(0.0)
    )
    theirs = pf.value().to_numpy()
    diff = np.abs(ours.equity.to_numpy() - theirs) / theirs
    k = int(np.argmax(diff > 1e-9))
    assert k > 800  # hundreds of bars and dozens of stops agree first
    np.testing.assert_allclose(ours.equity.to_numpy()[:k], theirs[:k], rtol=1e-9)
    # bar k: our signal exit at the open; vectorbt's stop, inside the same bar, below the open
    trade = ours.trades[ours.trades.exit_bar == k].iloc[0]
    assert trade.exit_reason == "signal" and trade.exit_price == bars.open.iloc[k]
    stop = trade.entry_price * 0.97
    assert bars.low.iloc[k] <= stop < bars.open.iloc[k]
    peer = pf.trades.records_readable
    assert peer.loc[peer["Exit Timestamp"] == bars.index[k], "Avg Exit Price"].iloc[0] == (
        pytest.approx(stop)
    )
