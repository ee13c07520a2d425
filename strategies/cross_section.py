"""Cross-sectional strategies: score every symbol at each close, hold the best (and short the worst).

A cross-sectional strategy is a short subclass of :class:`CrossSectionalStrategy` that
implements :meth:`~CrossSectionalStrategy.score` on **one symbol's closes, on its own
calendar** (higher = more attractive); the base aligns the universe on the union of timestamps
(:func:`data_loaders.universe.align_universe`), ranks the symbols that have a bar at each close
and turns the ranks into target weights (:func:`select_weights`)::

    class Carry(CrossSectionalStrategy):
        name = "carry"
        lookback = Int(5, 120, default=20)   # the warm-up: first bar with a score

        def score(self, close: pd.Series) -> pd.Series:
            return close.pct_change(self.lookback)

Conventions (shared by the built-ins ``xs_momentum``, ``xs_reversal``, ``xs_low_vol``):

* Weights are decided at each close of the union calendar, as fractions of the book (see
  :mod:`backtest.portfolio`): ``long_only`` holds the selected symbols at ``1 / k`` each;
  ``long_short`` holds ``+0.5 / k`` on the top and ``-0.5 / k`` on the bottom (dollar neutral,
  gross 1). A symbol without a bar at a close gets ``NaN`` (keep what is held: its order waits
  for its next bar); a symbol without a score yet is not ranked (weight 0).
* Selection: ``select="top_k"`` takes the ``k`` best (and ``k`` worst for long-short);
  ``select="quantile"`` takes ``ceil(quantile * n)`` of the ``n`` symbols ranked that day. Ties
  are broken by column order (stable sort), so a result never depends on the platform.
* Scores only read closes at or before their bar: close-only data is fine, and
  :attr:`price_fields` declares what else a subclass reads (checked with
  :func:`data_loaders.universe.require_fields`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from data_loaders.errors import ParameterError
from data_loaders.universe import Universe, align_universe, require_fields
from strategies.base import Strategy
from strategies.params import Categorical, Float, Int

__all__ = ["CrossSectionalStrategy", "select_weights", "per_symbol"]


def per_symbol(universe: Universe, fn: Any) -> pd.DataFrame:
    """Apply ``fn(close_series) -> series`` to each symbol's closes on its own calendar.

    The results are put back on the union index with ``NaN`` where the symbol has no bar (no
    forward fill), so a rolling window counts the symbol's own bars, never union rows.
    """
    out = np.full(universe.shape, np.nan)
    close = universe.panels["close"]
    for j in range(universe.shape[1]):
        rows = universe.available[:, j]
        if not rows.any():  # no bar in this window (listed later, delisted earlier)
            continue
        series = pd.Series(close[rows, j], index=universe.index[rows])
        out[rows, j] = np.asarray(fn(series), dtype=np.float64)
    return pd.DataFrame(out, index=universe.index, columns=list(universe.symbols))


def select_weights(
    scores: np.ndarray,
    available: np.ndarray,
    *,
    side: str,
    select: str,
    k: int,
    quantile: float,
) -> np.ndarray:
    """Target weights ``(n, m)`` from scores ``(n, m)`` (see the module docstring for the rules)."""
    n, m = scores.shape
    weights = np.zeros((n, m))
    for t in range(n):
        valid = np.flatnonzero(available[t] & np.isfinite(scores[t]))
        count = len(valid)
        if count == 0:
            continue
        take = k if select == "top_k" else math.ceil(quantile * count)
        if side == "long_short":
            take = min(take, count // 2)
        else:
            take = min(take, count)
        if take == 0:
            continue
        order = valid[np.argsort(-scores[t, valid], kind="stable")]
        if side == "long_only":
            weights[t, order[:take]] = 1.0 / take
        else:
            weights[t, order[:take]] = 0.5 / take
            weights[t, order[-take:]] = -0.5 / take
    weights[~available] = np.nan
    return weights


class CrossSectionalStrategy(Strategy):
    """Base of cross-sectional strategies: implement :meth:`score` (see the module docstring)."""

    multi_asset = True
    #: bar fields the strategy reads besides ``close`` (refused on close-only data)
    price_fields: ClassVar[tuple[str, ...]] = ("close",)

    side = Categorical(("long_only", "long_short"), default="long_only")
    select = Categorical(("top_k", "quantile"), default="top_k")
    k = Int(1, 50, default=5, when={"select": ("top_k",)})
    quantile = Float(0.05, 0.5, default=0.2, when={"select": ("quantile",)})

    @property
    def warmup(self) -> int:
        """The ``lookback`` parameter when the strategy has one (its first bar with a score),
        else 0; override it when the score needs another warm-up."""
        return int(getattr(self, "lookback", 0))

    def score(self, close: pd.Series) -> pd.Series:
        """One symbol's score at each of its bars (higher = more attractive), causal."""
        raise NotImplementedError(f"{type(self).__name__} must implement score(close)")

    def scores(self, universe: Universe) -> pd.DataFrame:
        """Scores of every symbol on the union index (``NaN`` where no bar or no score yet)."""
        return per_symbol(universe, self.score)

    def positions(
        self, bars: Mapping[str, pd.DataFrame] | Universe, features: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        """Target weights, union index x symbols, decided at each close."""
        if not isinstance(bars, Mapping | Universe):
            raise ParameterError(
                f"{self.label()} ranks several symbols; pass a dict of symbol -> bars"
            )
        uni = align_universe(bars, source=f"{self.label()} bars")
        require_fields(uni, self.price_fields, who=f"strategy {self.label()!r}")
        scores = self.scores(uni).to_numpy()
        weights = select_weights(
            scores,
            uni.available,
            side=self.side,
            select=self.select,
            k=int(self.k),
            quantile=float(self.quantile),
        )
        return pd.DataFrame(weights, index=uni.index, columns=list(uni.symbols))
