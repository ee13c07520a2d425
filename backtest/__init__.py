"""Backtest engine, costs, metrics, walk-forward splitters and the lookahead check.

* :func:`run_backtest` — the reference engine over vectorbt (full analysis: equity, returns,
  trades, the vectorbt ``Portfolio``); vectorbt is imported on first use only.
* :func:`evaluate_batch` — the fast path: many parameter sets' positions reduced to metrics by a
  fused numba kernel with the same order arithmetic.
* :func:`run_book` / :func:`run_books` — the portfolio engine: target weights of a universe ->
  one book with shared cash (fused numba kernel, :mod:`backtest.portfolio`).
* :class:`Costs` — proportional fees, fixed fees per order, slippage in basis points.
* :mod:`backtest.metrics` — metrics over returns (:func:`compute_metrics`).
* :mod:`backtest.splitters` — walk-forward folds; :mod:`backtest.lookahead` — the lookahead check.
"""

from backtest.batch import BATCH_METRICS, BatchResult, evaluate_batch
from backtest.costs import Costs
from backtest.engine import BacktestResult, run_backtest, targets_portfolio
from backtest.lookahead import LookaheadReport, check_lookahead
from backtest.metrics import METRIC_NAMES, compute_metrics
from backtest.portfolio import BookResult, BookSettings, BooksResult, run_book, run_books
from backtest.splitters import Fold, WalkForward

__all__ = [
    "Costs",
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
    "BookSettings",
    "BookResult",
    "BooksResult",
    "run_book",
    "run_books",
]
