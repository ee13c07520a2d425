"""Priced orders (limit and stop at a price the strategy sets): hand-computed fills in both
engines, the batch kernel against the reference on real bars, errors, and lookahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest import Costs, Exits, check_lookahead, evaluate_batch, run_backtest
from data_loaders import load_bars
from data_loaders.errors import DataValidationError, ParameterError
from strategies.base import Strategy
from strategies.params import Int

CASH = 100_000.0
NO_FEES = Costs(fees=0.0)


def _bars(rows: list[tuple[float, float, float, float]]) -> pd.DataFrame:
    idx = pd.date_range("2024-01-01", periods=len(rows), freq="D", tz="UTC")
    o, h, lo, c = (np.array(col, dtype=float) for col in zip(*rows))
    return pd.DataFrame({"open": o, "high": h, "low": lo, "close": c, "volume": 1.0}, index=idx)


def _both(bars, pos, prices, **kw):
    """The reference run and the batch kernel's final equity (asserted equal)."""
    kw.setdefault("costs", NO_FEES)
    pos = pd.Series(pos, index=bars.index, dtype=float)
    prices = pd.Series(prices, index=bars.index, dtype=float)
    ref = run_backtest(bars, pos, order_prices=prices, **kw)
    batch = evaluate_batch(
        bars.open, bars.close, pos.to_numpy(), high=bars.high, low=bars.low,
        order_prices=prices.to_numpy(), **kw,
    )  # fmt: skip
    assert batch.metrics.final_equity[0] == pytest.approx(ref.equity.iloc[-1], rel=1e-12)
    assert batch.metrics.n_orders[0] == ref.portfolio.orders.count()
    return ref


# bars: open, high, low, close; bar 0 decides the order, bar 1 fills it (or not)
FLAT = (100.0, 101.0, 99.0, 100.0)
N = np.nan


@pytest.mark.parametrize(
    ("target", "order_type", "price", "bar1", "fill"),
    [
        # limit buy: touched -> the limit; gap through (open below) -> the open
        (1.0, "limit", 98.0, (100.0, 101.0, 97.0, 99.0), 98.0),
        (1.0, "limit", 98.0, (96.0, 99.0, 95.0, 97.0), 96.0),
        # stop buy: touched -> the stop; gap through (open above) -> the open
        (1.0, "stop", 102.0, (100.0, 103.0, 99.0, 102.5), 102.0),
        (1.0, "stop", 102.0, (104.0, 106.0, 103.0, 105.0), 104.0),
        # limit sell (short entry): touched -> the limit; gap (open above) -> the open
        (-1.0, "limit", 102.0, (100.0, 103.0, 99.0, 101.0), 102.0),
        (-1.0, "limit", 102.0, (104.0, 105.0, 103.0, 104.0), 104.0),
        # stop sell (short entry): touched -> the stop; gap (open below) -> the open
        (-1.0, "stop", 98.0, (100.0, 101.0, 97.0, 98.5), 98.0),
        (-1.0, "stop", 98.0, (95.0, 96.0, 94.0, 95.0), 95.0),
    ],
)
def test_fill_rules(target, order_type, price, bar1, fill):
    bars = _bars([FLAT, bar1, FLAT])
    res = _both(bars, [target, target, target], [price, N, N], order_type=order_type)
    trade = res.trades.iloc[0]
    assert (trade.entry_bar, trade.entry_price) == (1, fill)
    assert trade.direction == ("long" if target > 0 else "short")
    assert trade["size"] == pytest.approx(CASH / fill, rel=1e-12)
    # equity at bar 1's close: the units bought at the fill, marked at the close
    close1 = bar1[3]
    assert res.equity.iloc[1] == pytest.approx(CASH + target * CASH / fill * (close1 - fill))


@pytest.mark.parametrize(
    ("target", "order_type", "price", "bar1"),
    [
        (1.0, "limit", 98.0, (100.0, 101.0, 98.5, 99.0)),  # low above the limit
        (1.0, "stop", 102.0, (100.0, 101.5, 99.0, 101.0)),  # high below the stop
        (-1.0, "limit", 102.0, (100.0, 101.5, 99.0, 101.0)),
        (-1.0, "stop", 98.0, (100.0, 101.0, 98.5, 99.0)),
    ],
)
def test_not_touched_persists_or_cancels(target, order_type, price, bar1):
    # bar 2 reaches the price; the strategy keeps the target and the same price
    bar2 = (100.0, 105.0, 95.0, 100.0)
    bars = _bars([FLAT, bar1, bar2, FLAT])
    pos, prices = [target] * 4, [price] * 4
    persist = _both(bars, pos, prices, order_type=order_type, unfilled="persist")
    assert list(persist.trades.entry_bar) == [2]
    assert persist.trades.entry_price.iloc[0] == price
    assert persist.equity.iloc[1] == CASH  # nothing filled on bar 1
    cancel = _both(bars, pos, prices, order_type=order_type, unfilled="cancel")
    assert len(cancel.trades) == 0 and (cancel.equity == CASH).all()
    assert (cancel.positions_in_force == 0).all()


