"""Seeded data for the strategy tests (the data layer's generators) and a lookahead probe."""

from __future__ import annotations

import numpy as np
import pandas as pd

from data_loaders import cointegrated_pair, synthetic_bars


def make_bars(n: int = 500, seed: int = 0) -> pd.DataFrame:
    """Seeded daily bars from the data layer's regime-switching GBM."""
    return synthetic_bars(n, freq="1D", seed=seed)


def make_pair(n: int = 600, seed: int = 0, beta: float = 1.3) -> dict[str, pd.DataFrame]:
    """Two seeded daily symbols ``YYY``, ``XXX`` whose log closes are cointegrated with ratio ``beta``."""
    return cointegrated_pair(
        n, seed=seed, hedge_ratio=beta, half_life=7.0, spread_vol=0.01, symbols=("YYY", "XXX")
    )


def truncate(bars, k: int):
    """The first ``k`` bars of a frame or of every frame of a dict."""
    if isinstance(bars, dict):
        return {s: b.iloc[:k] for s, b in bars.items()}
    return bars.iloc[:k]


def first_lookahead_bar(positions_fn, bars, cuts) -> int | None:
    """Recompute ``positions_fn`` on data cut at each of ``cuts``; the first bar whose value changed.

    ``None`` when every past value is unchanged (exact equality, NaN equal to NaN).
    """
    full = np.asarray(positions_fn(bars), dtype=np.float64)
    first = None
    for k in cuts:
        part = np.asarray(positions_fn(truncate(bars, k)), dtype=np.float64)
        if part.shape[0] != k:
            return 0
        same = (part == full[:k]) | (np.isnan(part) & np.isnan(full[:k]))
        if same.ndim > 1:
            same = same.all(axis=1)
        if not same.all():
            bad = int(np.argmin(same))
            first = bad if first is None else min(first, bad)
    return first
