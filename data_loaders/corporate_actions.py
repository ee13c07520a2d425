"""Corporate actions: adjust prices by an adjusted close, or flag moves that look like splits.

Conventions
-----------
* **Adjustment.** With an adjusted close column (``Adj Close``), every price of a bar is scaled by
  the same factor ``adj_close / close`` of that bar, so open/high/low/close stay mutually
  consistent and returns across a split or dividend are continuous. Volume is left as traded
  (the adjusted close does not say which part of the factor is a split). The loaded frame
  records ``attrs["adjusted"] = True``; ``adjust=False`` keeps raw prices (``False``);
  files without an adjusted close give ``None`` (unknown).
* **Split detection.** Without an adjusted close, a split shows as a gap between one bar's close
  and the next bar's open by a ratio close to ``1/n`` (an ``n:1`` split), ``2/3`` (``3:2``) or
  ``n`` (a ``1:n`` reverse split). Gaps within ``tolerance`` (relative, default 3%) of such a
  ratio are *suspected* splits: a real crash of -50% would be flagged too, so the flag asks a
  human to look; nothing is changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["SplitFlag", "SPLIT_RATIOS", "adjustment_factor", "apply_adjustment", "detect_splits"]

#: (open/previous close ratio, label) of the splits looked for
SPLIT_RATIOS: tuple[tuple[float, str], ...] = (
    *((1.0 / n, f"{n}:1") for n in (2, 3, 4, 5, 6, 7, 8, 10, 15, 20)),
    (2.0 / 3.0, "3:2"),
    (1.5, "2:3 reverse"),
    *((float(n), f"1:{n} reverse") for n in (2, 3, 4, 5, 6, 8, 10, 15, 20, 25, 50, 100)),
)


@dataclass(frozen=True)
class SplitFlag:
    """A bar whose open is a split-like multiple of the previous close."""

    time: pd.Timestamp
    ratio: float  # open / previous close
    split: str  # e.g. "2:1" (two new shares for one) or "1:10 reverse"

    def __str__(self) -> str:
        return f"{self.time:%Y-%m-%d %H:%M} open/prev close = {self.ratio:.3f} (looks like {self.split})"


def adjustment_factor(close: np.ndarray, adj_close: np.ndarray) -> np.ndarray:
    """Per-bar factor ``adj_close / close`` (arrays of shape (n,), both > 0)."""
    return np.asarray(adj_close, dtype=np.float64) / np.asarray(close, dtype=np.float64)


def apply_adjustment(bars: pd.DataFrame, adj_close: np.ndarray | pd.Series) -> pd.DataFrame:
    """Return a copy of ``bars`` with open/high/low/close scaled by ``adj_close / close``."""
    factor = adjustment_factor(bars["close"].to_numpy(), np.asarray(adj_close))
    out = bars.copy()
    for col in ("open", "high", "low", "close"):
        out[col] = out[col].to_numpy() * factor
    # the adjusted close is given to the last digit: keep it exactly rather than close * factor
    out["close"] = np.asarray(adj_close, dtype=np.float64)
    # multiplication by one positive factor keeps high >= max(open, close) except for rounding
    out["high"] = np.maximum(out["high"].to_numpy(), np.maximum(out["open"], out["close"]))
    out["low"] = np.minimum(out["low"].to_numpy(), np.minimum(out["open"], out["close"]))
    return out


def detect_splits(bars: pd.DataFrame, tolerance: float = 0.03) -> tuple[SplitFlag, ...]:
    """Bars whose open / previous close is within ``tolerance`` (relative) of a split ratio.

    Parameters
    ----------
    bars : DataFrame
        Bars (contract columns), sorted by time.
    tolerance : float
        Relative distance to a ratio in :data:`SPLIT_RATIOS` (0.03 = 3%).

    Returns
    -------
    tuple of SplitFlag, in time order.
    """
    if len(bars) < 2:
        return ()
    ratio = bars["open"].to_numpy()[1:] / bars["close"].to_numpy()[:-1]
    targets = np.array([r for r, _ in SPLIT_RATIOS])
    # only gaps beyond +/-25% can be splits; keeps the search to a handful of bars
    candidates = np.flatnonzero((ratio < 0.8) | (ratio > 1.25))
    flags = []
    for pos in candidates:
        rel = np.abs(ratio[pos] / targets - 1.0)
        best = int(np.argmin(rel))
        if rel[best] <= tolerance:
            flags.append(SplitFlag(bars.index[pos + 1], float(ratio[pos]), SPLIT_RATIOS[best][1]))
    return tuple(flags)
