"""Hand-computed cases of every exit fill rule, each checked on both engine paths.

Bars are written out by hand (price 100, 1,000 cash, no costs unless stated, so 10 units per
full-equity trade); expected fills and equity are worked out in the comments, apart from the code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest import EXIT_REASONS, Costs, Exits, evaluate_batch, run_backtest
from backtest.exits import atr
from data_loaders.errors import DataValidationError, ParameterError


def _bars(rows: list[tuple[float, float, float, float]]) -> pd.DataFrame:
    index = pd.date_range("2024-01-01", periods=len(rows), freq="D", tz="UTC")
    frame = pd.DataFrame(rows, columns=["open", "high", "low", "close"], index=index)
    frame["volume"] = 1.0
    return frame


FLAT = (100.0, 101.0, 99.0, 100.0)


def _both(bars, targets, exits, **kw):
    """Run the reference path and the batch path; assert they agree; return the reference."""
    pos = pd.Series(np.asarray(targets, dtype=float), index=bars.index)
    kw = {"init_cash": 1000.0, "costs": Costs(fees=0.0), **kw}
    ref = run_backtest(bars, pos, exits=exits, **kw)
    batch = evaluate_batch(
        bars.open, bars.close, pos.to_numpy(), high=bars.high, low=bars.low, exits=exits,
        return_returns=True, **kw,
    )  # fmt: skip
    np.testing.assert_allclose(batch.returns[:, 0], ref.returns.to_numpy(), rtol=0, atol=1e-12)
    m = ref.metrics()
    for name in ("n_trades", "exposure", "turnover", "win_rate", "max_drawdown"):
        assert batch.metrics[name][0] == pytest.approx(m[name], nan_ok=True), name
    closed = ref.trades[ref.trades.status == "closed"]
    counts = closed.exit_reason.value_counts()
    for reason, n in batch.exit_reasons.iloc[0].items():
        assert n == counts.get(reason, 0), reason
    return ref


def _only_trade(ref):
    assert len(ref.trades) == 1, ref.trades
    return ref.trades.iloc[0]


def test_stop_loss_touched_fills_at_the_stop():
    # entry at bar 1's open (100); stop 95; bar 2 trades down to 94 -> filled at 95
    bars = _bars([FLAT, FLAT, (100, 100, 94, 96), FLAT])
    ref = _both(bars, [1, 1, 1, 1], Exits(stop_loss=0.05))
    trade = _only_trade(ref)
    assert (trade.entry_bar, trade.exit_bar, trade.exit_price) == (1, 2, 95.0)
    assert trade.exit_reason == "stop"
    assert ref.equity.tolist() == [1000.0, 1000.0, 950.0, 950.0]


def test_gap_through_the_stop_fills_at_the_open():
    bars = _bars([FLAT, FLAT, (93, 94, 90, 92), FLAT])
    trade = _only_trade(_both(bars, [1, 1, 1, 1], Exits(stop_loss=0.05)))
    assert (trade.exit_bar, trade.exit_price, trade.exit_reason) == (2, 93.0, "stop")


def test_gap_through_the_target_fills_at_the_open():
    bars = _bars([FLAT, FLAT, (108, 110, 90, 109), FLAT])  # open above the 105 target
    trade = _only_trade(_both(bars, [1, 1, 1, 1], Exits(stop_loss=0.05, take_profit=0.05)))
    assert (trade.exit_price, trade.exit_reason) == (108.0, "target")


@pytest.mark.parametrize(
    ("intrabar", "price", "reason"),
    [("conservative", 95.0, "stop"), ("optimistic", 105.0, "target")],
)
def test_stop_and_target_in_one_bar(intrabar, price, reason):
    bars = _bars([FLAT, FLAT, (100, 106, 94, 100), FLAT])
    exits = Exits(stop_loss=0.05, take_profit=0.05, intrabar=intrabar)
    ref = _both(bars, [1, 1, 1, 1], exits)
    trade = _only_trade(ref)
    assert (trade.exit_bar, trade.exit_price, trade.exit_reason) == (2, price, reason)
    assert ref.final_equity == pytest.approx(10 * price)


def test_trailing_stop_ratchets_on_closed_bars_only():
    # trail 10 % behind the highest high of closed bars, starting at the entry (100):
    # bar 1 (entry bar): level 90; its high 110 moves the level to 99 from bar 2 on;
    # bar 2 trades 100..120: level 99 holds (its own high counts only after its close) -> 108;
    # bar 3 low 107 <= 108 -> filled at 108
    bars = _bars([FLAT, (100, 110, 100, 108), (108, 120, 100, 115), (112, 113, 107, 110), FLAT])
    ref = _both(bars, [1, 1, 1, 1, 1], Exits(trailing_stop=0.10))
    trade = _only_trade(ref)
    assert (trade.exit_bar, trade.exit_price, trade.exit_reason) == (3, 108.0, "trail")
    assert ref.final_equity == pytest.approx(1080.0)


def test_time_stop_and_reentry_modes():
    bars = _bars([FLAT] * 6)
    # held 2 closes (bars 1 and 2) -> closed at bar 3's open; after-reset: no re-entry
    ref = _both(bars, [1] * 6, Exits(time_stop=2))
    trade = _only_trade(ref)
    assert (trade.entry_bar, trade.exit_bar, trade.exit_reason) == (1, 3, "time")
    assert ref.in_force.tolist() == [0, 1, 1, 0, 0, 0]
    # immediate: the decision at bar 3's close re-enters at bar 4's open
    ref = _both(bars, [1] * 6, Exits(time_stop=2, reentry="immediate"))
    assert ref.trades.entry_bar.tolist() == [1, 4]
    assert ref.trades.exit_reason.iloc[0] == "time"
    assert pd.isna(ref.trades.exit_reason.iloc[1])  # still open


def test_no_reentry_after_a_stop_until_the_signal_resets():
    bars = _bars([FLAT, FLAT, (100, 100, 94, 96), FLAT, FLAT, FLAT, FLAT, FLAT])
    # stopped at bar 2; target still 1 on bars 2-3 (blocked), 0 on bar 4, 1 again from bar 5
    ref = _both(bars, [1, 1, 1, 1, 0, 1, 1, 1], Exits(stop_loss=0.05))
    assert ref.trades.entry_bar.tolist() == [1, 6]
    assert ref.trades.exit_reason.iloc[0] == "stop"
    assert pd.isna(ref.trades.exit_reason.iloc[1])


def test_break_even_moves_the_stop_to_the_entry():
    # entry 100, stop 90; bar 1's high 106 >= 105 -> stop at 100 from bar 2; bar 2 low 99 -> 100
    bars = _bars([FLAT, (100, 106, 100, 104), (103, 104, 99, 101), FLAT])
    trade = _only_trade(_both(bars, [1, 1, 1, 1], Exits(stop_loss=0.10, break_even=0.05)))
    assert (trade.exit_bar, trade.exit_price, trade.exit_reason) == (2, 100.0, "stop")


def test_short_stop_above_the_entry():
    # short 10 units at 100: cash 2,000; stop 105 hit at bar 2 -> equity 2,000 - 10 * 105
    bars = _bars([FLAT, FLAT, (100, 106, 99, 104), FLAT])
    ref = _both(bars, [-1, -1, -1, -1], Exits(stop_loss=0.05))
    trade = _only_trade(ref)
    assert (trade.direction, trade.exit_price, trade.exit_reason) == ("short", 105.0, "stop")
    assert ref.final_equity == pytest.approx(950.0)


def test_fills_at_the_close_watch_from_the_next_bar():
    # entry at bar 0's close (100): bar 0's range (low 90) is before the entry and cannot hit
    bars = _bars([(100, 101, 90, 100), (100, 100, 94, 97), FLAT])
    trade = _only_trade(_both(bars, [1, 1, 1], Exits(stop_loss=0.05), execution="close"))
    assert (trade.entry_bar, trade.exit_bar, trade.exit_price) == (0, 1, 95.0)


def test_entry_bar_rule():
    bars = _bars([FLAT, (100, 101, 94, 100), (100, 100, 96, 99), (98, 99, 94, 96), FLAT])
    # default: the entry bar's low 94 hits the 95 stop at once
    trade = _only_trade(_both(bars, [1] * 5, Exits(stop_loss=0.05)))
    assert (trade.exit_bar, trade.exit_price) == (1, 95.0)
    # entry_bar=False (vectorbt's rule): watched from bar 2; bar 3 hits it
    trade = _only_trade(_both(bars, [1] * 5, Exits(stop_loss=0.05, entry_bar=False)))
    assert (trade.exit_bar, trade.exit_price) == (3, 95.0)


def test_signal_exit_at_the_open_comes_before_the_bar_range():
    bars = _bars([FLAT, FLAT, FLAT, (99, 100, 90, 95), FLAT])
    trade = _only_trade(_both(bars, [1, 1, 0, 0, 0], Exits(stop_loss=0.05)))
    assert (trade.exit_bar, trade.exit_price, trade.exit_reason) == (3, 99.0, "signal")


def test_atr_stop_and_slippage():
    # constant range 2 -> ATR(3) = 2 from bar 2; decision at bar 2's close, entry at bar 3's open
    # stop 100 - 2 * 2 = 96; slippage 10 bps: bought at 100.1, sold at 96 * 0.999
    bars = _bars([FLAT, FLAT, FLAT, FLAT, (99, 100, 95, 97), FLAT])
    exits = Exits(stop_loss_atr=2.0, atr_window=3)
    ref = _both(bars, [0, 0, 1, 1, 1, 1], exits, costs=Costs(fees=0.0, slippage_bps=10))
    trade = _only_trade(ref)
    assert trade.exit_price == pytest.approx(96 * 0.999)
    assert ref.final_equity == pytest.approx(1000 / 100.1 * 96 * 0.999)
    assert atr(bars.high, bars.low, bars.close, 3)[:3].tolist()[2] == 2.0


def test_a_sweep_over_stop_levels_matches_single_runs():
    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, 300)))
    open_ = np.concatenate(([100.0], close[:-1])) * np.exp(rng.normal(0, 0.005, 300))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.02, 300))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.02, 300))
    bars = pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close},
        index=pd.date_range("2020-01-01", periods=300, freq="D", tz="UTC"),
    )
    signal = (pd.Series(close).rolling(5).mean() > pd.Series(close).rolling(20).mean()).to_numpy()
    grid = [Exits(stop_loss=s, take_profit=t) for s in (0.01, 0.03) for t in (0.02, 0.06)]
    batch = evaluate_batch(
        open_, close, np.repeat(signal[:, None].astype(float), len(grid), axis=1),
        high=high, low=low, exits=grid,
    )  # fmt: skip
    singles = [run_backtest(bars, signal.astype(float), exits=e).final_equity for e in grid]
    np.testing.assert_allclose(batch.metrics.final_equity, singles, rtol=1e-12)
    assert len(set(np.round(singles, 6))) == len(grid)  # the levels matter


def test_truncating_future_bars_leaves_past_fills_unchanged():
    from data_loaders import load_bars

    bars = load_bars("sample:sp500").iloc[:800]
    signal = (bars.close.rolling(10).mean() > bars.close.rolling(30).mean()).astype(float)
    exits = Exits(stop_loss=0.02, take_profit=0.03, trailing_stop=0.04, time_stop=15)
    full = run_backtest(bars, signal, exits=exits).equity
    for cut in (300, 555):
        part = run_backtest(bars.iloc[:cut], signal.iloc[:cut], exits=exits).equity
        np.testing.assert_array_equal(part.to_numpy(), full.to_numpy()[:cut])


def test_bad_exit_settings_are_one_line_errors():
    with pytest.raises(ParameterError, match=r"`stop_loss` must be in \(0, 1\)"):
        Exits(stop_loss=1.5)
    with pytest.raises(ParameterError, match="`time_stop` must be an integer >= 1"):
        Exits(time_stop=0)
    with pytest.raises(ParameterError, match="did you mean 'optimistic'"):
        Exits(intrabar="optimistc")
    with pytest.raises(ParameterError, match="unknown parameter 'stop_los'"):
        Exits.from_params({"stop_los": 0.1})
    bars = _bars([FLAT] * 3)
    with pytest.raises(ParameterError, match="needs the bars' `high` and `low`"):
        evaluate_batch(bars.open, bars.close, np.ones(3), exits=Exits(stop_loss=0.1))
    with pytest.raises(ParameterError, match="one atr_window"):
        evaluate_batch(
            bars.open, bars.close, np.ones((3, 2)), high=bars.high, low=bars.low,
            exits=[Exits(stop_loss_atr=1, atr_window=5), Exits(stop_loss_atr=1, atr_window=7)],
        )  # fmt: skip
    broken = bars.copy()
    broken.loc[broken.index[1], "high"] = 99.5  # below the close
    with pytest.raises(DataValidationError, match="must have low <= open, close <= high"):
        run_backtest(broken, np.ones(3), exits=Exits(stop_loss=0.1))


@pytest.mark.parametrize(
    "exits",
    [
        Exits(stop_loss=0.02, take_profit=0.04),
        Exits(trailing_stop=0.03, time_stop=20),
        Exits(stop_loss_atr=2, take_profit_atr=3, break_even=0.01, reentry="immediate"),
        Exits(stop_loss=0.02, take_profit=0.03, intrabar="optimistic", entry_bar=False),
        Exits(trailing_stop_atr=2.5, stop_loss=0.05, break_even=0.02, time_stop=40),
    ],
)
@pytest.mark.parametrize("execution", ["next-open", "close"])
def test_batch_equals_reference_on_real_bars(exits, execution):
    from data_loaders import load_bars

    bars = load_bars("sample:sp500")
    fast, slow = bars.close.rolling(10).mean(), bars.close.rolling(40).mean()
    signal = (fast > slow).astype(float) - (fast < slow).astype(float)  # long/short
    costs = Costs(fees=0.001, slippage_bps=5)
    ref = run_backtest(bars, signal, exits=exits, execution=execution, costs=costs)
    batch = evaluate_batch(
        bars.open, bars.close, signal.to_numpy(), high=bars.high, low=bars.low, exits=exits,
        execution=execution, costs=costs, return_returns=True,
    )  # fmt: skip
    np.testing.assert_allclose(batch.returns[:, 0], ref.returns.to_numpy(), rtol=0, atol=1e-12)
    m = ref.metrics()
    for name in ("n_trades", "win_rate", "profit_factor", "exposure", "turnover", "sharpe_ratio"):
        assert batch.metrics[name][0] == pytest.approx(m[name], rel=1e-9), name
    counts = ref.trades.exit_reason.value_counts()
    assert batch.exit_reasons.iloc[0].to_dict() == {r: counts.get(r, 0) for r in EXIT_REASONS}
    assert counts.get("signal", 0) < counts.sum()  # the exit rules closed trades
