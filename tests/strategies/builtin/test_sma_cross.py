"""sma_cross against an independent pandas computation; warm-up exactly at slow - 1; batch path."""

import numpy as np
import pandas as pd
import pytest

from data_loaders.errors import ParameterError
from strategies.builtin.sma_cross import SmaCross
from tests.strategies._data import make_bars

BENCH_GRID = [{"fast": f, "slow": s} for f in range(5, 55, 5) for s in range(20, 220, 20) if f < s]


def pandas_positions(close: pd.Series, fast: int, slow: int) -> np.ndarray:
    return (close.rolling(fast).mean() > close.rolling(slow).mean()).astype(float).to_numpy()


@pytest.mark.parametrize(("fast", "slow"), [(2, 5), (10, 30), (20, 21), (50, 200)])
def test_matches_pandas(bars, fast, slow):
    pos = SmaCross(fast=fast, slow=slow).positions(bars)
    assert pos.name == "position" and pos.index.equals(bars.index)
    np.testing.assert_array_equal(pos.to_numpy(), pandas_positions(bars["close"], fast, slow))


def test_first_nonzero_position_is_exactly_at_slow_minus_one():
    """On a rising series SMA(fast) > SMA(slow) as soon as SMA(slow) exists."""
    close = np.linspace(100.0, 200.0, 120)
    bars = pd.DataFrame(
        {"open": close, "high": close, "low": close, "close": close, "volume": 1.0},
        index=pd.date_range("2021-01-01", periods=120, freq="D", tz="UTC"),
    )
    strat = SmaCross(fast=5, slow=30)
    pos = strat.positions(bars).to_numpy()
    assert strat.warmup == 29
    assert (pos[:29] == 0).all() and pos[29] == 1.0 and (pos[29:] == 1.0).all()


def test_the_benchmark_grid_equals_pandas_column_by_column():
    data = make_bars(800, seed=4)
    batch = SmaCross.batch_positions(data, BENCH_GRID)
    assert len(BENCH_GRID) == 90 and batch.shape == (800, 90)
    assert batch.flags.f_contiguous
    for j, p in enumerate(BENCH_GRID):
        np.testing.assert_array_equal(batch[:, j], pandas_positions(data["close"], **p))


@pytest.mark.parametrize("order", ["C", "F"])
def test_out_buffer_of_either_order_is_filled(bars, order):
    sets = [{"fast": 3, "slow": 9}, {"fast": 3, "slow": 40}, {"fast": 9, "slow": 40}]
    out = np.full((len(bars), 3), np.nan, order=order)
    assert SmaCross.batch_positions(bars, sets, out=out) is out
    for j, p in enumerate(sets):
        np.testing.assert_array_equal(out[:, j], pandas_positions(bars["close"], **p))


def test_a_nan_close_takes_the_tolerant_path_and_still_matches_pandas(bars):
    holed = bars.copy()
    holed.iloc[100, holed.columns.get_loc("close")] = np.nan
    sets = [{"fast": 3, "slow": 9}, {"fast": 10, "slow": 40}]
    for order in ("C", "F"):
        out = SmaCross.batch_positions(holed, sets, out=np.empty((len(bars), 2), order=order))
        for j, p in enumerate(sets):
            np.testing.assert_array_equal(out[:, j], pandas_positions(holed["close"], **p))


def test_empty_batch_and_bad_sets(bars):
    assert SmaCross.batch_positions(bars, []).shape == (len(bars), 0)
    with pytest.raises(
        ParameterError, match="sma_cross: `fast` must be < `slow`, got fast=30, slow=10"
    ):
        SmaCross.batch_positions(bars, [{"fast": 5, "slow": 10}, {"fast": 30, "slow": 10}])
    with pytest.raises(ParameterError, match=r"`out` must have shape \(n_bars, n_sets\)"):
        SmaCross.batch_positions(bars, [{"fast": 5, "slow": 10}], out=np.empty((3, 1)))
    with pytest.raises(ParameterError, match="`out` must be a float64 numpy array"):
        SmaCross.batch_positions(bars, [{}], out=np.empty((len(bars), 1), dtype=np.float32))


def test_a_dict_of_symbols_is_rejected(bars):
    with pytest.raises(ParameterError) as err:
        SmaCross().positions({"A": bars, "B": bars})
    assert str(err.value) == (
        "sma_cross trades one symbol; got bars for 2 symbols ['A', 'B']; "
        "pass one symbol's DataFrame"
    )


def test_threaded_fill_of_column_ranges_equals_pandas(monkeypatch):
    """A large F-ordered batch is split into column ranges filled by threads; same values."""
    import strategies.builtin.sma_cross as mod

    monkeypatch.setattr(mod, "_PARALLEL_CELLS", 1)
    monkeypatch.setattr(mod, "_n_threads", lambda: 3)
    data = make_bars(700, seed=9)
    sets = BENCH_GRID[::7]  # 13 sets: ranges of 4, 4 and 5 columns
    batch = SmaCross.batch_positions(data, sets)
    assert batch.flags.f_contiguous and batch.shape == (700, len(sets))
    for j, p in enumerate(sets):
        np.testing.assert_array_equal(batch[:, j], pandas_positions(data["close"], **p))
