"""macd_momentum against ta's MACD."""

import numpy as np
import pytest
import ta

from strategies.builtin.macd_momentum import MacdMomentum


@pytest.mark.parametrize(
    ("fast", "slow", "signal", "short"), [(12, 26, 9, False), (5, 35, 4, True)]
)
def test_positions_follow_macd_against_its_signal_line(bars, fast, slow, signal, short):
    strat = MacdMomentum(fast=fast, slow=slow, signal=signal, allow_short=short)
    diff = ta.trend.MACD(bars["close"], slow, fast, signal).macd_diff().to_numpy()
    want = np.where(diff > 0, 1.0, np.where((diff < 0) & short, -1.0, 0.0))
    want[: slow + signal - 2] = 0.0
    np.testing.assert_array_equal(strat.positions(bars).to_numpy(), want)
    assert strat.warmup == slow + signal - 2
    assert np.isnan(diff[strat.warmup - 1]) and not np.isnan(diff[strat.warmup])
    assert ((strat.positions(bars) < 0).any()) == short
