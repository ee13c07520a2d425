"""Allocation: turn per-symbol positions into one book's target weights.

:func:`allocate` takes the target exposures of a single-symbol strategy run on each symbol
(``(n, m)``, each in ``[-1, 1]``, union index x symbols, ``NaN`` where the symbol has no bar)
and scales them into book weights, decided at each close from data up to that close only:

* ``equal``: ``position / m`` (``m`` = number of symbols in the universe), the equal-weight book
  of the per-symbol positions; gross exposure never exceeds 1.
* ``inverse_vol``: ``position * (1 / vol_j) / sum_i (1 / vol_i)`` over the symbols with a
  volatility estimate at that close (``vol`` = sample deviation of the last ``lookback`` simple
  returns on the symbol's own bars); gross exposure never exceeds 1.
* ``vol_target``: each symbol's position scaled to ``target_vol / (vol_j * sqrt(periods_per_year))
  / m``, capped at ``1 / m``, so each sleeve aims at the annual volatility ``target_vol``.

Symbols without a volatility estimate yet get weight 0; ``NaN`` positions stay ``NaN`` (keep).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data_loaders.errors import ParameterError
from data_loaders.universe import Universe

__all__ = ["ALLOCATIONS", "allocate", "pooled_positions"]

ALLOCATIONS = ("equal", "inverse_vol", "vol_target")


def _own_calendar_vol(universe: Universe, lookback: int) -> np.ndarray:
    out = np.full(universe.shape, np.nan)
    close = universe.panels["close"]
    for j in range(universe.shape[1]):
        rows = universe.available[:, j]
        ret = pd.Series(close[rows, j]).pct_change()
        out[rows, j] = ret.rolling(lookback, min_periods=lookback).std(ddof=1).to_numpy()
    return out


def allocate(
    positions: pd.DataFrame,
    universe: Universe,
    method: str = "equal",
    *,
    lookback: int = 63,
    target_vol: float = 0.10,
    periods_per_year: float = 252.0,
) -> pd.DataFrame:
    """Book weights from per-symbol positions (see the module docstring for each method)."""
    if method not in ALLOCATIONS:
        raise ParameterError(f"`method` must be one of {ALLOCATIONS}, got {method!r}")
    if not (isinstance(lookback, int) and lookback >= 2):
        raise ParameterError(f"`lookback` must be an int >= 2, got {lookback!r}")
    pos = positions.reindex(index=universe.index, columns=list(universe.symbols)).to_numpy(float)
    m = universe.shape[1]
    if method == "equal":
        weights = pos / m
    else:
        vol = _own_calendar_vol(universe, lookback)
        vol = pd.DataFrame(vol).ffill().to_numpy()  # the latest estimate, never a future one
        vol = np.where(vol > 0, vol, np.nan)
        if method == "inverse_vol":
            inv = 1.0 / vol
            share = inv / np.nansum(inv, axis=1, keepdims=True)
        else:
            share = np.minimum(target_vol / (vol * np.sqrt(periods_per_year)), 1.0) / m
        weights = pos * np.nan_to_num(share, nan=0.0)
    return pd.DataFrame(weights, index=universe.index, columns=list(universe.symbols))


def pooled_positions(
    universe: Universe,
    strategy: type,
    param_sets: list[dict],
    *,
    dtype: type = np.float64,
) -> np.ndarray:
    """Positions of one single-symbol strategy, many parameter sets, on every symbol of a universe.

    Each symbol's positions come from ``strategy.batch_positions`` on its own bars (own calendar)
    and are placed on the union rows where it has a bar; rows where it has none (every row, for a
    symbol without a bar in the universe's window) are ``NaN``
    (keep what is held, see :mod:`backtest.portfolio`). Returns ``(k, n, m)`` for ``k`` sets, the
    layout of :func:`backtest.portfolio.run_books`; ``allocate`` or ``/ m`` turns it into book
    weights (the equal-weight book of the pooled mode).
    """
    n, m = universe.shape
    out = np.full((len(param_sets), n, m), np.nan, dtype=dtype)
    for j, sym in enumerate(universe.symbols):
        rows = universe.available[:, j]
        if not rows.any():  # no bar in this window (listed later, delisted earlier)
            continue
        pos = strategy.batch_positions(universe.bars(sym), param_sets)  # (n_j, k)
        out[:, rows, j] = pos.T
    return out
