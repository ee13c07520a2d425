"""Higher-timeframe helper: values computed apart, and the lookahead check on it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest import check_lookahead
from data_loaders import synthetic_bars
from data_loaders.errors import DataValidationError
from strategies.timeframe import higher_timeframe


@pytest.fixture(scope="module")
def hourly():
    return synthetic_bars(24 * 40, freq="1h", seed=3)


def _daily_sma(daily: pd.DataFrame) -> pd.Series:
    return daily.close.rolling(3).mean()


def test_values_are_those_of_completed_days(hourly):
    out = higher_timeframe(hourly, "1D", _daily_sma)
    # by hand: each UTC day's close is its last hourly close; a bar on day D sees the SMA(3)
    # of the closes of days D-3, D-2, D-1
    days = sorted({t.normalize() for t in hourly.index})
    closes = {d: hourly.close[hourly.index.normalize() == d].iloc[-1] for d in days}
    for t in hourly.index[::37]:
        d = days.index(t.normalize())
        if d < 3:
            assert np.isnan(out[t])
            continue
        expected = np.mean([closes[days[d - k]] for k in (1, 2, 3)])
        assert out[t] == pytest.approx(expected, rel=1e-12)


def test_passes_the_lookahead_check_and_the_naive_mapping_fails(hourly):
    def causal(bars):
        return (bars.close > higher_timeframe(bars, "1D", _daily_sma)).astype(float)

    def naive(bars):  # the same day's (still forming) daily bar: leaks the day's later hours
        daily = _daily_sma(bars.resample("1D").agg({"close": "last"}))
        return (bars.close > daily.reindex(bars.index, method="ffill")).astype(float)

    assert check_lookahead(causal, hourly).ok
    report = check_lookahead(naive, hourly)
    assert not report.ok


def test_indicator_of_the_wrong_length_is_refused(hourly):
    with pytest.raises(DataValidationError, match="one value per 1D bar"):
        higher_timeframe(hourly, "1D", lambda d: np.zeros(3))
