"""The book engine against an independent rebuild, against vectorbt, and its rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest.costs import Costs
from backtest.portfolio import BookSettings, limit_exposure, run_book, run_books, vectorbt_book
from data_loaders import DataValidationError, ParameterError, synthetic_universe
from data_loaders.universe import align_universe, close_only_bars


@pytest.fixture(scope="module")
def gappy() -> dict[str, pd.DataFrame]:
    """Four symbols: a late listing, an early delisting and a gap of ten bars."""
    u = synthetic_universe(("A", "B", "C", "D"), 260, seed=3)
    u["B"] = u["B"].iloc[40:]
    u["C"] = u["C"].drop(u["C"].index[100:110])
    u["A"] = u["A"].iloc[:200]
    return u


def _weights(index: pd.DatetimeIndex, m: int, seed: int, gross: float = 0.9) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    w = rng.uniform(-0.5, 1.0, (len(index), m))
    w *= gross / np.abs(w).sum(axis=1, keepdims=True)
    return pd.DataFrame(w, index=index, columns=list("ABCD")[:m])


def rebuild_returns(bars, weights, fee, slip, borrow_per_bar, cash0):
    """Independent rebuild in dollar holdings: weights decided at t's close, filled at t+1's open.

    Written apart from the engine: no share counts, no sorting; a symbol trades only on its own
    bars, holdings are revalued only at its own prices, and its position is sold at its last
    close on the union bar after its data end.
    """
    index = bars[next(iter(bars))].index
    for frame in bars.values():
        index = index.union(frame.index)
    syms = list(bars)
    holding = dict.fromkeys(syms, 0.0)
    last = dict.fromkeys(syms, np.nan)
    cash = cash0
    out = []
    for t, ts in enumerate(index):
        prev_ts = index[t - 1] if t else None
        for s in syms:  # revalue at the open where the symbol has a bar
            if ts in bars[s].index:
                px = bars[s].at[ts, "open"]
                if holding[s] != 0:
                    holding[s] *= px / last[s]
                last[s] = px
        value = cash + sum(holding.values())
        for s in syms:
            frame = bars[s]
            ended = prev_ts is not None and prev_ts == frame.index[-1] and ts > frame.index[-1]
            if ended:
                target = 0.0
            elif ts in frame.index and prev_ts is not None and frame.index[0] <= prev_ts:
                target = weights.at[prev_ts, s]
            else:
                continue
            d = target * value - holding[s]
            cash -= d * (1 + slip) * (1 + fee) if d > 0 else d * (1 - slip) * (1 - fee)
            holding[s] += d
        for s in syms:  # close
            if ts in bars[s].index:
                px = bars[s].at[ts, "close"]
                if holding[s] != 0:
                    holding[s] *= px / last[s]
                last[s] = px
            if holding[s] < 0:
                cash -= borrow_per_bar * -holding[s]
        out.append(cash + sum(holding.values()))
    equity = np.array(out)
    return equity / np.concatenate([[cash0], equity[:-1]]) - 1


def test_book_equals_an_independent_rebuild(gappy):
    uni = align_universe(gappy)
    w = _weights(uni.index, 4, seed=1)
    settings = BookSettings(
        fill="next_open", costs=Costs(fees=0.002, slippage_bps=7), borrow_rate=0.0252
    )
    res = run_book(gappy, w, settings)
    expected = rebuild_returns(gappy, w, 0.002, 7e-4, 0.0252 / 252, settings.init_cash)
    np.testing.assert_allclose(res.returns.to_numpy(), expected, rtol=0, atol=1e-10)
    assert res.stats["borrow_paid"] > 0 and res.stats["fees_paid"] > 0


SETTINGS = {
    "next_open": BookSettings(costs=Costs(fees=0.001, slippage_bps=5)),
    "close": BookSettings(fill="close", costs=Costs(fees=0.0005, fixed_fees=1.0)),
    "monthly": BookSettings(rebalance="monthly", max_gross=1.5, costs=Costs(fees=0.001)),
    "drift": BookSettings(rebalance="monthly", drift=0.05, costs=Costs(fees=0.001)),
    "on_change": BookSettings(rebalance="on_change", fill="next_close"),
    "per_symbol": BookSettings(costs={"A": Costs(fees=0.01), "*": Costs(slippage_bps=20)}),
}


@pytest.mark.parametrize("case", list(SETTINGS))
def test_book_equals_vectorbt_from_orders(gappy, case):
    uni = align_universe(gappy)
    w = _weights(uni.index, 4, seed=2, gross=1.3)  # > 1: scaled, and buys can hit the cash
    if case == "on_change":
        w = w.round(1).clip(lower=0)  # repeated targets: few orders
    res = run_book(gappy, w, SETTINGS[case])
    value = vectorbt_book(res).value().to_numpy()
    np.testing.assert_allclose(value, res.equity.to_numpy(), rtol=1e-9, atol=0)
    assert res.stats["n_orders"] > 10


def test_never_trades_a_missing_bar_and_earns_nothing_there(gappy):
    uni = align_universe(gappy)
    res = run_book(gappy, _weights(uni.index, 4, seed=4), BookSettings())
    tried = res.orders.notna().to_numpy()
    exit_row = uni.last_bar[0] + 1  # A's close-out, at its last close
    allowed = uni.available.copy()
    allowed[exit_row, 0] = True
    assert tried.any() and not (tried & ~allowed).any()
    # C's gap: no order, and its weight moves only with the book (its mark is frozen)
    gap = slice(100, 110)
    assert not tried[gap, 2].any()
    held_c = res.held["C"].to_numpy()[gap]
    value_c = held_c * res.equity.to_numpy()[gap]
    np.testing.assert_allclose(value_c, value_c[0], rtol=1e-12)
    # after A's data end, it holds nothing
    assert (res.held["A"].to_numpy()[exit_row:] == 0).all()
    assert res.held["A"].to_numpy()[exit_row - 1] != 0


def test_late_listing_enters_only_after_its_first_bar(gappy):
    uni = align_universe(gappy)
    w = _weights(uni.index, 4, seed=5)
    res = run_book(gappy, w, BookSettings())
    first_b = uni.first_bar[1]
    assert (res.held["B"].to_numpy()[: first_b + 1] == 0).all()
    assert res.held["B"].to_numpy()[first_b + 1] != 0
    assert any("outside a symbol's listed life" in note for note in res.notes)


def test_exposure_limit_scales_all_weights_and_says_so():
    u = synthetic_universe(("A", "B", "C"), 30, seed=0)
    index = u["A"].index
    w = pd.DataFrame(0.5, index=index, columns=["A", "B", "C"])  # 150 % gross
    res = run_book(u, w, BookSettings(costs=Costs(fees=0.0)))
    targets = res.targets.dropna().to_numpy()
    np.testing.assert_allclose(targets, 1 / 3)  # all three legs, equally: no column-order fill
    assert (np.abs(targets).sum(axis=1) <= 1.0 + 1e-12).all()
    note = [n for n in res.notes if n.startswith("exposure limit")]
    assert note and "30 rows" in note[0] and "0.6667" in note[0]
    # right after the first fill each leg holds a third (fees 0, so nothing is lost)
    first_fill = res.orders.notna().any(axis=1).to_numpy().argmax()
    opens = np.array([u[s]["open"].iloc[first_fill] for s in "ABC"])
    closes = np.array([u[s]["close"].iloc[first_fill] for s in "ABC"])
    value = res.inputs.settings.init_cash * (1 + (closes / opens - 1).mean())
    np.testing.assert_allclose(res.equity.iloc[first_fill], value, rtol=1e-12)


def test_limit_exposure_by_hand():
    w = np.array([[0.6, 0.6, -0.2], [0.2, -0.1, 0.0], [1.0, 1.0, 0.0]])
    scaled, hits, factor = limit_exposure(w, max_gross=1.0, max_net=0.8)
    np.testing.assert_allclose(scaled[0], w[0] / 1.4)  # gross 1.4
    np.testing.assert_allclose(scaled[1], w[1])
    np.testing.assert_allclose(scaled[2], w[2] * 0.4)  # net 2.0 -> 0.8 is the tighter
    assert hits == 2 and factor == pytest.approx(0.4)


def test_monthly_schedule_rebalances_on_the_first_bar_of_each_month():
    u = synthetic_universe(("A", "B"), 120, seed=1)
    w = pd.DataFrame(0.45, index=u["A"].index, columns=["A", "B"])
    res = run_book(u, w, BookSettings(rebalance="monthly"))
    order_days = list(res.orders.dropna(how="all").index)
    index = u["A"].index
    month = [(t.year, t.month) for t in index]
    firsts = [k for k in range(len(index)) if k == 0 or month[k] != month[k - 1]]
    assert order_days == [index[k + 1] for k in firsts]  # decided at the first close, next open
    assert res.stats["n_rebalances"] == len(firsts) == 4


def test_batch_equals_one_book_at_a_time(gappy):
    uni = align_universe(gappy)
    sets = [_weights(uni.index, 4, seed=s, gross=1.2) for s in range(5)]
    settings = BookSettings(costs=Costs(fees=0.001, slippage_bps=3), borrow_rate=0.02)
    batch = run_books(gappy, np.stack([w.to_numpy() for w in sets]), settings, n_threads=2)
    for k, w in enumerate(sets):
        one = run_book(gappy, w, settings)
        np.testing.assert_array_equal(batch.equity[k].to_numpy(), one.equity.to_numpy())
        assert batch.metrics.loc[k, "n_orders"] == one.stats["n_orders"]
    assert batch.metrics.loc[0, "total_return"] == pytest.approx(
        batch.equity[0].iloc[-1] / settings.init_cash - 1, rel=1e-12
    )


def test_close_only_data_fills_at_closes_and_refuses_opens():
    index = pd.date_range("2024-01-01", periods=50, tz="UTC")
    rng = np.random.default_rng(0)
    closes = {
        s: close_only_bars(
            pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 50))), index=index),
            symbol=s,
            source="test",
        )
        for s in ("X", "Y")
    }
    w = pd.DataFrame(0.5, index=index, columns=["X", "Y"])
    with pytest.raises(DataValidationError, match="fill='next_open' needs opens.*close-only"):
        run_book(closes, w, BookSettings(fill="next_open"))
    res = run_book(closes, w, BookSettings(costs=Costs(fees=0.0)))
    assert res.inputs.fill == "next_close" and any("close-only" in n for n in res.notes)
    # filled at bar 1's close: bar 1 earns nothing, bar 2 earns the mean close-to-close move
    c = np.column_stack([closes[s]["close"].to_numpy() for s in ("X", "Y")])
    assert res.returns.iloc[1] == pytest.approx(0.0, abs=1e-15)
    assert res.returns.iloc[2] == pytest.approx(0.5 * (c[2] / c[1] - 1).sum(), rel=1e-12)


def test_bad_settings_are_refused():
    with pytest.raises(ParameterError, match="`rebalance` must be one of.*did you mean 'monthly'"):
        BookSettings(rebalance="montly")
    with pytest.raises(ParameterError, match="`max_gross` must be finite and > 0"):
        BookSettings(max_gross=0)
    u = synthetic_universe(("A", "B"), 20, seed=0)
    w = pd.DataFrame(0.1, index=u["A"].index, columns=["A", "B"])
    with pytest.raises(ParameterError, match="`costs`: no costs for symbol 'B'"):
        run_book(u, w, BookSettings(costs={"A": Costs()}))
    with pytest.raises(DataValidationError, match="weights: unknown symbol 'Z'"):
        run_book(u, w.rename(columns={"B": "Z"}))


def _flat_bars(jump_at: int, n: int = 20) -> dict[str, pd.DataFrame]:
    index = pd.date_range("2024-01-01", periods=n, tz="UTC", name="time")
    a = np.where(np.arange(n) >= jump_at, 130.0, 100.0)
    out = {}
    for sym, close in (("A", a), ("B", np.full(n, 50.0))):
        out[sym] = pd.DataFrame(
            {"open": close, "high": close, "low": close, "close": close, "volume": 1.0},
            index=index,
        )
    return out


@pytest.mark.parametrize(("drift", "expected"), [(0.05, [1, 11]), (0.1, [1]), (None, [1])])
def test_drift_threshold_rebalances_off_schedule(drift, expected):
    bars = _flat_bars(jump_at=11)  # A opens 30 % higher at bar 11: its weight becomes .565
    w = pd.DataFrame(0.5, index=bars["A"].index, columns=["A", "B"])
    settings = BookSettings(rebalance="monthly", drift=drift, costs=Costs(fees=0.0))
    res = run_book(bars, w, settings)
    rows = np.flatnonzero(res.orders.notna().any(axis=1).to_numpy()).tolist()
    assert rows == expected
    if drift == 0.05:
        np.testing.assert_allclose(res.held.iloc[11].to_numpy(), [0.5, 0.5], rtol=1e-12)


def test_momentum_book_on_the_bundled_sp500_20_sample_equals_vectorbt():
    from data_loaders import load_bars
    from strategies.builtin.xs_momentum import XsMomentum

    bars = {s: f.iloc[-900:] for s, f in load_bars("sample:sp500_20").items()}
    weights = XsMomentum(lookback=126, skip=21, k=5).positions(bars)
    settings = BookSettings(rebalance="monthly", costs=Costs(fees=0.001, slippage_bps=2))
    res = run_book(bars, weights, settings)
    assert res.inputs.fill == "next_close"  # close-only data
    assert res.stats["n_rebalances"] >= 30 and res.stats["n_orders"] > 100
    value = vectorbt_book(res).value().to_numpy()
    np.testing.assert_allclose(value, res.equity.to_numpy(), rtol=1e-9, atol=0)
    held = res.held.to_numpy()
    assert ((held > 1e-12).sum(axis=1) <= 5).all() and (held >= -1e-12).all()
