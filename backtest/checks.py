"""Checks every engine path runs before simulating: positions aligned with the bars, and prices
whose scale the order sizing can represent.

* **Alignment**: positions carrying an index (a Series or DataFrame) must have exactly the bars'
  index; otherwise the run is refused in one line naming the first differing position. (An
  array carries no index: its length is checked by the caller.)
* **Price scale**: a full-equity order buys ``init_cash / price`` units. When that falls below
  the minimum order size (``1e-8`` units, vectorbt's) at the highest price, orders would silently
  not fill (prices near ``1e15`` with 100,000 cash); when it overflows at the lowest price, the
  arithmetic is meaningless. Both are refused in one line naming the bar. With whole units, cash
  that cannot buy one unit at the highest price gives a one-line warning (the run goes on: such
  bars trade nothing).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from backtest._sim_nb import MIN_SIZE
from data_loaders.errors import DataValidationError

__all__ = ["check_aligned", "check_price_scale", "MAX_UNITS"]

#: largest order size in units the sizing accepts
MAX_UNITS = 1e300


def check_aligned(positions: Any, index: pd.Index | None, where: str) -> None:
    """Raise DataValidationError when pandas ``positions`` are not indexed like the bars."""
    if index is None or not isinstance(positions, pd.Series | pd.DataFrame):
        return
    if positions.index.equals(index):
        return
    if len(positions.index) != len(index):
        raise DataValidationError(
            f"{where}: positions have {len(positions.index)} rows and the bars {len(index)}; "
            "compute positions on the same bars"
        )
    k = int(np.argmax(np.asarray(positions.index != index)))
    raise DataValidationError(
        f"{where}: positions index differs from the bars index at row {k} "
        f"(position {positions.index[k]} vs bar {index[k]}); compute positions on the same bars"
    )


def check_price_scale(
    prices: np.ndarray, init_cash: float, whole_units: bool, where: str, index: Any = None
) -> None:
    """Refuse prices whose full-equity order size underflows or overflows (see the module)."""
    prices = np.asarray(prices, dtype=np.float64)
    hi, lo = int(np.argmax(prices)), int(np.argmin(prices))
    name = (lambda k: f"{index[k]}") if index is not None else (lambda k: f"bar {k}")
    units = init_cash / prices[hi]
    if units < MIN_SIZE:
        raise DataValidationError(
            f"{where}: at {name(hi)} the price {prices[hi]:.6g} lets init_cash={init_cash:g} buy "
            f"only {units:.3g} units, below the minimum order size {MIN_SIZE:g}: no order would "
            "fill; rescale the prices or raise init_cash"
        )
    if not init_cash / prices[lo] < MAX_UNITS:
        raise DataValidationError(
            f"{where}: at {name(lo)} the price {prices[lo]:.6g} makes a full-equity order of "
            f"init_cash={init_cash:g} overflow ({init_cash / prices[lo]:.3g} units); rescale the "
            "prices"
        )
    if whole_units and units < 1.0:
        warnings.warn(
            f"{where}: whole_units with init_cash={init_cash:g} cannot buy one unit at "
            f"{name(hi)} (price {prices[hi]:.6g}); orders there will not fill",
            RuntimeWarning,
            stacklevel=3,
        )
