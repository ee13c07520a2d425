"""Backtest engine, costs, metrics, walk-forward splitters and the lookahead check.

* :func:`run_backtest` — the reference engine over vectorbt (full analysis: equity, returns,
  trades, the vectorbt ``Portfolio``); vectorbt is imported on first use only.
* :func:`evaluate_batch` — the fast path: many parameter sets' positions reduced to metrics by a
  fused numba kernel with the same order arithmetic.
* :class:`Costs` — proportional fees, fixed fees per order, slippage in basis points.
* :class:`Exits` — the exit layer (stops, targets, trailing, time stop) of both engines.
* :mod:`backtest.metrics` — metrics over returns (:func:`compute_metrics`).
* :mod:`backtest.splitters` — walk-forward folds; :mod:`backtest.lookahead` — the lookahead check.
"""

from backtest.batch import BATCH_METRICS, BatchResult, evaluate_batch
from backtest.costs import Costs
from backtest.engine import BacktestResult, run_backtest, targets_portfolio
from backtest.exits import EXIT_REASONS, Exits
from backtest.lookahead import LookaheadReport, check_lookahead
from backtest.metrics import METRIC_NAMES, compute_metrics
from backtest.splitters import Fold, WalkForward

__all__ = [
    "Costs",
    "Exits",
    "EXIT_REASONS",
    "run_backtest",
    "BacktestResult",
    "targets_portfolio",
    "evaluate_batch",
    "BatchResult",
    "BATCH_METRICS",
    "compute_metrics",
    "METRIC_NAMES",
    "WalkForward",
    "Fold",
    "check_lookahead",
    "LookaheadReport",
]