def test_cancelled_target_comes_back_after_a_change():
    # limit buy at 98 not reached on bar 1 (cancelled); the target changes to 0.5 at bar 1's
    # close (a new order, limit 99, reached on bar 2), then back to 1 at bar 3's close (limit
    # 97, reached on bar 4)
    bars = _bars([FLAT, (100, 101, 98.5, 100), (100, 101, 98, 100), FLAT, (100, 101, 96, 100)])
    res = _both(
        bars, [1.0, 0.5, 0.5, 1.0, 1.0], [98, 99, 99, 97, N], unfilled="cancel"
    )  # fmt: skip
    orders = res.portfolio.orders.records_readable
    assert list(orders["Price"]) == [99.0, 97.0]
    assert res.positions_in_force.tolist() == [0.0, 0.0, 0.5, 0.5, 1.0]


def test_persisting_order_takes_the_latest_price_and_nan_is_a_market_order():
    # limit 98 not reached on bar 1; re-priced at 99 for bar 2 (not reached: low 99.5); NaN at
    # bar 2's close: a market order at bar 3's open
    bars = _bars([FLAT, (100, 101, 98.5, 100), (100, 101, 99.5, 100), (101, 102, 100, 101)])
    res = _both(bars, [1.0] * 4, [98, 99, N, N])
    assert res.trades.entry_bar.tolist() == [3] and res.trades.entry_price.iloc[0] == 101.0
    res = _both(bars, [1.0] * 4, [98, 99.5, N, N])  # 99.5 reached on bar 2
    assert res.trades.entry_bar.tolist() == [2] and res.trades.entry_price.iloc[0] == 99.5


def test_priced_exit_and_reversal():
    # long at the open of bar 1 (market), a limit sell at 103 to go flat (reached on bar 2),
    # then a limit sell at 98.5 opening a short (bar 3 opens at 98, its high 99 reaches it)
    bars = _bars([FLAT, FLAT, (101, 104, 100, 102), (98, 99, 97, 98), FLAT])
    res = _both(
        bars, [1.0, 0.0, -1.0, -1.0, -1.0], [N, 103, 98.5, N, N], costs=Costs(fees=0.001)
    )  # fmt: skip
    t = res.trades
    assert t.direction.tolist() == ["long", "short"]
    assert t.entry_price.tolist() == [100.0, 98.5] and t.exit_price.iloc[0] == 103.0
    assert res.portfolio.orders.records_readable["Price"].tolist() == [100.0, 103.0, 98.5]
    # a stop sell at 99 reverses long -> short in one order; bar 3 gaps below it: the open
    res = _both(bars, [1.0, 1.0, -1.0, -1.0, -1.0], [N, N, 99, N, N], order_type="stop")
    assert res.trades.direction.tolist() == ["long", "short"]
    assert res.portfolio.orders.records_readable["Price"].tolist() == [100.0, 98.0]


def test_exit_levels_start_from_the_fill_and_the_next_bar():
    # limit buy at 98 filled on bar 1 whose low (96) is below the 2 % stop (96.04): the entry
    # bar does not trigger it; bar 2 does (low 95), at the stop level 98 * 0.98
    bars = _bars([FLAT, (100, 101, 96, 99), (99, 100, 95, 96), FLAT])
    res = _both(bars, [1.0] * 4, [98, N, N, N], exits=Exits(stop_loss=0.02))
    t = res.trades.iloc[0]
    assert (t.entry_bar, t.entry_price, t.exit_bar, t.exit_reason) == (1, 98.0, 2, "stop")
    assert t.exit_price == pytest.approx(98.0 * 0.98)


