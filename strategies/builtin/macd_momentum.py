"""``macd_momentum``: follow the MACD line against its signal line."""

from __future__ import annotations

import numpy as np
import pandas as pd

from strategies._bars import single_bars
from strategies._fused import RULE_MACD, FusedRule
from strategies.base import Strategy
from strategies.indicators import _nb
from strategies.indicators import fast as ind
from strategies.params import Categorical, Int

__all__ = ["MacdMomentum"]


class MacdMomentum(Strategy):
    """EMA/MACD momentum.

    ``MACD[t] = EMA(close, fast)[t] - EMA(close, slow)[t]`` and ``signal_line = EMA(MACD,
    signal)`` (EMAs with span ``w``, ``adjust=False``, defined from ``w - 1`` bars: the ``ta``
    convention). Rule at bar t's close: long (``+1``) while ``MACD > signal_line``; when
    ``allow_short`` short (``-1``) while ``MACD < signal_line``, else flat.

    Warm-up ``slow + signal - 2``: the first bar where the signal line exists.
    """

    name = "macd_momentum"
    fast = Int(2, 50, default=12)
    slow = Int(5, 200, default=26)
    signal = Int(2, 50, default=9)
    allow_short = Categorical([False, True], default=False)
    constraints = ("fast < slow",)
    #: the rule inside the simulation pass: each distinct window's EMA once per batch
    fused_signal = FusedRule(RULE_MACD, lambda s, table, p: (
        [table.row(s.fast, lambda: _nb.ema_1d_nb(p["close"], s.fast)),
         table.row(s.slow, lambda: _nb.ema_1d_nb(p["close"], s.slow)), s.signal],
        [],
    ))  # fmt: skip

    @property
    def warmup(self) -> int:
        return self.slow + self.signal - 2

    def positions(self, bars: pd.DataFrame, features: pd.DataFrame | None = None) -> pd.Series:
        close = single_bars(bars, self.label())["close"]
        line = ind.ema(close, self.fast) - ind.ema(close, self.slow)
        sig = ind.ema(line, self.signal)
        diff = (line - sig).to_numpy()
        pos = np.where(diff > 0, 1.0, 0.0)
        if self.allow_short:
            pos = np.where(diff < 0, -1.0, pos)
        pos[: self.warmup] = 0.0
        return pd.Series(pos, index=close.index, name="position")
