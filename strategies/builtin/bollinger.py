"""``bollinger``: Bollinger-band mean reversion or breakout."""

from __future__ import annotations

import pandas as pd

from strategies._bars import single_bars
from strategies._fused import RULE_BOLLINGER, FusedRule
from strategies.base import Signals, Strategy
from strategies.indicators import _nb
from strategies.indicators import fast as ind
from strategies.params import Categorical, Float, Int

__all__ = ["Bollinger"]


class Bollinger(Strategy):
    """Bollinger bands, two modes.

    Bands: ``mid = SMA(close, window)``, ``upper/lower = mid +- n_std * std`` with the population
    standard deviation (``ddof=0``, as ``ta``), all over bars ``t-window+1 .. t``.

    * ``mode="reversion"``: long entry when ``close < lower``, exit when ``close >= mid``; with
      ``allow_short`` short entry when ``close > upper``, exit when ``close <= mid``.
    * ``mode="breakout"``: long entry when ``close > upper``, exit when ``close < mid``; with
      ``allow_short`` short entry when ``close < lower``, exit when ``close > mid``.

    Signals are decided at bar t's close. Warm-up ``window - 1``.
    """

    name = "bollinger"
    window = Int(5, 200, default=20)
    n_std = Float(0.5, 4.0, default=2.0)
    mode = Categorical(["reversion", "breakout"], default="reversion")
    allow_short = Categorical([False, True], default=False)
    #: the rule inside the simulation pass: each distinct window's SMA and std once per batch
    fused_signal = FusedRule(RULE_BOLLINGER, lambda s, table, p: (
        [table.row(("sma", s.window), lambda: _nb.rolling_mean_1d_nb(p["close"], s.window)),
         table.row(("std", s.window), lambda: _nb.rolling_std_1d_nb(p["close"], s.window, 0)),
         s.mode == "breakout"],
        [s.n_std],
    ))  # fmt: skip

    @property
    def warmup(self) -> int:
        return self.window - 1

    def signals(self, bars: pd.DataFrame, features: pd.DataFrame | None = None) -> Signals:
        close = single_bars(bars, self.label())["close"]
        mid = ind.sma(close, self.window)
        width = self.n_std * ind.rolling_std(close, self.window, ddof=0)
        upper, lower = mid + width, mid - width
        if self.mode == "reversion":
            long_in, long_out = close < lower, close >= mid
            short_in, short_out = close > upper, close <= mid
        else:
            long_in, long_out = close > upper, close < mid
            short_in, short_out = close < lower, close > mid
        return Signals(
            entries=long_in,
            exits=long_out,
            short_entries=short_in if self.allow_short else None,
            short_exits=short_out if self.allow_short else None,
        )
