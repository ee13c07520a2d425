"""``donchian_atr``: Donchian channel breakout with an optional ATR trailing stop."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from strategies._bars import single_bars
from strategies._fused import RULE_DONCHIAN, FusedRule
from strategies._signals_nb import stop_state_machine_nb
from strategies.base import Strategy
from strategies.indicators import _nb
from strategies.indicators import fast as ind
from strategies.params import Categorical, Float, Int

__all__ = ["DonchianAtr"]


class DonchianAtr(Strategy):
    """Donchian/ATR trend following (turtle style).

    Channels of the *previous* bars (bar t excluded, so a close can break them):
    ``entry_high[t] = max(high[t-entry_window .. t-1])``, ``entry_low`` likewise with lows, and
    ``exit_high/exit_low`` over ``exit_window`` bars. Rules at bar t's close:

    * long entry when ``close > entry_high``; long exit when ``close < exit_low``;
    * with ``allow_short``: short entry when ``close < entry_low``, exit when ``close > exit_high``;
    * ``stop="atr"`` adds a trailing stop: exit a long when the close falls more than
      ``atr_mult * ATR(atr_window)`` below the highest close since entry (short: mirrored).
      ``atr_window`` and ``atr_mult`` are conditional parameters, active only then.

    An exit blocks a same-side re-entry on that bar; an opposite breakout reverses. Warm-up
    ``max(entry_window, atr_window - 1)`` (the ATR term only with the stop).
    """

    name = "donchian_atr"
    entry_window = Int(5, 200, default=20)
    exit_window = Int(2, 200, default=10)
    stop = Categorical(["none", "atr"], default="atr")
    atr_window = Int(2, 100, default=14, when={"stop": ["atr"]})
    atr_mult = Float(0.5, 10.0, default=3.0, when={"stop": ["atr"]})
    allow_short = Categorical([False, True], default=False)
    constraints = ("exit_window <= entry_window",)
    #: the rule inside the simulation pass: each distinct window's channels and ATR once
    fused_signal = FusedRule(RULE_DONCHIAN, lambda *a: _fused_set(*a), ("high", "low", "close"))

    @property
    def warmup(self) -> int:
        atr_start = self.atr_window - 1 if self.stop == "atr" else 0
        return max(self.entry_window, self.exit_window, atr_start)

    def positions(self, bars: pd.DataFrame, features: pd.DataFrame | None = None) -> pd.Series:
        bars = single_bars(bars, self.label(), ("high", "low", "close"))
        high, low, close = bars["high"], bars["low"], bars["close"]
        c = close.to_numpy(dtype=np.float64)
        entry_high = ind.donchian_high(high, self.entry_window).shift(1).to_numpy()
        entry_low = ind.donchian_low(low, self.entry_window).shift(1).to_numpy()
        exit_high = ind.donchian_high(high, self.exit_window).shift(1).to_numpy()
        exit_low = ind.donchian_low(low, self.exit_window).shift(1).to_numpy()
        if self.stop == "atr":
            stop_distance = self.atr_mult * ind.atr(high, low, close, self.atr_window).to_numpy()
        else:
            stop_distance = np.full(len(c), np.nan)
        live = np.arange(len(c)) >= self.warmup  # no entry before every indicator exists
        no = np.zeros(len(c), dtype=bool)
        pos = stop_state_machine_nb(
            c,
            live & (c > entry_high),
            c < exit_low,
            live & (c < entry_low) if self.allow_short else no,
            c > exit_high if self.allow_short else no,
            stop_distance,
        )
        pos[: self.warmup] = 0.0
        return pd.Series(pos, index=bars.index, name="position")


def _fused_set(s: DonchianAtr, table: Any, p: dict[str, np.ndarray]) -> tuple[list, list]:
    """``s``'s rows of its channels (entry high/low, exit high/low) and ATR (-1: no stop), and
    its ATR multiple (the ``FusedRule`` layout of ``rule_block_nb``)."""
    rows = []
    for w in (s.entry_window, s.exit_window):
        rows.append(table.row(("high", w), lambda w=w: _nb.rolling_max_1d_nb(p["high"], w)))
        rows.append(table.row(("low", w), lambda w=w: _nb.rolling_min_1d_nb(p["low"], w)))
    if s.stop != "atr":
        return [*rows, -1], [0.0]
    w = s.atr_window
    atr = table.row(("atr", w), lambda: _nb.atr_1d_nb(p["high"], p["low"], p["close"], w))
    return [*rows, atr], [s.atr_mult]
