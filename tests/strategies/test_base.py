"""Strategy base: signals-based positions, warm-up masking and the default batch path."""

import numpy as np
import pandas as pd
import pytest

from data_loaders.errors import ParameterError
from strategies import Int, Signals, Strategy, signals_to_positions


class _Channel(Strategy):
    """Long above the rolling max of the previous `window` closes, out below the rolling min."""

    window = Int(2, 50, default=5)

    @property
    def warmup(self):
        return self.window

    def signals(self, bars, features=None):
        c = bars["close"]
        return Signals(
            entries=c > c.rolling(self.window).max().shift(1),
            exits=c < c.rolling(self.window).min().shift(1),
        )


def test_signals_become_positions_masked_before_the_warmup(bars):
    pos = _Channel(window=10).positions(bars)
    c = bars["close"]
    want = signals_to_positions(
        Signals(c > c.rolling(10).max().shift(1), c < c.rolling(10).min().shift(1)), bars.index
    )
    want.iloc[:10] = 0.0
    pd.testing.assert_series_equal(pos, want)
    assert (pos != 0).any()


def test_default_batch_is_per_set_positions_fortran_ordered(bars):
    sets = [{"window": 3}, {"window": 20}]
    out = _Channel.batch_positions(bars, sets)
    assert out.shape == (len(bars), 2) and out.flags.f_contiguous
    for j, p in enumerate(sets):
        np.testing.assert_array_equal(out[:, j], _Channel(**p).positions(bars).to_numpy())
    buf = np.zeros((len(bars), 2))
    assert _Channel.batch_positions(bars, sets, out=buf) is buf
    np.testing.assert_array_equal(buf, out)


def test_default_batch_rejects_fitted_and_multi_asset_strategies(bars):
    class Fitted(_Channel):
        needs_fit = True

    class Multi(_Channel):
        multi_asset = True

    with pytest.raises(ParameterError, match="must be fitted per parameter set; use positions()"):
        Fitted.batch_positions(bars, [{}])
    with pytest.raises(ParameterError, match="is multi-asset; batch positions need one symbol"):
        Multi.batch_positions(bars, [{}])
