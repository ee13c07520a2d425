"""Priced orders: limit and stop orders at a price the strategy sets at each close.

A strategy's target exposure moves at the next open by a market order; a strategy may also set,
at each close ``t``, the price of the order that moves the target decided at that close
(:meth:`strategies.Strategy.order_prices`; the engines' ``order_prices=``). The rules, the same
in :func:`backtest.run_backtest` and the batch kernel of :func:`backtest.evaluate_batch`:

* **Which orders.** When the target decided at the close of ``t`` differs from the target in
  force and ``price[t]`` is a number, the order is a ``limit`` or ``stop`` order (one
  ``order_type`` per run) at that price; a NaN price is a market order at the next open. The
  order is a **buy** when the new target is above the one in force, else a **sell**. Orders of
  the exit layer (stops, targets, trails, the time stop) stay market or level orders.
* **Fills on bar ``t + 1``'s range only** (the price is decided with data up to bar ``t``; the
  next bar's open, high and low only decide the fill): limit buy at ``min(open, price)`` when
  ``low <= price``; limit sell at ``max(open, price)`` when ``high >= price``; stop buy at
  ``max(open, price)`` when ``high >= price``; stop sell at ``min(open, price)`` when
  ``low <= price``. An open already through the price (a gap) fills at the open. The order is
  sized like a market order (target x equity valued at the fill price) and pays the same fees
  and slippage. Needs ``execution="next-open"`` and the bars' ``high`` and ``low``.
* **Unfilled orders.** ``unfilled="persist"`` (default, good-till-filled): while the target
  still differs from the one in force the order is placed again on every later bar, at the
  price the strategy set at the previous close (a NaN there: a market order).
  ``unfilled="cancel"`` (the order lives one bar): the target it was meant to reach is ignored
  until the strategy's target changes to another value; a new value places a new order.
* **With an exit layer** (:mod:`backtest.exits`) the levels of a trade entered by a priced
  order are set from its fill price and watched from the next bar (where inside the entry bar
  the fill happened is unknown).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from backtest._entries_nb import K_LIMIT, K_STOP
from backtest.checks import check_aligned
from data_loaders.errors import DataValidationError, ParameterError, did_you_mean

__all__ = ["ORDER_TYPES", "UNFILLED", "check_order_options", "order_price_matrix"]

ORDER_TYPES = ("limit", "stop")
UNFILLED = ("persist", "cancel")
_KINDS = {"limit": K_LIMIT, "stop": K_STOP}


def check_order_options(
    order_type: Any, unfilled: Any, execution: str, where: str
) -> tuple[int, bool]:
    """``(kind, cancel)`` kernel codes of validated priced-order options.

    Raises:
        ParameterError: an unknown ``order_type`` or ``unfilled``, or fills at the close.
    """
    for name, value, choices in (
        ("order_type", order_type, ORDER_TYPES),
        ("unfilled", unfilled, UNFILLED),
    ):
        if value not in choices:
            raise ParameterError(
                f"{where}: `{name}` must be one of {', '.join(map(repr, choices))}, got "
                f"{value!r}{did_you_mean(str(value), choices)}"
            )
    if execution != "next-open":
        raise ParameterError(
            f"{where}: `order_prices` fill on the next bar's range; they need "
            f"execution='next-open', got {execution!r}"
        )
    return _KINDS[order_type], unfilled == "cancel"


def order_price_matrix(
    prices: Any, n_bars: int, n_sets: int, where: str, index: pd.Index | None = None
) -> np.ndarray:
    """Order prices as a C-ordered float64 ``(n_bars, n_sets)`` matrix (a 1-D series is one set).

    Raises:
        DataValidationError: wrong shape, not aligned with the bars' ``index``, or a price that
            is neither NaN (a market order) nor a finite number > 0.
    """
    check_aligned(prices, index, f"{where}: order_prices")
    values = prices.to_numpy() if isinstance(prices, pd.Series | pd.DataFrame) else prices
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataValidationError(f"{where}: `order_prices` must be numeric") from None
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.shape != (n_bars, n_sets):
        raise DataValidationError(
            f"{where}: `order_prices` must have shape ({n_bars}, {n_sets}) like the positions, "
            f"got {np.shape(values)}"
        )
    bad = ~(np.isnan(arr) | (np.isfinite(arr) & (arr > 0)))
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataValidationError(
            f"{where}: `order_prices` of set {col} at bar {row} must be a price > 0 or NaN "
            f"(a market order), got {float(arr[row, col])!r}"
        )
    return np.ascontiguousarray(arr)
