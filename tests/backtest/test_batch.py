"""Tests of backtest/batch.py (and its kernel backtest/_sim_nb.py).

The batch path must agree with the vectorbt engine (run_backtest) to 1e-9 relative on final
equity, and its in-kernel metrics must equal backtest.metrics on the returns it simulates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest.batch import BATCH_METRICS, evaluate_batch
from backtest.costs import Costs
from backtest.engine import run_backtest, targets_portfolio
from backtest.kernel_output import frame_of_columns
from backtest.metric_table import names_of
from backtest.metrics import compute_metrics
from data_loaders.errors import DataValidationError, ParameterError
from tests.conftest import make_bars

RETURNS_KEYS = names_of("returns")
TRADE_KEYS = ("n_trades", "win_rate", "profit_factor", "expectancy", "exposure", "turnover")


def random_targets(
    n_bars: int, n_sets: int, seed: int, levels=(-1.0, -0.5, 0.0, 0.3, 1.0)
) -> np.ndarray:
    """Piecewise-constant targets: each bar changes target with probability 0.15."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n_bars, n_sets))
    for j in range(n_sets):
        change = rng.random(n_bars) < 0.15
        values = rng.choice(levels, n_bars)
        current = 0.0
        for i in range(n_bars):
            if change[i]:
                current = values[i]
            out[i, j] = current
    return out


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return make_bars(300, seed=7, vol=0.02)


@pytest.fixture(scope="module")
def targets(bars) -> np.ndarray:
    return random_targets(len(bars), 4, seed=11)


CASES = [
    ("next-open", Costs(fees=0.0), False),
    ("next-open", Costs(fees=0.001, fixed_fees=2.0, slippage_bps=10), False),
    ("next-open", Costs(fees=0.002, fixed_fees=1.0, slippage_bps=5), True),
    ("close", Costs(fees=0.001, fixed_fees=2.0, slippage_bps=10), False),
    ("close", Costs(fees=0.0005), True),
]


@pytest.mark.parametrize("execution,costs,whole_units", CASES)
def test_agrees_with_vectorbt_engine(bars, targets, execution, costs, whole_units):
    batch = evaluate_batch(
        bars["open"],
        bars["close"],
        targets,
        costs=costs,
        execution=execution,
        whole_units=whole_units,
        init_cash=10_000.0,
        return_returns=True,
    )
    for j in range(targets.shape[1]):
        ref = run_backtest(
            bars,
            pd.Series(targets[:, j], index=bars.index),
            costs=costs,
            execution=execution,
            whole_units=whole_units,
            init_cash=10_000.0,
        )
        row = batch.metrics.iloc[j]
        assert row["final_equity"] == pytest.approx(ref.final_equity, rel=1e-9)
        np.testing.assert_allclose(
            batch.returns[:, j], ref.returns.to_numpy(), rtol=1e-9, atol=1e-12
        )
        expected = ref.metrics()
        for key in RETURNS_KEYS + TRADE_KEYS:
            assert row[key] == pytest.approx(expected[key], rel=1e-9, abs=1e-12, nan_ok=True), key
        assert row["n_orders"] == len(ref.portfolio.orders.values)
        assert row["fees_paid"] == pytest.approx(
            ref.portfolio.orders.values["fees"].sum(), rel=1e-9
        )


def test_sma_grid_agrees_with_one_multi_column_vectorbt_call():
    """The benchmark's 90-set SMA grid: batch path vs the vectorbt path, 1e-9 on final equity."""
    from strategies.builtin.sma_cross import SmaCross

    data = make_bars(1200, seed=3, vol=0.015)
    sets = [{"fast": f, "slow": s} for f in range(5, 55, 5) for s in range(20, 220, 20) if f < s]
    pos = SmaCross.batch_positions(data, sets)
    costs = Costs(fees=0.001)
    batch = evaluate_batch(data["open"], data["close"], pos, costs=costs)
    targets = pd.DataFrame(pos, index=data.index, columns=pd.RangeIndex(len(sets)))
    # one price Series each, broadcast by vectorbt across the 90 columns
    pf = targets_portfolio(data["open"], data["close"], targets, costs=costs, init_cash=100_000.0)
    expected = pf.value().iloc[-1].to_numpy()
    assert len(sets) == 90 and (pf.orders.count().to_numpy() > 0).all()
    np.testing.assert_allclose(batch.metrics["final_equity"].to_numpy(), expected, rtol=1e-9)
    np.testing.assert_array_equal(batch.metrics["n_orders"].to_numpy(), pf.orders.count())


