"""The book path of the evaluation kernel: a universe's weights -> one book with shared cash.

A strategy class that carries ``book`` (a :class:`BookRules`, set by
:func:`research.run.universe.search_class` for ``universe.mode: pooled | portfolio``) is scored
here instead of the one-symbol or vectorbt paths: each window's weights go through
:func:`backtest.portfolio.run_book` (exposure limits, rebalancing schedule, per-symbol costs,
shared cash). The window's first bar follows the convention of the batch path: with next-bar
fills the weights decided at ``start - 1`` are the first that can fill, and the book starts in
cash.

``aggregate`` (``pooled``): ``mean`` / ``median`` / ``min`` score every metric as that
aggregate over the symbols of the metric of each symbol's own positions (simulated on its own
bars by :func:`backtest.evaluate_batch`, same costs and fills); the counts (``n_trades``,
``n_orders``, ``fees_paid``, ``final_equity``) and the returns are the book's. ``portfolio`` or
None: every metric is the book's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from backtest.execution import Execution
from backtest.portfolio import BookSettings, run_book
from data_loaders.bars import slice_bars
from data_loaders.universe import Universe, align_universe

__all__ = ["BookRules", "book_settings", "evaluate_book", "book_returns"]

_BOOK_COUNTS = ("n_trades", "n_orders", "fees_paid", "final_equity")
_AGGREGATES = {"mean": np.nanmean, "median": np.nanmedian, "min": np.nanmin}


@dataclass(frozen=True)
class BookRules:
    """The universe section's book rules (see :class:`research.spec.UniverseSpec`)."""

    rebalance: str = "bar"
    max_gross: float = 1.0
    max_net: float = 1.0
    aggregate: str | None = None

    def key(self) -> str:
        """A short text naming the rules (part of the study name of a search)."""
        return (
            f"book:{self.rebalance}:g{self.max_gross:g}:n{self.max_net:g}:{self.aggregate or ''}"
        )


def book_settings(rules: BookRules, execution: Execution) -> BookSettings:
    """The :class:`BookSettings` of ``rules`` with the run's costs, cash and bars per year.

    Fills: ``close`` stays at the close; ``next-open`` fills at the next open, or at the next
    close on close-only data (``fill="auto"``)."""
    return BookSettings(
        fill="close" if execution.fill == "close" else "auto",
        rebalance=rules.rebalance,
        max_gross=rules.max_gross,
        max_net=rules.max_net,
        costs=execution.costs,
        periods_per_year=execution.periods_per_year,
        init_cash=execution.init_cash,
    )


def book_returns(
    uni: Universe, weights: pd.DataFrame, settings: BookSettings, start: int, stop: int
) -> tuple[np.ndarray, pd.DataFrame, dict[str, float], tuple[str, ...]]:
    """``(returns, held weights, counters, notes)`` of the book on union bars ``[start, stop)``."""
    lo = start - 1 if (settings.fill != "close" and start > 0) else start
    book = run_book(uni.take(slice(lo, stop)), weights.iloc[lo:stop].to_numpy(), settings)
    ret = book.returns.to_numpy(dtype=np.float64)[start - lo :]
    return ret, book.held.iloc[start - lo :], book.stats, book.notes


def _symbol_metrics(
    uni: Universe, pos: pd.DataFrame, ex: Execution, start: int, stop: int
) -> list[dict[str, float]]:
    from backtest.batch import evaluate_batch

    out = []
    for j in range(uni.shape[1]):
        rows = np.flatnonzero(uni.available[:stop, j])
        a = int(np.searchsorted(rows, start))
        if len(rows) - a < 2:
            continue
        res = evaluate_batch(
            uni.panels["open"][rows, j],
            uni.panels["close"][rows, j],
            np.nan_to_num(pos.to_numpy()[rows, j]).reshape(-1, 1),
            **ex.engine_kwargs(),
            start=a,
            stop=len(rows),
            periods_per_year=ex.periods_per_year,
        )
        out.append({str(k): float(v) for k, v in res.metrics.iloc[0].items()})
    return out


def _window_metrics(
    ctx: Any, uni: Universe, strat: Any, weights: pd.DataFrame, a: int, b: int
) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    from backtest.metrics import compute_metrics

    ex, rules = ctx.execution, ctx.strategy_cls.book
    settings = book_settings(rules, ex)
    ret, held, stats, _ = book_returns(uni, weights, settings, a, b)
    m = compute_metrics(ret, positions=held, periods_per_year=ex.periods_per_year)
    m = {k: float(v) for k, v in m.items()}
    m.update(
        n_trades=float(stats["n_orders"]),
        n_orders=float(stats["n_orders"]),
        fees_paid=float(stats["fees_paid"]),
        final_equity=float(ex.init_cash * np.prod(1.0 + ret)),
    )
    if rules.aggregate in _AGGREGATES:
        head = slice_bars(ctx.bars, 0, b)
        per = _symbol_metrics(uni.take(slice(0, b)), strat.symbol_positions(head), ex, a, b)
        fn = _AGGREGATES[rules.aggregate]
        for key in per[0] if per else ():
            if key not in _BOOK_COUNTS:
                vals = np.array([p.get(key, math.nan) for p in per], dtype=np.float64)
                m[key] = float(fn(vals)) if np.isfinite(vals).any() else math.nan
    return m, ret, weights.iloc[a:b].to_numpy(dtype=np.float64)


def evaluate_book(ctx: Any, task: Any, number: int, strat: Any) -> Any:
    """One parameter set on the task's windows through the book (see the module docstring)."""
    from research.optimize.evaluate import SetResult

    uni = align_universe(slice_bars(ctx.bars, 0, task.stop), source="universe")
    weights = pd.DataFrame(strat.positions(uni)).reindex(
        index=uni.index, columns=list(uni.symbols)
    )
    metrics, returns, positions = [], [], []
    for a, b in task.windows:
        m, ret, pos = _window_metrics(ctx, uni, strat, weights, a, b)
        metrics.append(m)
        returns.append(ret)
        positions.append(pos)
    res = SetResult(number, metrics=metrics)
    if task.returns:
        res.returns, res.positions = returns, positions
    return res
