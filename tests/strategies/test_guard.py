"""strategies.guard: a strategy's exceptions and out-of-range exposures as one line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data_loaders.errors import StrategyError
from strategies import Strategy
from strategies.guard import call_strategy, check_exposures, checked_positions, guarded

INDEX = pd.date_range("2024-01-01", periods=5, freq="D", tz="UTC")


class Raises(Strategy):
    def positions(self, bars, features=None):
        return np.log(bars["close"]).iloc[[0, 99]]  # IndexError inside pandas


def test_the_location_is_the_line_in_the_strategy_file_not_in_the_library():
    bars = pd.DataFrame({"close": np.arange(1.0, 6.0)}, index=INDEX)
    with pytest.raises(StrategyError) as err:
        checked_positions(Raises(), bars)
    msg = str(err.value)
    assert msg.startswith("Raises.positions raised IndexError: ")
    line = Raises.positions.__code__.co_firstlineno + 1
    assert msg.endswith(f"(at {__file__}:{line})") and "\n" not in msg
    assert isinstance(err.value.__cause__, IndexError)


def test_exposures_name_the_first_offending_timestamp_and_column():
    frame = pd.DataFrame({"AAA": [0, 0.5, 1, 1, 0], "BBB": [0, 0, -1.5, 2, 0]}, index=INDEX)
    with pytest.raises(StrategyError, match=r"returned exposure -1.5 at 2024-01-03 00:00:00\+00:00 "
                       r"for BBB: .* \(fraction of equity; 2 value\(s\) out of range\)"):  # fmt: skip
        check_exposures(frame, Raises)
    ok = pd.Series([0.0, np.nan, 1.0, -1.0, 1.0 + 1e-12], index=INDEX)
    assert check_exposures(ok, Raises) is ok  # NaN and rounding slack pass
    with pytest.raises(StrategyError, match="at bar 1"):
        check_exposures(np.array([0.0, 7.0]), Raises)


def test_control_flow_exceptions_pass_through():
    class Stop(Strategy):
        def positions(self, bars, features=None):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        call_strategy(Stop(), "positions", None)
    inner = StrategyError("already one line")

    class Nested(Strategy):
        def positions(self, bars, features=None):
            raise inner

    with pytest.raises(StrategyError) as err:
        guarded(Nested(), "positions")(None)
    assert err.value is inner