@pytest.mark.parametrize("risk_free", [0.0, 0.0002])
def test_kernel_metrics_equal_metrics_module_on_its_returns(bars, targets, risk_free):
    # flat stretches (r == 0 exactly) take the kernel's shortcut when risk_free == 0
    assert (targets == 0).mean() > 0.1
    batch = evaluate_batch(
        bars["open"], bars["close"], targets, return_returns=True, periods_per_year=365.0,
        risk_free=risk_free,
    )  # fmt: skip
    for j in range(targets.shape[1]):
        expected = compute_metrics(batch.returns[:, j], periods_per_year=365.0, risk_free=risk_free)
        for key in RETURNS_KEYS:
            assert batch.metrics[key].iloc[j] == pytest.approx(expected[key], rel=1e-10), key


@pytest.mark.parametrize("execution", ["next-open", "close"])
@pytest.mark.parametrize("start,stop", [(1, 300), (50, 200), (120, 121)])
def test_window_starts_flat_and_agrees_with_sliced_engine(bars, targets, execution, start, stop):
    costs = Costs(fees=0.001, fixed_fees=1.0, slippage_bps=3)
    batch = evaluate_batch(
        bars["open"], bars["close"], targets, costs=costs, execution=execution,
        start=start, stop=stop, return_returns=True,
    )  # fmt: skip
    assert batch.returns.shape == (stop - start, targets.shape[1])
    # next-open: the target decided at start-1 fills at start's open; the engine sees that
    # bar as its first (no order can fill on an engine's first bar)
    lo = start - 1 if execution == "next-open" else start
    for j in range(targets.shape[1]):
        pos = pd.Series(targets[lo:stop, j], index=bars.index[lo:stop])
        ref = run_backtest(bars.iloc[lo:stop], pos, costs=costs, execution=execution)
        assert batch.metrics["final_equity"].iloc[j] == pytest.approx(ref.final_equity, rel=1e-9)
        np.testing.assert_allclose(
            batch.returns[:, j], ref.returns.to_numpy()[start - lo :], rtol=1e-9, atol=1e-12
        )
        # the targets in force at the window's closes, from a flat start
        shift = 1 if execution == "next-open" else 0
        held = targets[start - shift : stop - shift, j]
        n = stop - start
        assert batch.metrics["exposure"].iloc[j] == pytest.approx(np.mean(held != 0), abs=1e-15)
        change = np.abs(np.diff(np.r_[0.0, held])).sum() / n
        assert batch.metrics["turnover"].iloc[j] == pytest.approx(change, rel=1e-12, abs=1e-15)


def test_short_squeeze_is_closed_out_at_zero_equity_on_both_paths(bars):
    # a short held while the price quadruples would drive equity below zero: closed out instead
    n = 40
    close = np.r_[np.full(10, 100.0), np.linspace(100.0, 450.0, 30)]
    open_ = np.r_[100.0, close[:-1]]
    index = pd.date_range("2021-01-01", periods=n, freq="D", tz="UTC", name="time")
    squeeze = pd.DataFrame(
        {"open": open_, "high": np.maximum(open_, close), "low": np.minimum(open_, close),
         "close": close, "volume": 1.0},
        index=index,
    )  # fmt: skip
    pos = np.zeros(n)
    pos[2:35] = -1.0
    batch = evaluate_batch(open_, close, pos, return_returns=True)
    ref = run_backtest(squeeze, pd.Series(pos, index=index))
    # short 1,000 units at 100 (fees 0.1 %): cash ~199,800; equity <= 0 once close >= ~199.8
    k = int(np.argmax(close >= 199.8))
    assert ref.liquidated_at == index[k] and batch.liquidated_at.tolist() == [k]
    assert ref.equity.iloc[k:].eq(0).all() and ref.equity.iloc[:k].gt(0).all()
    assert ref.returns.iloc[k] == -1.0 and ref.returns.iloc[k + 1 :].eq(0).all()
    assert batch.metrics["final_equity"].iloc[0] == ref.final_equity == 0.0
    np.testing.assert_allclose(batch.returns[:, 0], ref.returns.to_numpy(), rtol=1e-9)
    assert batch.metrics["max_drawdown"].iloc[0] == ref.metrics()["max_drawdown"] == -1.0
    assert ref.trades.exit_reason.tolist() == ["margin"]


