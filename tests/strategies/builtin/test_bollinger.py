"""bollinger (reversion and breakout) against an independent loop over ta's bands."""

import numpy as np
import pytest
import ta

from strategies.builtin.bollinger import Bollinger


def reference(close, window, n_std, mode, short):
    bb = ta.volatility.BollingerBands(close, window, n_std)
    mid, hi, lo = (
        s.to_numpy() for s in (bb.bollinger_mavg(), bb.bollinger_hband(), bb.bollinger_lband())
    )
    c = close.to_numpy()
    state, out = 0.0, []
    for i in range(len(c)):
        if np.isnan(mid[i]):
            out.append(0.0)
            continue
        if mode == "reversion":
            long_in, long_out = c[i] < lo[i], c[i] >= mid[i]
            short_in, short_out = c[i] > hi[i], c[i] <= mid[i]
        else:
            long_in, long_out = c[i] > hi[i], c[i] < mid[i]
            short_in, short_out = c[i] < lo[i], c[i] > mid[i]
        if state > 0 and long_out:
            state = 0.0
        elif state < 0 and short_out:
            state = 0.0
        if long_in and not long_out:
            state = 1.0
        elif short and short_in and not short_out:
            state = -1.0
        out.append(state)
    return np.array(out)


@pytest.mark.parametrize("mode", ["reversion", "breakout"])
@pytest.mark.parametrize(("window", "n_std", "short"), [(20, 2.0, False), (10, 1.0, True)])
def test_matches_reference(bars, mode, window, n_std, short):
    strat = Bollinger(window=window, n_std=n_std, mode=mode, allow_short=short)
    got = strat.positions(bars).to_numpy()
    np.testing.assert_array_equal(got, reference(bars["close"], window, n_std, mode, short))
    assert (got != 0).any() and strat.warmup == window - 1
