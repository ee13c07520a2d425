"""Leverage against backtesting.py's ``margin=`` on real bundled daily bars.

Conventions that match: market orders at the next open, commission on the notional at entry and
at exit, whole units, a leveraged position financed by a loan (no interest: our financing rates
at 0), equity ``cash + size * close`` at each close, nothing closed at the end
(``finalize_trades=False``), no margin call before equity reaches 0 (our
``maintenance_margin=0``).

Differences, and how the harness lines them up:

* **Sizing.** backtesting.py sizes an order as a fraction (by default all: ``1 - 2**-52``) of
  ``margin_available * leverage`` divided by the price plus the commission per unit; ours sizes
  ``target x equity / price`` units within the buying power ``cash + (L - 1) x equity``. From
  flat, with our target ``t = s x L / (1 + commission)`` (``s = +-1``), both buy (or sell
  short) ``floor(L x equity / (open x (1 + commission)))`` units.
* **Reversals.** backtesting.py sizes the new side of a reversal from the margin left by the
  trade it is closing; the harness's signal passes through flat for one bar between sides.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from backtest import Costs, evaluate_batch, run_backtest
from data_loaders import load_bars


def _sides(bars: pd.DataFrame, short: bool) -> pd.Series:
    """Long above, short (or flat) below the 30-bar mean of a 10-bar mean, flat for one bar
    between the two sides (decided at each close)."""
    c = bars.close
    raw = np.sign(c.rolling(10).mean() - c.rolling(30).mean()).fillna(0.0).to_numpy()
    if not short:
        raw = np.maximum(raw, 0.0)
    side = raw.copy()
    side[1:][raw[1:] * raw[:-1] < 0] = 0.0  # a flip waits one bar flat
    return pd.Series(side, index=bars.index)


def _backtesting_py(bars: pd.DataFrame, side: pd.Series, margin: float, commission: float):
    from backtesting import Backtest, Strategy

    data = bars.rename(columns=str.capitalize)[["Open", "High", "Low", "Close", "Volume"]]
    data.index = data.index.tz_localize(None)
    target = side.to_numpy()

    class Harness(Strategy):
        def init(self):
            pass

        def next(self):
            i = len(self.data) - 1
            prev = target[i - 1] if i > 0 else 0.0
            if target[i] == prev:
                return
            if prev != 0:
                self.position.close()
            elif target[i] > 0:
                self.buy()
            else:
                self.sell()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = Backtest(
            data, Harness, cash=100_000, commission=commission, margin=margin,
            trade_on_close=False, finalize_trades=False,
        ).run()  # fmt: skip
    return stats._equity_curve.Equity.to_numpy(), stats._trades


@pytest.mark.parametrize("leverage", [2.0, 4.0])
@pytest.mark.parametrize("commission", [0.0, 0.001])
@pytest.mark.parametrize(("symbol", "short"), [("sp500", False), ("aapl", True)])
def test_backtesting_py_margin(leverage, commission, symbol, short):
    bars = load_bars(f"sample:{symbol}").iloc[:2500]
    side = _sides(bars, short)
    equity, peer_trades = _backtesting_py(bars, side, 1.0 / leverage, commission)
    target = side * (leverage / (1.0 + commission))
    kw = dict(costs=Costs(fees=commission), whole_units=True, max_leverage=leverage)
    ours = run_backtest(bars, target, **kw)
    np.testing.assert_allclose(ours.equity.to_numpy(), equity, rtol=1e-9)
    assert len(peer_trades) > 20
    closed = ours.trades[ours.trades.status == "closed"]
    np.testing.assert_array_equal(closed["size"], peer_trades.Size.abs()[: len(closed)])
    assert (closed.direction == "short").any() == short
    # the leverage is real: the first trade holds `leverage` times the equity in whole units
    first = ours.trades.iloc[0]
    assert first["size"] == np.floor(100_000 * leverage / (1 + commission) / first.entry_price)
    batch = evaluate_batch(bars.open, bars.close, target.to_numpy(), return_returns=True, **kw)
    np.testing.assert_allclose(100_000 * np.cumprod(1 + batch.returns[:, 0]), equity, rtol=1e-9)
