"""``xs_low_vol``: low volatility, hold the calmest symbols."""

from __future__ import annotations

import numpy as np
import pandas as pd

from strategies.cross_section import CrossSectionalStrategy
from strategies.params import Int

__all__ = ["XsLowVol"]


class XsLowVol(CrossSectionalStrategy):
    """Rank symbols by minus the standard deviation of their last ``lookback`` log returns.

    Score at bar t (the symbol's own bars): ``-std(log(close[s] / close[s-1]), s = t-lookback+1..t)``
    (sample deviation, ``ddof=1``). Warm-up ``lookback`` (``lookback`` returns need
    ``lookback + 1`` closes). Selection and weights as
    :class:`~strategies.cross_section.CrossSectionalStrategy`.
    """

    name = "xs_low_vol"
    lookback = Int(10, 252, default=63)

    def score(self, close: pd.Series) -> pd.Series:
        log_ret = np.log(close).diff()
        return -log_ret.rolling(self.lookback, min_periods=self.lookback).std(ddof=1)
