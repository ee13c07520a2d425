"""``xs_momentum``: cross-sectional momentum, the trailing return with a skip period."""

from __future__ import annotations

import pandas as pd

from strategies.cross_section import CrossSectionalStrategy
from strategies.params import Int

__all__ = ["XsMomentum"]


class XsMomentum(CrossSectionalStrategy):
    """Rank symbols by their return from ``lookback`` bars ago to ``skip`` bars ago; hold the best.

    Score at bar t (the symbol's own bars): ``close[t - skip] / close[t - lookback] - 1``, the
    classic 12-1 momentum with ``lookback=252, skip=21`` (skipping the last month avoids the
    short-term reversal). Warm-up ``lookback``: the first bar with a score. Selection and weights
    as :class:`~strategies.cross_section.CrossSectionalStrategy`.
    """

    name = "xs_momentum"
    lookback = Int(2, 504, default=252)
    skip = Int(0, 63, default=21)
    constraints = ("skip < lookback",)

    def score(self, close: pd.Series) -> pd.Series:
        return close.shift(self.skip) / close.shift(self.lookback) - 1.0
