"""Sessions: no fill outside the hours, flat at the end, causal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest import Costs, check_lookahead, run_backtest
from backtest.sessions import in_session, session_positions
from data_loaders import synthetic_bars
from data_loaders.errors import ParameterError


@pytest.fixture(scope="module")
def hourly():
    return synthetic_bars(24 * 20, freq="1h", seed=1)


def _signal(bars):
    return (bars.close > bars.close.rolling(5).mean()).astype(float)


@pytest.mark.parametrize("execution", ["next-open", "close"])
def test_orders_fill_only_in_session_and_flat_overnight(hourly, execution):
    pos = session_positions(_signal(hourly), start="09:00", end="17:00", bar="1h",
                            flat_at_end=True, execution=execution)  # fmt: skip
    result = run_backtest(hourly, pos, execution=execution, costs=Costs(fees=0.0))
    hours = set(result.trades.entry_time.dt.hour) | set(
        result.trades.loc[result.trades.status == "closed", "exit_time"].dt.hour
    )
    assert hours and hours <= set(range(9, 17))
    held = result.positions_in_force
    night = ~in_session(hourly.index, "09:00", "17:00")
    assert held[night].eq(0).all()  # flat at every close outside the session
    assert held[~night].ne(0).any()


def test_without_flat_at_end_positions_carry_over_night(hourly):
    pos = session_positions(_signal(hourly), start="09:00", end="17:00", bar="1h")
    # decisions whose next-open fill is at 17:00..08:00 repeat the last in-session decision
    fill_hour = (hourly.index + pd.Timedelta("1h")).hour
    out = ~((fill_hour >= 9) & (fill_hour < 17))
    assert (pos.diff().fillna(0)[out] == 0).all()
    assert pos[out].ne(0).any()  # some positions held overnight


def test_wrapping_session_and_causality(hourly):
    mask = in_session(hourly.index, "22:00", "02:00")
    assert set(hourly.index[mask].hour) == {22, 23, 0, 1}

    def run(bars):
        return session_positions(_signal(bars), start="09:00", end="17:00", bar="1h",
                                 flat_at_end=True)  # fmt: skip

    assert check_lookahead(run, hourly).ok


def test_bad_session_settings():
    pos = pd.Series(np.ones(3), index=pd.date_range("2024-01-01", periods=3, freq="h", tz="UTC"))
    with pytest.raises(ParameterError, match="`start` must be a time 'HH:MM'"):
        session_positions(pos, start="9am", end="17:00", bar="1h")
    with pytest.raises(ParameterError, match="start != end"):
        session_positions(pos, start="09:00", end="09:00", bar="1h")