def test_batch_equals_reference_on_real_bars():
    bars = load_bars("sample:aapl").iloc[:1500]
    c = bars.close
    sets, prices, exits = [], [], []
    for k, (fast, slow) in enumerate([(5, 20), (10, 30), (20, 60), (3, 15)]):
        diff = c.rolling(fast).mean() - c.rolling(slow).mean()
        pos = np.sign(diff).fillna(0.0)
        off = 0.003 * (k + 1)
        sets.append(pos.to_numpy())
        prices.append(np.where(pos > 0, c * (1 - off), c * (1 + off)))  # better than the close
        exits.append(Exits(stop_loss=0.05, take_profit=0.08) if k % 2 else Exits())
    pos, px = np.stack(sets, axis=1), np.stack(prices, axis=1)
    px[::7] = np.nan  # some market orders
    costs = Costs(fees=0.001, slippage_bps=5)
    for order_type in ("limit", "stop"):
        for unfilled in ("persist", "cancel"):
            kw = dict(order_type=order_type, unfilled=unfilled, costs=costs)
            batch = evaluate_batch(
                bars.open, bars.close, pos, high=bars.high, low=bars.low, order_prices=px,
                exits=exits, return_returns=True, **kw,
            )  # fmt: skip
            for j in range(pos.shape[1]):
                ref = run_backtest(
                    bars, pd.Series(pos[:, j], index=bars.index), exits=exits[j],
                    order_prices=pd.Series(px[:, j], index=bars.index), **kw,
                )  # fmt: skip
                np.testing.assert_allclose(batch.returns[:, j], ref.returns, rtol=0, atol=1e-12)
                assert batch.metrics.n_orders[j] == ref.portfolio.orders.count() > 10
                assert batch.metrics.n_trades[j] == len(ref.trades)


def test_priced_orders_change_the_fills():
    bars = load_bars("sample:sp500").iloc[:800]
    pos = np.sign(bars.close.diff(5)).fillna(0.0).to_numpy()
    market = evaluate_batch(bars.open, bars.close, pos, high=bars.high, low=bars.low)
    nan = evaluate_batch(
        bars.open, bars.close, pos, high=bars.high, low=bars.low,
        order_prices=np.full(len(pos), np.nan),
    )  # fmt: skip
    assert nan.metrics.final_equity[0] == market.metrics.final_equity[0]
    limit = evaluate_batch(
        bars.open, bars.close, pos, high=bars.high, low=bars.low,
        order_prices=(bars.close * (1 - 0.01 * np.sign(pos + 1e-9))).to_numpy(),
    )  # fmt: skip
    assert limit.metrics.n_orders[0] < market.metrics.n_orders[0]


def test_errors():
    bars = _bars([FLAT] * 4)
    pos = np.ones(4)
    kw = dict(high=bars.high, low=bars.low)
    with pytest.raises(ParameterError, match="`order_type` must be one of 'limit', 'stop'"):
        evaluate_batch(bars.open, bars.close, pos, order_prices=pos * 99, order_type="lmt", **kw)
    with pytest.raises(ParameterError, match="`unfilled` must be one of 'persist', 'cancel'"):
        run_backtest(bars, pos, order_prices=pos * 99, unfilled="keep")
    with pytest.raises(ParameterError, match="need execution='next-open', got 'close'"):
        evaluate_batch(bars.open, bars.close, pos, order_prices=pos, execution="close", **kw)
    with pytest.raises(DataValidationError, match="set 0 at bar 2 must be a price > 0 or NaN"):
        evaluate_batch(bars.open, bars.close, pos, order_prices=[99, 99, -1, 99], **kw)
    with pytest.raises(DataValidationError, match=r"must have shape \(4, 1\)"):
        evaluate_batch(bars.open, bars.close, pos, order_prices=np.ones((4, 2)), **kw)
    with pytest.raises(ParameterError, match="`order_prices` needs the bars' `high` and `low`"):
        evaluate_batch(bars.open, bars.close, pos, order_prices=pos * 99)


class _PullbackLimit(Strategy):
    """Long above the 5-bar mean, entering with a limit 1 % under the close."""

    name = "pullback_limit_test"
    peek = False
    window = Int(2, 20, default=5)

    def positions(self, bars, features=None):
        c = bars.close
        return (c > c.rolling(self.window).mean()).astype(float)

    def order_prices(self, bars, features=None):
        if self.peek:  # the next bar's low: a limit that always fills at its best (lookahead)
            return bars.low.shift(-1).fillna(bars.close)
        return bars.close * 0.99


def test_strategy_api_and_lookahead():
    bars = load_bars("sample:sp500").iloc[:400]
    strat = _PullbackLimit()
    kw = strat.order_kwargs(bars)
    assert kw["order_type"] == "limit" and kw["unfilled"] == "persist"
    res = run_backtest(bars, strat.positions(bars), **kw)
    batch = _PullbackLimit.batch_order_prices(bars, [{}, {}])
    np.testing.assert_array_equal(batch[:, 1], (bars.close * 0.99).to_numpy())
    assert Strategy.batch_order_prices(bars, [{}]) is None

    def in_force(s):
        return lambda b: run_backtest(b, s.positions(b), **s.order_kwargs(b)).positions_in_force

    # the fills use bar t+1's range only: the position in force is causal
    assert check_lookahead(in_force(strat), bars, n_cuts=8).ok
    limit = bars.close.shift(1).loc[res.trades.entry_time].to_numpy() * 0.99
    assert (res.trades.entry_price.to_numpy() <= limit).all() and len(limit) > 5
    # a price that reads the next bar is caught by the check the runs use (positions and
    # prices), and not by one of the positions alone
    from strategies.guard import decisions

    assert check_lookahead(decisions(strat), bars, n_cuts=8).ok
    peek = _PeekLimit()
    rep = check_lookahead(decisions(peek), bars, n_cuts=8)
    assert not rep.ok and rep.column == "order_price" and "lookahead at bar" in rep.message
    assert rep.full_value == bars.low.iloc[rep.bad_position + 1]
    assert check_lookahead(peek.positions, bars, n_cuts=8).ok


