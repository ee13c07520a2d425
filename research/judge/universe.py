"""Cross-symbol robustness of a universe run: per-symbol out-of-sample Sharpe and breadth.

:func:`universe_checks` returns, per *group* of searches, the symbols, the out-of-sample Sharpe
ratio of each symbol on each fold (the report's symbol x fold heatmap), each symbol's stitched
out-of-sample Sharpe, and the **breadth**: the share of symbols whose stitched out-of-sample
Sharpe ratio is above 0 (the ``min_breadth`` gate reads it).

* ``per_symbol``: a group is one strategy x optimizer over every symbol (one search each); each
  symbol's numbers are its own search's walk-forward picks, by fold number (a symbol listed
  later or delisted earlier has ``NaN`` on the folds it took no part in). Every row of the group
  gets the group's breadth.
* ``pooled``: a group is the one search; each fold's pick (one set for every symbol) is
  re-evaluated on each symbol's own bars over that fold's test window (the symbol's bars between
  the window's first and last timestamps; ``NaN`` with fewer than 2; the inner strategy, the
  run's costs and fills, :func:`research.judge.reevaluate.evaluate_sets`).
* ``portfolio``: each symbol's numbers are those of its contribution to the book
  (``held weight at t-1 x the symbol's return at t``, before costs), so the breadth is the share
  of symbols the book earned from.

Every ``pooled`` / ``portfolio`` group also carries the ``notes`` of its book over the stitched
out-of-sample weights (:func:`backtest.portfolio.run_book`: exposure scaling, close-only fills).

Sharpe ratios are annualised with the run's bars per year; stitched ones are computed on the
concatenated test-window returns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from backtest.execution import Execution
from backtest.metrics import sharpe_ratio
from data_loaders.bars import bars_index
from research.judge.reevaluate import SearchOutcome, evaluate_sets

__all__ = ["universe_checks", "breadth_of", "benchmark_bars"]


def benchmark_bars(searches: Sequence[SearchOutcome]) -> Any:
    """The bars of the run's buy-and-hold: the universe (equal weights) when a search trades
    several symbols or the run searched per symbol, else the first search's bars."""
    for s in searches:
        if isinstance(s.bars, Mapping):
            return s.bars
    per = {s.symbol: s.bars for s in searches if s.symbol is not None}
    return per if len(per) > 1 else searches[0].bars


def breadth_of(oos_sharpe: Sequence[float]) -> float | None:
    """The share of symbols whose out-of-sample Sharpe ratio is above 0 (NaN counts as not);
    None for no symbol."""
    v = np.asarray(list(oos_sharpe), dtype=np.float64)
    return None if v.size == 0 else float(np.mean(np.nan_to_num(v, nan=-1.0) > 0))


def _group(name: str, symbols: list[str], folds: list[int], fold_sharpe: Any, oos: Any) -> dict:
    return {
        "group": name,
        "symbols": symbols,
        "folds": folds,
        "fold_sharpe": np.asarray(fold_sharpe, dtype=np.float64).tolist(),
        "oos_sharpe": [float(x) for x in oos],
        "breadth": breadth_of(oos),
    }


def _per_symbol(searches: list[SearchOutcome], ppy: float) -> list[dict]:
    groups: dict[str, list[SearchOutcome]] = {}
    for s in searches:
        groups.setdefault(f"{s.label}/{s.optimizer}", []).append(s)
    out = []
    for name, members in groups.items():
        folds = sorted({f.fold for s in members for f in s.result.folds})
        grid = []
        for s in members:
            own = {
                f.fold: float(f.oos_metrics.get("sharpe_ratio", math.nan)) for f in s.result.folds
            }
            grid.append([own.get(k, math.nan) for k in folds])
        oos = [
            sharpe_ratio(s.result.oos_returns.fillna(0.0), periods_per_year=ppy) for s in members
        ]
        g = _group(name, [str(s.symbol) for s in members], folds, grid, oos)
        g["keys"] = [s.key for s in members]
        out.append(g)
    return out


