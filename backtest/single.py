"""One single-symbol backtest's full metrics through the fused kernel (no vectorbt import).

What ``research backtest`` prints for a single-symbol strategy: the batch kernel's metrics
plus the quantile and moment metrics computed on its returns, keyed like
:func:`backtest.metrics.compute_metrics` followed by ``final_equity, n_orders, fees_paid``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backtest import metrics as m
from backtest.batch import evaluate_batch
from backtest.execution import Execution
from backtest.metric_table import METRICS

__all__ = ["backtest_metrics"]

#: keys of :func:`backtest_metrics`, in order
KEYS = tuple(info.name for info in METRICS)


def backtest_metrics(
    bars: Any,
    positions: Any,
    execution: Execution,
    *,
    whole_units: bool = False,
    start: int = 0,
    orders: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Metrics of one single-symbol backtest of ``positions`` on ``bars`` from bar ``start``.

    The kernel gives the running-sum metrics (total return ... Omega, equal to
    ``compute_metrics`` on its returns to ~1e-13), the trade statistics (vectorbt exit trades),
    exposure and turnover; tail ratio, VaR, CVaR, skew and kurtosis are computed on the
    simulated returns. Values are Python numbers (JSON-ready); NaN stays NaN. ``orders``: a
    strategy's priced orders (:meth:`strategies.Strategy.order_kwargs`), filled on the bars'
    high and low.
    """
    pos = np.asarray(positions, dtype=np.float64).reshape(-1, 1)
    priced: dict[str, Any] = {}
    if orders:
        priced = {**orders, "high": bars["high"].to_numpy(np.float64),
                  "low": bars["low"].to_numpy(np.float64)}  # fmt: skip
        priced["order_prices"] = np.asarray(orders["order_prices"], dtype=np.float64)
    result = evaluate_batch(
        bars["open"].to_numpy(np.float64),
        bars["close"].to_numpy(np.float64),
        pos,
        **{
            **execution.engine_kwargs(),
            "periods_per_year": execution.periods_per_year,
            "whole_units": bool(whole_units or execution.whole_units),
            **priced,
        },
        start=start,
        return_returns=True,
    )
    row = {k: result.metrics[k].iloc[0] for k in result.metrics.columns}
    returns = result.returns[:, 0]
    row["tail_ratio"] = m.tail_ratio(returns)
    row["value_at_risk"] = m.value_at_risk(returns)
    row["conditional_value_at_risk"] = m.conditional_value_at_risk(returns)
    row["skew"] = m.skew(returns)
    row["kurtosis"] = m.kurtosis(returns)
    row["n_periods"] = int(returns.shape[0])
    return {k: row[k].item() if hasattr(row[k], "item") else row[k] for k in KEYS}
