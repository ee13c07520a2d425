"""rsi_reversion against an independent loop over ta's RSI."""

import numpy as np
import pytest
import ta

from strategies.builtin.rsi_reversion import RsiReversion


def reference(close, window, lower, upper, exit_level, short):
    rsi = ta.momentum.RSIIndicator(close, window).rsi().to_numpy()
    state, out = 0.0, []
    for r in rsi:
        if np.isnan(r):
            out.append(0.0)
            continue
        if state > 0 and r >= exit_level:
            state = 0.0
        elif state < 0 and r <= exit_level:
            state = 0.0
        if state == 0 and r < lower:
            state = 1.0
        elif state == 0 and short and r > upper:
            state = -1.0
        out.append(state)
    return np.array(out)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"window": 7, "lower": 35.0, "upper": 65.0, "exit_level": 55.0, "allow_short": True},
        {"window": 3, "lower": 20.0, "upper": 80.0, "exit_level": 50.0, "allow_short": True},
    ],
)
def test_matches_reference(bars, params):
    strat = RsiReversion(**params)
    p = strat.params
    want = reference(
        bars["close"], p["window"], p["lower"], p["upper"], p["exit_level"], p["allow_short"]
    )
    got = strat.positions(bars).to_numpy()
    np.testing.assert_array_equal(got, want)
    assert (got != 0).any()
    assert strat.warmup == p["window"] - 1
