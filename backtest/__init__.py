"""Backtest engine, costs, metrics, walk-forward splitters and the lookahead check.

* :func:`run_backtest` — the reference engine over vectorbt (full analysis: equity, returns,
  trades, the vectorbt ``Portfolio``); vectorbt is imported on first use only.
* :func:`evaluate_batch` — the fast path: many parameter sets' positions reduced to metrics by a
  fused numba kernel with the same order arithmetic.
* :func:`run_book` / :func:`run_books` — the portfolio engine: target weights of a universe ->
  one book with shared cash (fused numba kernel, :mod:`backtest.portfolio`).
* :class:`Costs` — proportional fees, fixed fees per order, slippage in basis points;
  :class:`Execution` — costs plus fill timing, direction, cash and bars per year.
* :class:`Exits` — the exit layer (stops, targets, trailing, time stop) of both engines.
* :mod:`backtest.metrics` — metrics over returns (:func:`compute_metrics`);
  :mod:`backtest.metric_table` — every metric's name, direction, label and unit.
* :mod:`backtest.splitters` — walk-forward folds; :mod:`backtest.lookahead` — the lookahead check.

Public names are imported on first use (PEP 562), so importing a light module such as
:mod:`backtest.metric_table` or :mod:`backtest.costs` does not load numba.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from data_loaders.lazy import lazy_exports

#: public name -> module that defines it
_LAZY: dict[str, str] = {
    "Costs": "backtest.costs",
    "Execution": "backtest.execution",
    "Exits": "backtest.exits",
    "EXIT_REASONS": "backtest.exits",
    "run_backtest": "backtest.engine",
    "BacktestResult": "backtest.result",
    "targets_portfolio": "backtest.engine",
    "evaluate_batch": "backtest.batch",
    "BatchResult": "backtest.batch",
    "BATCH_METRICS": "backtest.batch",
    "backtest_metrics": "backtest.single",
    "compute_metrics": "backtest.metrics",
    "METRIC_NAMES": "backtest.metrics",
    "METRICS": "backtest.metric_table",
    "MetricInfo": "backtest.metric_table",
    "WalkForward": "backtest.splitters",
    "Fold": "backtest.splitters",
    "check_lookahead": "backtest.lookahead",
    "LookaheadReport": "backtest.lookahead",
    "BookSettings": "backtest.portfolio",
    "BookResult": "backtest.portfolio",
    "BooksResult": "backtest.portfolio",
    "run_book": "backtest.portfolio",
    "run_books": "backtest.portfolio",
}

__all__ = list(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)


if TYPE_CHECKING:  # static analysers and IDEs see the real names
    from backtest.batch import BATCH_METRICS, BatchResult, evaluate_batch
    from backtest.costs import Costs
    from backtest.engine import run_backtest, targets_portfolio
    from backtest.execution import Execution
    from backtest.exits import EXIT_REASONS, Exits
    from backtest.lookahead import LookaheadReport, check_lookahead
    from backtest.metric_table import METRICS, MetricInfo
    from backtest.metrics import METRIC_NAMES, compute_metrics
    from backtest.portfolio import BookResult, BookSettings, BooksResult, run_book, run_books
    from backtest.result import BacktestResult
    from backtest.single import backtest_metrics
    from backtest.splitters import Fold, WalkForward