def _pooled(s: SearchOutcome, execution: Execution) -> dict:
    inner = s.strategy_cls.inner
    symbols = list(s.bars)
    union = bars_index(s.bars)
    grid = np.full((len(symbols), len(s.result.folds)), np.nan)
    stitched: list[list[np.ndarray]] = [[] for _ in symbols]
    for k, f in enumerate(s.result.folds):
        if f.best_params is None:
            continue
        first, last = union[f.test_range.start], union[f.test_range.stop - 1]
        for j, sym in enumerate(symbols):
            own = s.bars[sym].index
            window = (int(own.searchsorted(first, "left")), int(own.searchsorted(last, "right")))
            if window[1] - window[0] < 2:  # not listed in this window
                continue
            res = evaluate_sets(
                execution, inner, [f.best_params], window, bars=s.bars[sym], fit=None,
                returns=True,
            )[0]  # fmt: skip
            if res.error is None:
                grid[j, k] = res.metrics[0].get("sharpe_ratio", math.nan)
                stitched[j].append(res.returns[0])
    ppy = execution.periods_per_year
    oos = [
        sharpe_ratio(pd.Series(np.concatenate(r)), periods_per_year=ppy) if r else math.nan
        for r in stitched
    ]
    g = _group(s.key, symbols, [f.fold for f in s.result.folds], grid, oos)
    g["keys"] = [s.key]
    return g


def _book(s: SearchOutcome, execution: Execution) -> tuple[Any, Any]:
    """``(BookResult, Universe)`` of the stitched out-of-sample weights over the whole bars."""
    from backtest.portfolio import run_book
    from data_loaders.universe import align_universe
    from research.optimize._book import book_settings

    uni = align_universe(s.bars)
    weights = pd.DataFrame(s.result.oos_positions).reindex(
        index=uni.index, columns=list(uni.symbols)
    )
    return run_book(uni, weights, book_settings(s.strategy_cls.book, execution)), uni


def _portfolio(s: SearchOutcome, execution: Execution, book: Any, uni: Any) -> dict:
    close = uni.frame("close")
    rets = close.pct_change(fill_method=None)
    contrib = (book.held.shift(1) * rets).fillna(0.0)
    ppy = execution.periods_per_year
    folds = s.result.folds
    grid = np.full((len(uni.symbols), len(folds)), np.nan)
    for k, f in enumerate(folds):
        part = contrib.iloc[f.test_range.start : f.test_range.stop]
        grid[:, k] = [sharpe_ratio(part[c], periods_per_year=ppy) for c in part.columns]
    a, b = folds[0].test_range.start, folds[-1].test_range.stop
    oos = [sharpe_ratio(contrib[c].iloc[a:b], periods_per_year=ppy) for c in contrib.columns]
    g = _group(s.key, list(uni.symbols), [f.fold for f in folds], grid, oos)
    g["keys"] = [s.key]
    return g


def universe_checks(searches: Sequence[SearchOutcome], execution: Execution) -> dict[str, Any]:
    """``{"groups": [...], "breadth": {search key: breadth}}`` (see the module docstring); an
    empty dict when the run has no universe search."""
    per = [s for s in searches if s.symbol is not None]
    groups = _per_symbol(per, execution.periods_per_year) if per else []
    for s in searches:
        if getattr(s.strategy_cls, "book", None) is None or s.result.oos_positions is None:
            continue
        book, uni = _book(s, execution)
        pooled = hasattr(s.strategy_cls, "inner")
        g = _pooled(s, execution) if pooled else _portfolio(s, execution, book, uni)
        g["mode"] = "pooled" if pooled else "portfolio"
        g["notes"] = list(book.notes)
        groups.append(g)
    for g in groups:
        g.setdefault("mode", "per_symbol")
        g.setdefault("notes", [])
    if not groups:
        return {}
    breadth = {k: g["breadth"] for g in groups for k in g["keys"]}
    return {"groups": groups, "breadth": breadth}
