"""Tests of backtest/resume.py: a simulation stopped and resumed from its saved state gives
the metrics of one pass (backtest.evaluate_batch over the whole window), bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest.batch import evaluate_batch
from backtest.costs import Costs
from backtest.resume import simulate_resumable
from data_loaders.errors import ParameterError
from tests.backtest.test_batch import random_targets
from tests.conftest import make_bars


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return make_bars(2000, seed=5, vol=0.015)


@pytest.fixture(scope="module")
def targets(bars) -> np.ndarray:
    return random_targets(len(bars), 11, seed=2)  # 11 sets: a full block and a partial one


@pytest.mark.parametrize(
    "kw",
    [
        {"costs": Costs(fees=0.001)},
        {"costs": Costs(fees=0.001, fixed_fees=1.0, slippage_bps=5), "execution": "close"},
        {"costs": Costs(fees=0.002), "whole_units": True, "direction": "longonly"},
    ],
)
def test_resumed_rungs_equal_one_pass(bars, targets, kw):
    o, c = bars["open"].to_numpy(), bars["close"].to_numpy()
    start = 100
    n = len(bars) - start
    state = None
    for stop in (start + n // 9, start + n // 3, len(bars)):  # Hyperband's 1/9, 1/3, 1 rungs
        got, state = simulate_resumable(o, c, targets, start=start, stop=stop, state=state, **kw)
        full = evaluate_batch(o, c, targets, start=start, stop=stop, **kw)
        ref = full.metrics.assign(liquidated_at=full.liquidated_at)
        pd.testing.assert_frame_equal(got, ref, check_exact=True)
        assert state.stop == stop
    assert ref["n_orders"].min() > 10  # the sets trade across the rungs


def test_survivors_resume_alone(bars, targets):
    o, c = bars["open"].to_numpy(), bars["close"].to_numpy()
    kw = {"costs": Costs(fees=0.001)}
    _, state = simulate_resumable(o, c, targets, start=0, stop=500, **kw)
    keep = [1, 4, 9]
    got, _ = simulate_resumable(
        o, c, targets[:, keep], start=0, stop=1500, state=state.take(keep), **kw
    )
    full = evaluate_batch(o, c, targets[:, keep], start=0, stop=1500, **kw)
    ref = full.metrics.assign(liquidated_at=full.liquidated_at)
    pd.testing.assert_frame_equal(got, ref, check_exact=True)


def test_a_state_that_does_not_continue_the_window_is_refused(bars, targets):
    o, c = bars["open"].to_numpy(), bars["close"].to_numpy()
    _, state = simulate_resumable(o, c, targets, start=0, stop=500)
    with pytest.raises(ParameterError, match="does not continue start=10, stop=900 with 11 sets"):
        simulate_resumable(o, c, targets, start=10, stop=900, state=state)
    with pytest.raises(ParameterError, match="reached 500"):
        simulate_resumable(o, c, targets, start=0, stop=400, state=state)
    with pytest.raises(ParameterError, match="need backtest.evaluate_batch"):
        simulate_resumable(o, c, targets, start=0, stop=400, costs=Costs(cash_rate=0.02))
