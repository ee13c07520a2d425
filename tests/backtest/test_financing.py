"""Leverage, margin calls, financing, funding and fixed notional: hand cases on both engines
(the batch kernel and the reference ledger of run_backtest), and the two against each other and
against vectorbt on real bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest import Costs, Execution, evaluate_batch, run_backtest
from backtest.financing import funding_per_bar
from data_loaders import load_bars
from data_loaders.errors import DataValidationError, ParameterError

NO_FEES = Costs(fees=0.0)


def _bars(open_, close=None) -> pd.DataFrame:
    open_ = np.asarray(open_, dtype=np.float64)
    close = open_ if close is None else np.asarray(close, dtype=np.float64)
    idx = pd.date_range("2024-01-01", periods=len(open_), freq="D", tz="UTC")
    return pd.DataFrame(
        {"open": open_, "high": np.maximum(open_, close), "low": np.minimum(open_, close),
         "close": close}, index=idx,
    )  # fmt: skip


def _both(bars, positions, **kw):
    """(reference result, batch metrics row, batch returns) of one configuration."""
    ref = run_backtest(bars, pd.Series(positions, index=bars.index, dtype=float), **kw)
    res = evaluate_batch(bars.open, bars.close, np.asarray(positions, dtype=float),
                         return_returns=True, **kw)  # fmt: skip
    return ref, res.metrics.iloc[0], res.returns[:, 0]


def test_leverage_two_hand_case():
    # target 2 decided at bar 0's close fills at bar 1's open (100): 2,000 units on 100,000
    # equity, cash -100,000 (a loan); equity = -100,000 + 2,000 * close
    bars = _bars([100, 100, 110, 90], [100, 105, 120, 95])
    ref, row, ret = _both(bars, [2, 2, 2, 2], costs=NO_FEES, max_leverage=2)
    want = np.array([100_000, -100_000 + 2000 * 105, -100_000 + 2000 * 120, -100_000 + 2000 * 95])
    np.testing.assert_allclose(ref.equity.to_numpy(), want, rtol=1e-12)
    assert row.final_equity == pytest.approx(want[-1], rel=1e-12)
    np.testing.assert_allclose(ret, want / np.r_[100_000, want[:-1]] - 1, rtol=1e-10)
    assert ref.exposure.iloc[1] == pytest.approx(2000 * 105 / want[1])
    assert ref.portfolio is None and len(ref.to_html()) > 1000  # the tearsheet needs no portfolio


def test_leveraged_buy_reduced_to_buying_power_with_fees():
    # buying power = cash + (L - 1) * equity = 100 + 200 = 300; 3 units at 100 with 1 % fees
    # need 303, so the size is 300 / 1.01 / 100 and the cash left is 100 - 300 = -200
    bars = _bars([100, 100, 100], [100, 100, 100])
    ref, row, _ = _both(bars, [3, 3, 3], costs=Costs(fees=0.01), max_leverage=3, init_cash=100)
    size = 300 / 1.01 / 100
    assert ref.trades["size"].iloc[0] == pytest.approx(size, rel=1e-12)
    assert ref.final_equity == pytest.approx(-200 + size * 100, rel=1e-12)
    assert row.final_equity == pytest.approx(-200 + size * 100, rel=1e-12)
    assert row.fees_paid == pytest.approx(size * 100 * 0.01, rel=1e-12)


def test_margin_call_closes_at_the_close_and_blocks_reentry():
    # 3 units at 100 on 100 cash (cash -200). Bar 2 closes at 80: equity 40 < 0.25 * 240 = 60,
    # so the position closes at 80 (equity 40, trade pnl -60, reason margin). The target stays
    # 3 on bars 2-3 (no re-entry), turns 0 on bar 4 and 3 again on bar 5: re-entry at bar 6's
    # open (50): 40 * 3 / 50 = 2.4 units; equity at bar 6's close (55) = 40 + 2.4 * 5 = 52.
    bars = _bars([100, 100, 95, 70, 60, 60, 50], [100, 100, 80, 70, 60, 60, 55])
    pos = [3, 3, 3, 3, 0, 3, 3]
    kw = dict(costs=NO_FEES, max_leverage=3, maintenance_margin=0.25, init_cash=100)
    ref, row, _ = _both(bars, pos, **kw)
    np.testing.assert_allclose(ref.equity.to_numpy(), [100, 100, 40, 40, 40, 40, 52], rtol=1e-12)
    first = ref.trades.iloc[0]
    assert (first.exit_bar, first.exit_price, first.exit_reason) == (2, 80.0, "margin")
    assert first.pnl == pytest.approx(-60.0)
    assert ref.trades.iloc[1].entry_bar == 6 and ref.trades.iloc[1]["size"] == pytest.approx(2.4)
    assert row.final_equity == pytest.approx(52.0, rel=1e-12)
    assert row.n_trades == 2 and row.n_orders == 3
    with_exits = evaluate_batch(bars.open, bars.close, np.asarray(pos, float), high=bars.high,
                                low=bars.low, exits=__import__("backtest").Exits(), **kw)  # fmt: skip
    assert with_exits.exit_reasons.loc[0, "margin"] == 1


def test_margin_call_fill_pays_fees():
    # same book with 1 % fees at the call: 300/1.01/100 units bought, sold at 80 with 1 % fee
    bars = _bars([100, 100, 95], [100, 100, 80])
    kw = dict(costs=Costs(fees=0.01), max_leverage=3, maintenance_margin=0.25, init_cash=100)
    ref, row, _ = _both(bars, [3, 3, 3], **kw)
    size = 300 / 1.01 / 100
    want = -200 + size * 80 * 0.99
    assert ref.final_equity == pytest.approx(want, rel=1e-12)
    assert row.final_equity == pytest.approx(want, rel=1e-12)


def test_borrow_fee_and_cash_interest_on_a_short():
    # per-bar rates with rates_per_year=10: borrow 1 %, cash 0.5 %. Bar 0 (flat): cash 1,000
    # earns 5. Bar 1: short 1,005 / 100 = 10.05 units at 100 (cash 2,010); at the close the
    # borrow fee is 0.01 * 10.05 * 100, then the cash earns 0.5 %; equity = cash - 10.05 * 100.
    bars = _bars([100, 100, 100], [100, 100, 100])
    costs = Costs(fees=0.0, borrow_rate=0.1, cash_rate=0.05)
    kw = dict(costs=costs, init_cash=1000, rates_per_year=10)
    ref, row, _ = _both(bars, [-1, -1, -1], **kw)
    cash = 1000 * 1.005
    units = cash / 100
    eq = [cash]
    for _ in range(2):
        cash = cash + units * 100 if len(eq) == 1 else cash
        cash = (cash - 0.01 * units * 100) * 1.005
        eq.append(cash - units * 100)
    np.testing.assert_allclose(ref.equity.to_numpy(), eq, rtol=1e-12)
    assert row.final_equity == pytest.approx(eq[-1], rel=1e-12)


def test_debit_interest_on_borrowed_cash():
    # L=2: 2,000 units at 100 on 100,000 (cash -100,000); 1 % per bar debit at each close
    bars = _bars([100, 100, 100], [100, 100, 100])
    costs = Costs(fees=0.0, debit_rate=0.1, cash_rate=0.5)
    ref, row, _ = _both(bars, [2, 2, 2], costs=costs, max_leverage=2, rates_per_year=10)
    eq0 = 100_000 * 1.05  # flat on bar 0: cash earns 5 %
    cash = eq0 - 2 * eq0
    eq = [eq0]
    for _ in range(2):
        cash *= 1.01
        eq.append(cash + 2 * eq0)
    np.testing.assert_allclose(ref.equity.to_numpy(), eq, rtol=1e-12)
    assert row.final_equity == pytest.approx(eq[-1], rel=1e-12)


def test_funding_rates_charged_at_the_bar_holding_their_time():
    bars = _bars([100, 100, 100, 100], [100, 100, 100, 100])
    idx = bars.index
    rates = pd.Series([0.001, 0.002, -0.003, 0.5],
                      index=[idx[1] + pd.Timedelta(hours=8), idx[1] + pd.Timedelta(hours=16),
                             idx[3], idx[0] - pd.Timedelta(days=1)])  # fmt: skip
    per_bar = funding_per_bar(rates, idx, 4)
    np.testing.assert_allclose(per_bar, [0, 0.003, 0, -0.003])
    # long 1,000 units from bar 1's open: pays 0.3 % of 100,000 at bar 1, receives 0.3 % at bar 3
    ref, row, _ = _both(bars, [1, 1, 1, 1], costs=NO_FEES, funding=rates)
    np.testing.assert_allclose(ref.equity.to_numpy(), [1e5, 99_700, 99_700, 1e5], rtol=1e-12)
    assert row.final_equity == pytest.approx(1e5, rel=1e-12)
    short, srow, _ = _both(bars, [-1, -1, -1, -1], costs=NO_FEES, funding=rates)
    assert short.equity.iloc[1] == pytest.approx(100_300) and srow.final_equity == pytest.approx(
        1e5
    )


def test_fixed_notional_sizing():
    # a target of 0.5 with notional 10,000 buys 50 units at 100, whatever the equity; moving
    # to 1 at 120 holds 10,000 / 120 units (one trade, 33.33 units added)
    bars = _bars([100, 100, 120, 120], [100, 110, 120, 130])
    ref, row, _ = _both(bars, [0.5, 0.5, 1, 1], costs=NO_FEES, notional=10_000)
    assert list(ref.trades["size"]) == pytest.approx([10_000 / 120])
    want = 100_000 + 50 * 30 + (10_000 / 120 - 50) * 10
    assert ref.final_equity == pytest.approx(want) and row.final_equity == pytest.approx(want)


def test_targets_beyond_the_leverage_are_refused():
    bars = _bars([100, 100], [100, 100])
    with pytest.raises(DataValidationError, match=r"in \[-2, 2\], got 2.5"):
        run_backtest(bars, pd.Series([2.5, 0], index=bars.index), max_leverage=2)
    with pytest.raises(DataValidationError, match=r"in \[-1, 1\], got 2.0"):
        evaluate_batch(bars.open, bars.close, np.array([2.0, 0.0]))
    with pytest.raises(ParameterError, match=r"`max_leverage` must be in \[1, 100\], got 0.5"):
        evaluate_batch(bars.open, bars.close, np.zeros(2), max_leverage=0.5)
    with pytest.raises(ParameterError, match="Costs: `borrow_rate` must be finite, >= 0"):
        Costs(borrow_rate=-0.01)


def test_execution_carries_the_settings():
    ex = Execution(max_leverage=2.0, whole_units=True, costs=Costs(cash_rate=0.02))
    kw = ex.engine_kwargs()
    assert kw["max_leverage"] == 2.0 and kw["whole_units"] is True
    assert kw["rates_per_year"] == 252.0 and "notional" not in kw
    assert set(Execution().engine_kwargs()) == {"costs", "execution", "direction", "init_cash"}
    assert ex.to_dict()["costs"]["cash_rate"] == 0.02
    assert Costs().to_dict() == {"fees": 0.001, "fixed_fees": 0.0, "slippage_bps": 0.0}
    with pytest.raises(ParameterError, match="`maintenance_margin` must be in"):
        Execution(maintenance_margin=1.5)


@pytest.fixture(scope="module")
def sp500():
    bars = load_bars("sample:sp500")
    fast, slow = bars.close.rolling(10).mean(), bars.close.rolling(40).mean()
    return bars, np.sign(fast - slow).fillna(0.0)


@pytest.mark.parametrize(
    "kw",
    [
        dict(max_leverage=2.0, scale=2.0),
        dict(max_leverage=3.0, maintenance_margin=0.3, scale=3.0),
        dict(notional=40_000.0, whole_units=True),
        dict(execution="close", max_leverage=1.5, scale=1.5),
    ],
)
def test_batch_matches_reference_on_real_bars(sp500, kw):
    bars, signal = sp500
    kw = dict(kw)
    pos = signal * kw.pop("scale", 1.0)
    costs = Costs(fees=0.001, fixed_fees=1.0, slippage_bps=3, borrow_rate=0.03, cash_rate=0.02,
                  debit_rate=0.05)  # fmt: skip
    ref = run_backtest(bars, pos, costs=costs, **kw)
    res = evaluate_batch(bars.open, bars.close, pos.to_numpy(), costs=costs,
                         return_returns=True, **kw)  # fmt: skip
    np.testing.assert_allclose(res.returns[:, 0], ref.returns.to_numpy(), rtol=0, atol=1e-9)
    metrics = ref.metrics()
    for name in ("sharpe_ratio", "max_drawdown", "n_trades", "win_rate", "turnover", "exposure"):
        assert res.metrics[name].iloc[0] == pytest.approx(metrics[name], rel=1e-9, abs=1e-12)


def test_reference_ledger_matches_vectorbt_without_leverage(sp500):
    # a margin limit no book reaches routes run_backtest through the ledger; with leverage 1 it
    # must reproduce vectorbt's from_orders arithmetic (the plain path)
    bars, signal = sp500
    costs = Costs(fees=0.002, fixed_fees=2.0, slippage_bps=5)
    plain = run_backtest(bars, signal, costs=costs)
    ledger = run_backtest(bars, signal, costs=costs, maintenance_margin=1e-6)
    assert ledger.portfolio is None and plain.portfolio is not None
    np.testing.assert_allclose(ledger.equity.to_numpy(), plain.equity.to_numpy(), rtol=1e-9)
    cols = ["entry_bar", "exit_bar", "size", "entry_price", "exit_price", "fees", "pnl"]
    np.testing.assert_allclose(ledger.trades[cols].to_numpy(float),
                               plain.trades[cols].to_numpy(float), rtol=1e-9)  # fmt: skip
    assert list(ledger.trades.status) == list(plain.trades.status)


def test_fixed_notional_matches_vectorbt_target_value(sp500):
    import vectorbt as vbt

    from backtest.engine import order_targets

    bars, signal = sp500
    costs = Costs(fees=0.001, slippage_bps=2)
    ref = run_backtest(bars, signal * 0.8, costs=costs, notional=50_000)
    size = order_targets(pd.DataFrame({"c": signal * 0.8 * 50_000}), "next-open")["c"]
    pf = vbt.Portfolio.from_orders(
        close=bars.close, size=size, size_type="targetvalue", price=bars.open,
        val_price=bars.open, fees=0.001, slippage=2e-4, init_cash=100_000, freq=None,
        direction="both", lock_cash=False,
    )  # fmt: skip
    np.testing.assert_allclose(ref.equity.to_numpy(), pf.value().to_numpy(), rtol=1e-9)


def test_half_spread_per_side_on_every_path():
    # 20 bps quoted spread: a buy fills at 100 * 1.001; 1,000 units do not fit 100,000 of cash,
    # so the buy is reduced to 100,000 / 100.1 units (the plain vectorbt path and the kernel)
    bars = _bars([100, 100, 110], [100, 105, 110])
    costs = Costs(fees=0.0, spread_bps=20)
    assert costs.slippage == pytest.approx(0.001)
    ref, row, _ = _both(bars, [1, 1, 1], costs=costs)
    assert ref.portfolio is not None  # the spread alone keeps the vectorbt path
    assert ref.trades.entry_price.iloc[0] == pytest.approx(100.1)
    assert ref.final_equity == pytest.approx(100_000 / 100.1 * 110, rel=1e-12)
    assert row.final_equity == pytest.approx(100_000 / 100.1 * 110, rel=1e-12)


def test_minimum_fee_and_asymmetric_fees():
    bars = _bars([100, 100, 110, 110], [100, 100, 110, 110])
    # 5 units bought at 100 (fee 0.5 -> the 5 minimum), sold at 110 (fee 0.55 -> 5)
    costs = Costs(fees=0.001, min_fee=5.0)
    ref, row, _ = _both(bars, [0.5, 0.5, 0, 0], costs=costs, init_cash=1000)
    assert ref.final_equity == pytest.approx(1000 - 500 - 5 + 550 - 5, rel=1e-12)
    assert row.final_equity == pytest.approx(1040, rel=1e-12) and row.fees_paid == pytest.approx(10)
    # a buy of all the cash pays the minimum fee too: (1,000 - 5) / 100 units
    ref, row, _ = _both(bars, [1, 1, 1, 1], costs=costs, init_cash=1000)
    assert ref.trades["size"].iloc[0] == pytest.approx(9.95) and row.fees_paid == pytest.approx(5)
    # 0.1 % on buys, 0.3 % on sells: 500 units at 100 (fee 50), sold at 110 (fee 165)
    costs = Costs(fees=0.001, sell_fees=0.003)
    ref, row, _ = _both(bars, [0.5, 0.5, 0, 0], costs=costs)
    want = 100_000 - 50 + 500 * 10 - 165
    assert ref.final_equity == pytest.approx(want, rel=1e-12)
    assert row.final_equity == pytest.approx(want, rel=1e-12)
    assert list(ref.trades.fees) == pytest.approx([215.0])


def test_volume_participation_carries_the_rest():
    # 10 units wanted, at most half of each bar's volume (10 -> 5 units): 5 units at bar 1's open
    # (target in force 0.5), the other 5 at bar 2's; then selling 10 at bar 4 takes two bars too
    bars = _bars([100, 100, 100, 100, 100, 100], [100, 100, 100, 100, 100, 100])
    bars["volume"] = 10.0
    pos = [1, 1, 1, 0, 0, 0]
    kw = dict(costs=NO_FEES, init_cash=1000, participation=0.5)
    ref = run_backtest(bars, pd.Series(pos, index=bars.index, dtype=float), **kw)
    res = evaluate_batch(bars.open, bars.close, np.asarray(pos, float), volume=bars.volume, **kw)
    np.testing.assert_allclose(ref.positions_in_force.to_numpy(), [0, 0.5, 1, 1, 0.5, 0])
    # one exit trade per exit order (vectorbt's convention): two of 5 units, at bars 4 and 5
    assert list(ref.trades["size"]) == [5.0, 5.0] and list(ref.trades.exit_bar) == [4, 5]
    row = res.metrics.iloc[0]
    assert row.n_orders == 4 and row.turnover == pytest.approx(2.0 / 6)
    assert ref.metrics()["turnover"] == pytest.approx(2.0 / 6)
    with pytest.raises(ParameterError, match="`participation` needs the bars' `volume`"):
        evaluate_batch(bars.open, bars.close, np.asarray(pos, float), participation=0.5)


def test_participation_matches_between_engines_on_real_bars(sp500):
    bars, signal = sp500
    kw = dict(costs=Costs(fees=0.001), participation=1e-8, max_leverage=2.0)
    ref = run_backtest(bars, signal * 2, **kw)
    res = evaluate_batch(bars.open, bars.close, (signal * 2).to_numpy(), volume=bars.volume,
                         return_returns=True, **kw)  # fmt: skip
    changes = int((signal.diff().fillna(signal) != 0).sum())
    assert res.metrics.n_orders.iloc[0] > changes + 100  # the limit binds: orders carried
    np.testing.assert_allclose(res.returns[:, 0], ref.returns.to_numpy(), rtol=0, atol=1e-9)


def test_vol_target_above_one_runs_with_engine_leverage(sp500):
    from backtest.sizing import vol_target

    bars, signal = sp500
    pos = vol_target(signal, bars.close, target_vol=0.5, max_leverage=2.0)
    assert pos.abs().max() == pytest.approx(2.0)  # the cap binds on calm stretches
    with pytest.raises(DataValidationError, match=r"in \[-1, 1\], got"):
        evaluate_batch(bars.open, bars.close, pos.to_numpy())
    res = evaluate_batch(bars.open, bars.close, pos.to_numpy(), max_leverage=2.0,
                         return_returns=True)  # fmt: skip
    ref = run_backtest(bars, pos, max_leverage=2.0)
    np.testing.assert_allclose(res.returns[:, 0], ref.returns.to_numpy(), rtol=0, atol=1e-9)
