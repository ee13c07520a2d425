"""The metric table is the one source of metric names: every list derives from it."""

from __future__ import annotations

import numpy as np

from backtest import _metrics_nb as nb
from backtest import metric_table as mt
from backtest.batch import BATCH_METRICS, evaluate_batch
from backtest.metrics import METRIC_NAMES, compute_metrics
from research.optimize.objectives import DEFAULT_DIRECTIONS, METRICS


def test_lists_derive_from_the_table():
    names = [m.name for m in mt.METRICS]
    assert len(names) == len(set(names))
    assert METRIC_NAMES == tuple(n for n in names if mt.METRIC_INFO[n].kind != "simulation")
    assert nb.RETURNS_METRICS == mt.names_of("returns")
    assert BATCH_METRICS == METRICS == mt.SEARCHABLE
    assert set(DEFAULT_DIRECTIONS) == set(METRICS)
    assert {n for n, d in DEFAULT_DIRECTIONS.items() if d == "minimize"} == {
        "annual_volatility",
        "turnover",
        "n_orders",
        "fees_paid",
    }
    assert all(m.direction in ("maximize", "minimize") for m in mt.METRICS)


def test_compute_metrics_and_the_batch_kernel_give_the_table_keys():
    rng = np.random.default_rng(3)
    returns = rng.normal(0, 0.01, 300)
    assert tuple(compute_metrics(returns)) == mt.COMPUTED
    close = 100 * np.cumprod(1 + returns)
    pos = np.sign(np.sin(np.arange(300) / 9.0)).reshape(-1, 1)
    res = evaluate_batch(close, close, pos)
    assert tuple(res.metrics.columns) == mt.SEARCHABLE


def test_headline_percent_and_labels():
    headline = "total_return cagr annual_volatility sharpe_ratio sortino_ratio max_drawdown"
    assert mt.HEADLINE == (*headline.split(), "calmar_ratio", "n_trades", "win_rate")
    assert {"cagr", "total_return", "max_drawdown", "annual_volatility", "exposure"} <= mt.PERCENT
    assert "sharpe_ratio" not in mt.PERCENT and "n_trades" not in mt.PERCENT
    assert mt.METRIC_INFO["conditional_value_at_risk"].label == "Conditional VaR"
    assert mt.METRIC_INFO["fees_paid"].kind == "simulation"
