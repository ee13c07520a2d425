"""Tests of the fused signal path (backtest/fused.py, strategies/_fused_nb.py): the built-ins'
signals computed inside the simulation pass must give the metrics of the positions-matrix path
(batch_positions + evaluate_batch; for rsi_reversion, bollinger, macd_momentum and donchian_atr
the generic per-set positions()) for every set of a grid, in every execution mode, on windows
starting mid-data, with an exit layer and with per-bar returns: bit for bit."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from backtest.batch import evaluate_batch
from backtest.costs import Costs
from backtest.exits import Exits
from backtest.fused import FusedSignal
from data_loaders.errors import DataValidationError
from strategies.base import Signals
from strategies.builtin.bollinger import Bollinger
from strategies.builtin.donchian_atr import DonchianAtr
from strategies.builtin.macd_momentum import MacdMomentum
from strategies.builtin.rsi_reversion import RsiReversion
from strategies.builtin.sma_cross import SmaCross
from tests.conftest import make_bars

#: execution modes and windows (mid-data starts, tile boundaries 1024/2048) every kernel is tried in
EXEC_CASES = [
    {"costs": Costs(fees=0.001)},
    {"costs": Costs(fees=0.001, fixed_fees=1.0, slippage_bps=5), "execution": "close"},
    {"costs": Costs(fees=0.0005), "start": 1, "stop": 2500, "direction": "longonly"},
    {"costs": Costs(fees=0.001), "start": 1700, "whole_units": True, "init_cash": 1e6},
    {"costs": Costs(fees=0.001), "start": 1025, "stop": 2049, "execution": "close"},
]
GRID = [{"fast": f, "slow": s} for f in range(5, 55, 5) for s in range(20, 220, 20) if f < s]


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    # longer than strategies.indicators._nb.RESYNC so the SMAs' exact re-sums are crossed
    return make_bars(3000, seed=3, vol=0.01)


def _both(bars, sets, **kw):
    pos = SmaCross.batch_positions(bars, sets)
    fs = SmaCross.fused_signal(bars, sets)
    assert isinstance(fs, FusedSignal)
    args = (bars["open"].to_numpy(), bars["close"].to_numpy())
    return evaluate_batch(*args, pos, **kw), evaluate_batch(*args, fs, **kw)


def _assert_same(ref, got):
    pd.testing.assert_frame_equal(got.metrics, ref.metrics, check_exact=False, rtol=1e-12)
    np.testing.assert_array_equal(got.liquidated_at, ref.liquidated_at)


@pytest.mark.parametrize("kw", EXEC_CASES)
def test_fused_equals_matrix_over_the_grid(bars, kw):
    ref, got = _both(bars, GRID, **kw)
    assert len(got.metrics) == len(GRID) == 90
    assert got.metrics["n_orders"].sum() > 0  # the grid trades
    _assert_same(ref, got)


def test_fused_returns_and_exit_layer(bars):
    ex = Exits(stop_loss=0.01, take_profit=0.02, trailing_stop=0.015)
    hl = {"high": bars["high"].to_numpy(), "low": bars["low"].to_numpy()}
    ref, got = _both(bars, GRID[:20], exits=ex, return_returns=True, start=400, **hl)
    _assert_same(ref, got)
    np.testing.assert_allclose(got.returns, ref.returns, rtol=1e-12, atol=0)
    pd.testing.assert_frame_equal(got.exit_reasons, ref.exit_reasons)
    assert got.exit_reasons.to_numpy().sum() > 0  # the exit layer acted


def test_a_subclass_overriding_its_positions_keeps_its_own_rule(bars):
    class Never(SmaCross):
        name = "never_fused_test"

        @classmethod
        def batch_positions(cls, bars, param_sets, features=None, *, out=None):
            return np.zeros((len(bars), len(param_sets)))

    class Renamed(SmaCross):
        name = "renamed_fused_test"

    assert Never.fused_signal(bars, GRID[:2]) is None
    assert isinstance(Renamed.fused_signal(bars, GRID[:2]), FusedSignal)


def test_fused_signal_none_with_nan_close_and_bar_count_checked(bars):
    gappy = bars.copy()
    gappy.iloc[10, gappy.columns.get_loc("close")] = np.nan
    assert SmaCross.fused_signal(gappy, GRID[:2]) is None
    fs = SmaCross.fused_signal(bars, GRID[:2])
    with pytest.raises(DataValidationError, match="fused signal is defined on 3000 bars"):
        evaluate_batch(bars["open"].to_numpy()[:-1], bars["close"].to_numpy()[:-1], fs)


# --- the rule kernels (strategies._fused_nb.rule_block_nb) -----------------------------------------
def _grid(**axes):
    keys = list(axes)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*axes.values())]


RULE_GRIDS = {
    RsiReversion: _grid(
        window=[5, 14, 30], lower=[25.0, 35.0], upper=[65.0, 75.0], exit_level=[50.0],
        allow_short=[False, True],
    ),
    Bollinger: _grid(
        window=[10, 20, 50], n_std=[1.0, 2.0], mode=["reversion", "breakout"],
        allow_short=[False, True],
    ),
    MacdMomentum: _grid(fast=[5, 12], slow=[20, 40], signal=[5, 9], allow_short=[False, True]),
    DonchianAtr: _grid(entry_window=[20, 55], exit_window=[10, 20], allow_short=[False, True],
                       stop=["none"])
    + _grid(entry_window=[20], exit_window=[10], atr_window=[5, 14], atr_mult=[1.0, 3.0],
            allow_short=[False, True], stop=["atr"]),
}  # fmt: skip


def _rule_both(cls, bars, sets, **kw):
    pos = cls.batch_positions(bars, sets)  # the generic path: positions() per set
    fs = cls.fused_signal(bars, sets)
    assert isinstance(fs, FusedSignal)
    args = (bars["open"].to_numpy(), bars["close"].to_numpy())
    return evaluate_batch(*args, pos, **kw), evaluate_batch(*args, fs, **kw)


@pytest.mark.parametrize("cls", list(RULE_GRIDS), ids=lambda c: c.name)
@pytest.mark.parametrize("kw", EXEC_CASES)
def test_rule_kernels_equal_the_generic_path_bit_for_bit(bars, cls, kw):
    sets = RULE_GRIDS[cls]
    ref, got = _rule_both(cls, bars, sets, **kw)
    assert len(got.metrics) == len(sets)
    assert (got.metrics["n_orders"] > 0).mean() > 0.5  # most sets trade
    pd.testing.assert_frame_equal(got.metrics, ref.metrics, check_exact=True)
    np.testing.assert_array_equal(got.liquidated_at, ref.liquidated_at)


@pytest.mark.parametrize("cls", list(RULE_GRIDS), ids=lambda c: c.name)
def test_rule_kernels_with_returns_and_exit_layer(bars, cls):
    ex = Exits(stop_loss=0.01, take_profit=0.02, trailing_stop=0.015)
    hl = {"high": bars["high"].to_numpy(), "low": bars["low"].to_numpy()}
    sets = RULE_GRIDS[cls][:8]
    ref, got = _rule_both(cls, bars, sets, exits=ex, return_returns=True, start=400, **hl)
    pd.testing.assert_frame_equal(got.metrics, ref.metrics, check_exact=True)
    np.testing.assert_array_equal(got.returns, ref.returns)
    pd.testing.assert_frame_equal(got.exit_reasons, ref.exit_reasons)


def test_rule_kernel_subclass_with_its_own_rule_keeps_the_matrix_path(bars):
    class Flipped(RsiReversion):
        name = "flipped_fused_test"

        def signals(self, bars, features=None):
            sig = super().signals(bars, features)
            return Signals(entries=sig.exits, exits=sig.entries)

    class Renamed(Bollinger):
        name = "renamed_bollinger_fused_test"

    assert Flipped.fused_signal(bars, [{}]) is None
    assert isinstance(Renamed.fused_signal(bars, [{}]), FusedSignal)
    assert RsiReversion.fused_signal(bars, []) is None