class _PeekLimit(_PullbackLimit):
    name = "peek_limit_test"
    peek = True


def test_run_lookahead_check_covers_order_prices():
    from research.run.lookahead import _check_one

    bars = load_bars("sample:sp500").iloc[:400]
    assert _check_one(_PullbackLimit, bars, None, 0)["status"] == "ok"
    leak = _check_one(_PeekLimit, bars, None, 0)
    assert leak["status"] == "leak" and "[order_price]" in leak["message"]


@pytest.mark.parametrize("keep_state", [False, True])
def test_search_evaluation_uses_the_order_prices(keep_state):
    # the search's batch path (and its one-set fallback) simulate the strategy's priced orders
    from research.optimize.evaluate import EvalContext, EvalTask, _one_set, run_task

    bars = load_bars("sample:sp500").iloc[:600]
    params = ({"window": 5}, {"window": 12})
    task = EvalTask(
        numbers=(0, 1), params=params, stop=600, windows=((100, 600),), keep_state=keep_state
    )
    ctx = EvalContext(_PullbackLimit, bars, None, "next-open")
    got, _ = run_task(ctx, task)
    for j, p in enumerate(params):
        s = _PullbackLimit(**p)
        ref = evaluate_batch(
            bars.open, bars.close, s.positions(bars).to_numpy(), high=bars.high, low=bars.low,
            start=100, stop=600, order_prices=s.order_prices(bars).to_numpy(),
        )  # fmt: skip
        market = evaluate_batch(
            bars.open, bars.close, s.positions(bars).to_numpy(), start=100, stop=600
        )
        want = ref.metrics.iloc[0]
        assert got[j].metrics[0]["final_equity"] == want.final_equity
        assert want.final_equity != market.metrics.final_equity[0]
        one = _one_set(ctx, task, j)
        assert one.metrics[0]["final_equity"] == want.final_equity


def test_champion_backtest_uses_the_order_prices():
    from backtest import Execution
    from research.judge.reevaluate import window_backtest

    bars = load_bars("sample:sp500").iloc[:600]
    s = _PullbackLimit(window=5)
    res, lo = window_backtest(Execution(), _PullbackLimit, {"window": 5}, (100, 600), bars=bars,
                              fit=None)  # fmt: skip
    batch = evaluate_batch(
        bars.open, bars.close, s.positions(bars).to_numpy(), high=bars.high, low=bars.low,
        start=100, stop=600, order_prices=s.order_prices(bars).to_numpy(),
    )  # fmt: skip
    assert res.equity.iloc[-1] == pytest.approx(batch.metrics.final_equity[0], rel=1e-9)
    limit = (bars.close.shift(1) * 0.99).loc[res.trades.entry_time].to_numpy()
    assert (res.trades.entry_price.to_numpy() <= limit).all() and len(limit) > 5


def test_backtest_command_uses_the_order_prices(tmp_path, capsys):
    import json

    from research.cli import main

    src = tmp_path / "pullback.py"
    src.write_text(
        "from strategies.base import Strategy\n"
        "from strategies.params import Int\n\n\n"
        "class Pullback(Strategy):\n"
        "    window = Int(2, 20, default=5)\n"
        "    order_type = 'stop'\n\n"
        "    def positions(self, bars, features=None):\n"
        "        c = bars.close\n"
        "        return (c > c.rolling(self.window).mean()).astype(float)\n\n"
        "    def order_prices(self, bars, features=None):\n"
        "        return bars.close * 1.002\n"
    )
    code = main(["backtest", "--data", "sample:sp500", "--strategy", f"{src}:Pullback", "--json"])
    assert code == 0
    got = json.loads(capsys.readouterr().out)
    bars = load_bars("sample:sp500")
    c = bars.close
    pos = (c > c.rolling(5).mean()).astype(float).to_numpy()
    want = evaluate_batch(
        bars.open, bars.close, pos, high=bars.high, low=bars.low, order_prices=(c * 1.002),
        order_type="stop",
    )  # fmt: skip
    assert got["final_equity"] == pytest.approx(want.metrics.final_equity[0], rel=1e-12)
    assert got["n_orders"] == want.metrics.n_orders[0]
    assert got["final_equity"] != evaluate_batch(bars.open, c, pos).metrics.final_equity[0]
