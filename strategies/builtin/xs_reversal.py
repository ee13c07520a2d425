"""``xs_reversal``: short-term reversal, hold the recent losers."""

from __future__ import annotations

import pandas as pd

from strategies.cross_section import CrossSectionalStrategy
from strategies.params import Int

__all__ = ["XsReversal"]


class XsReversal(CrossSectionalStrategy):
    """Rank symbols by minus their return over the last ``lookback`` bars; hold the worst performers.

    Score at bar t (the symbol's own bars): ``-(close[t] / close[t - lookback] - 1)``. Warm-up
    ``lookback``. Selection and weights as :class:`~strategies.cross_section.CrossSectionalStrategy`.
    """

    name = "xs_reversal"
    lookback = Int(1, 42, default=5)

    def score(self, close: pd.Series) -> pd.Series:
        return -(close / close.shift(self.lookback) - 1.0)
