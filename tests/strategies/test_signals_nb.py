"""State-machine kernels that turn signals into positions."""

import numpy as np
import pytest

from strategies._signals_nb import (
    ma_cross_fill_c_nb,
    ma_cross_fill_f_nb,
    pairs_state_machine_nb,
    sma_cross_fill_nb,
    stop_state_machine_nb,
)

T, F = True, False


def _b(*xs):
    return np.array(xs, dtype=bool)


def test_ma_cross_fills_agree_for_both_orders():
    rng = np.random.default_rng(0)
    ma = rng.normal(size=(4, 5000))
    ma[:, :10] = np.nan
    fi, si = np.array([0, 1, 2, 0]), np.array([1, 2, 3, 3])
    f_out = np.empty((5000, 4), order="F")
    c_out = np.empty((5000, 4))
    ma_cross_fill_f_nb(ma, fi, si, f_out)
    ma_cross_fill_c_nb(ma, fi, si, c_out)
    want = np.column_stack([(ma[a] > ma[b]).astype(float) for a, b in zip(fi, si)])
    np.testing.assert_array_equal(f_out, want)
    np.testing.assert_array_equal(c_out, want)
    assert (want[:10] == 0).all()


def test_stop_machine_entries_exits_and_reversal():
    close = np.array([10, 11, 12, 13, 12, 11, 10, 9, 8, 9], dtype=float)
    no_stop = np.full(10, np.nan)
    le = _b(F, T, F, F, F, F, F, F, F, T)
    lx = _b(F, F, F, F, F, F, T, F, F, F)
    se = _b(F, F, F, F, F, F, F, T, F, F)
    sx = _b(F, F, F, F, F, F, F, F, F, T)
    got = stop_state_machine_nb(close, le, lx, se, sx, no_stop)
    np.testing.assert_array_equal(got, [0, 1, 1, 1, 1, 1, 0, -1, -1, 1])


def test_trailing_stop_tracks_the_best_close_since_entry():
    close = np.array([10, 11, 14, 13.5, 12.9, 12.0], dtype=float)
    le = _b(F, T, F, F, F, F)
    none = np.zeros(6, dtype=bool)
    got = stop_state_machine_nb(close, le, none, none, none, np.full(6, 1.0))
    # best close 14 -> stop at 13; 12.9 < 13 exits on bar 4
    np.testing.assert_array_equal(got, [0, 1, 1, 1, 0, 0])


def test_exit_blocks_same_side_reentry_on_that_bar():
    close = np.ones(3)
    le = _b(T, F, T)
    lx = _b(F, F, T)
    none = np.zeros(3, dtype=bool)
    got = stop_state_machine_nb(close, le, lx, none, none, np.full(3, np.nan))
    np.testing.assert_array_equal(got, [1, 1, 0])


def test_pairs_machine_freezes_legs_and_reverses():
    z = np.array([np.nan, 0.0, -2.5, -1.0, -0.2, 2.1, 2.5, 0.4, 0.0])
    beta = np.array([np.nan, 1.0, 1.0, 3.0, 3.0, 0.5, 2.0, 2.0, 2.0])
    got = pairs_state_machine_nb(z, beta, 2.0, 0.5)
    long_legs = [0.5, -0.5]  # entry beta 1.0
    short_legs = [-1 / 1.5, 0.5 / 1.5]  # entry beta 0.5
    want = [[0, 0], [0, 0], long_legs, long_legs, [0, 0], short_legs, short_legs, [0, 0], [0, 0]]
    np.testing.assert_allclose(got, want)


def test_pairs_machine_reverses_on_the_same_bar():
    got = pairs_state_machine_nb(np.array([-3.0, 3.0]), np.array([1.0, 1.0]), 2.0, 0.0)
    np.testing.assert_allclose(got, [[0.5, -0.5], [-0.5, 0.5]])


@pytest.mark.parametrize("kind", ["walk", "plateaus"])
def test_fused_sma_cross_equals_the_1d_moving_averages_bit_for_bit(kind):
    """On plateaus every moving average equals the level mathematically, so each comparison
    is decided by rounding alone: equal outputs need the very same operations (running sums,
    re-summed at the same bars) as ``rolling_mean_1d_nb``."""
    from strategies.indicators._nb import RESYNC, rolling_mean_1d_nb

    n = 3 * RESYNC + 77
    if kind == "walk":
        close = 100 + np.cumsum(np.random.default_rng(3).normal(size=n))
    else:
        levels = 100 + 0.1 * np.random.default_rng(4).integers(1, 50, size=n // 60 + 1)
        close = np.repeat(levels, 60)[:n]
    windows = np.array([2, 7, 50, RESYNC + 5])
    fi, si = np.array([0, 1, 0, 2]), np.array([1, 2, 3, 3])
    want = np.column_stack(
        [
            (rolling_mean_1d_nb(close, windows[a]) > rolling_mean_1d_nb(close, windows[b])).astype(
                float
            )
            for a, b in zip(fi, si)
        ]
    )
    for order in ("C", "F"):
        out = np.full((len(close), 4), np.nan, order=order)
        sma_cross_fill_nb(close, windows, fi, si, out, RESYNC)
        np.testing.assert_array_equal(out, want)