def test_callable_iterator_and_dtypes_give_the_same_metrics(bars, targets):
    costs = Costs(fees=0.001, fixed_fees=0.5)
    wide = np.repeat(targets, 5, axis=1)  # 20 sets
    ref = evaluate_batch(bars["open"], bars["close"], wide, costs=costs, return_returns=True)
    calls = []

    def produce(c0: int, c1: int) -> np.ndarray:
        calls.append((c0, c1))
        return wide[:, c0:c1]

    by_callable = evaluate_batch(
        bars["open"], bars["close"], produce, n_sets=20, chunk_size=8, costs=costs,
        return_returns=True,
    )  # fmt: skip
    assert calls == [(0, 8), (8, 16), (16, 20)]
    pd.testing.assert_frame_equal(by_callable.metrics, ref.metrics)
    np.testing.assert_array_equal(by_callable.returns, ref.returns)

    chunks = (np.asfortranarray(wide[:, k : k + 7]) for k in range(0, 20, 7))
    by_iter = evaluate_batch(bars["open"], bars["close"], chunks, costs=costs, return_returns=True)
    pd.testing.assert_frame_equal(by_iter.metrics, ref.metrics)
    np.testing.assert_array_equal(by_iter.returns, ref.returns)

    long_flat = (targets > 0).astype(np.float64)
    as_float = evaluate_batch(bars["open"], bars["close"], long_flat, costs=costs)
    for dtype in (np.bool_, np.int8, np.float32):
        other = evaluate_batch(bars["open"], bars["close"], long_flat.astype(dtype), costs=costs)
        pd.testing.assert_frame_equal(other.metrics, as_float.metrics)


def test_metrics_frame_layout_and_no_returns_by_default(bars, targets):
    batch = evaluate_batch(bars["open"], bars["close"], targets)
    assert batch.returns is None
    assert tuple(batch.metrics.columns) == BATCH_METRICS
    assert batch.metrics.index.name == "set" and len(batch) == targets.shape[1]
    assert batch.metrics["n_trades"].dtype == np.int64
    one = evaluate_batch(bars["open"], bars["close"], targets[:, 0])
    assert len(one) == 1
    assert one.metrics.iloc[0]["final_equity"] == batch.metrics.iloc[0]["final_equity"]


def test_fast_frame_equals_the_public_constructor():
    """frame_of_columns (pandas' internal DataFrame._from_arrays) builds the frame the public
    dict constructor builds: pins the internal's behaviour on the installed pandas."""
    rng = np.random.default_rng(0)
    values = rng.normal(size=(7, 3))
    arrays = [values[:, 0], values[:, 1].astype(np.int64), values[:, 2]]
    columns = pd.Index(["a", "n", "b"])
    index = pd.RangeIndex(7, name="set")
    fast = frame_of_columns(arrays, columns, index)
    public = pd.DataFrame(dict(zip(columns, arrays)), index=index)
    pd.testing.assert_frame_equal(fast, public)
    assert list(fast.dtypes) == [np.float64, np.int64, np.float64]
    assert fast.columns.dtype == public.columns.dtype


@pytest.mark.parametrize("direction,lo,hi", [("longonly", 0.0, 1.0), ("shortonly", -1.0, 0.0)])
def test_direction_clips_like_clipped_targets(bars, targets, direction, lo, hi):
    clipped = evaluate_batch(bars["open"], bars["close"], np.clip(targets, lo, hi))
    result = evaluate_batch(bars["open"], bars["close"], targets, direction=direction)
    pd.testing.assert_frame_equal(result.metrics, clipped.metrics)


def test_bad_inputs_raise_named_errors(bars, targets):
    o, c = bars["open"], bars["close"]
    bad = targets.copy()
    bad[40, 2] = np.nan
    with pytest.raises(
        DataValidationError, match=r"positions set 2 at bar 40 .*\[-1, 1\], got nan"
    ):
        evaluate_batch(o, c, bad)
    bad[40, 2] = -2.0
    with pytest.raises(DataValidationError, match=r"set 2 at bar 40 .* got -2.0"):
        evaluate_batch(o, c, bad, execution="close")
    with pytest.raises(
        DataValidationError, match=r"must have shape \(300, n_sets\), got \(299, 4\)"
    ):
        evaluate_batch(o, c, targets[1:])
    with pytest.raises(
        ParameterError, match="`n_sets` .* is required when positions is a callable"
    ):
        evaluate_batch(o, c, lambda c0, c1: targets[:, c0:c1])
    with pytest.raises(
        DataValidationError, match=r"positions\(0, 4\) must return 4 columns, got 1"
    ):
        evaluate_batch(o, c, lambda c0, c1: targets[:, :1], n_sets=4)
    with pytest.raises(
        ParameterError, match=r"need 0 <= start < stop <= n_bars=300, got start=10, stop=10"
    ):
        evaluate_batch(o, c, targets, start=10, stop=10)
    with pytest.raises(ParameterError, match="`chunk_size` must be a positive int, got 0"):
        evaluate_batch(o, c, targets, chunk_size=0)
    with pytest.raises(
        DataValidationError, match=r"`close` at bar 5 must be a finite price > 0, got 0.0"
    ):
        evaluate_batch(o, np.where(np.arange(300) == 5, 0.0, c), targets)
    with pytest.raises(DataValidationError, match="`open_` has 299 bars and `close` 300"):
        evaluate_batch(o[1:], c, targets)
    with pytest.raises(ParameterError, match=r"`execution` must be one of"):
        evaluate_batch(o, c, targets, execution="open")
