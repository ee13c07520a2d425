"""``rsi_reversion``: buy oversold RSI, hold until it recovers to an exit level."""

from __future__ import annotations

import pandas as pd

from strategies._bars import single_bars
from strategies._fused import RULE_RSI, FusedRule
from strategies.base import Signals, Strategy
from strategies.indicators import _nb
from strategies.indicators import fast as ind
from strategies.params import Categorical, Float, Int

__all__ = ["RsiReversion"]


class RsiReversion(Strategy):
    """RSI mean reversion.

    ``RSI`` is Wilder's RSI over ``window`` bars (``ta`` convention, defined from bar
    ``window - 1``). Rules at bar t's close:

    * long entry when ``RSI < lower``; the long is held until ``RSI >= exit_level``;
    * with ``allow_short``: short entry when ``RSI > upper``, held until ``RSI <= exit_level``.

    ``lower < exit_level < upper``, so an entry and the exit of the same side never coincide.
    Warm-up ``window - 1``.
    """

    name = "rsi_reversion"
    window = Int(2, 50, default=14)
    lower = Float(5.0, 45.0, default=30.0)
    upper = Float(55.0, 95.0, default=70.0)
    exit_level = Float(30.0, 70.0, default=50.0)
    allow_short = Categorical([False, True], default=False)
    constraints = ("lower < exit_level", "exit_level < upper")
    #: the rule inside the simulation pass: each distinct window's RSI once per batch
    fused_signal = FusedRule(RULE_RSI, lambda s, table, p: (
        [table.row(s.window, lambda: _nb.rsi_1d_nb(p["close"], s.window))],
        [s.lower, s.upper, s.exit_level],
    ))  # fmt: skip

    @property
    def warmup(self) -> int:
        return self.window - 1

    def signals(self, bars: pd.DataFrame, features: pd.DataFrame | None = None) -> Signals:
        rsi = ind.rsi(single_bars(bars, self.label())["close"], self.window)
        return Signals(
            entries=rsi < self.lower,
            exits=rsi >= self.exit_level,
            short_entries=(rsi > self.upper) if self.allow_short else None,
            short_exits=(rsi <= self.exit_level) if self.allow_short else None,
        )
