"""The book path of the evaluation kernel: a universe's weights -> one book with shared cash.

A strategy class that carries ``book`` (a :class:`BookRules`, set by
:func:`research.run.universe.search_class` for ``universe.mode: pooled | portfolio``) is scored
here instead of the one-symbol or vectorbt paths: every parameter set's weights (``pooled``:
the inner strategy's ``batch_positions`` on each symbol's own bars, allocated) go through
:func:`backtest.portfolio.run_books` in one pass per window (exposure limits, rebalancing schedule, per-symbol costs,
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

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from backtest.execution import Execution
from backtest.portfolio import BookSettings, returns_table, run_books
from data_loaders.bars import slice_bars
from data_loaders.universe import Universe, align_universe
from strategies.allocation import allocate, pooled_positions
from strategies.pooled import PooledStrategy

__all__ = ["BookRules", "book_settings", "run_book_task"]

_BOOK_COUNTS = ("n_trades", "n_orders", "fees_paid", "final_equity", "n_periods")
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
        return f"book:{self.rebalance}:g{self.max_gross:g}:n{self.max_net:g}:{self.aggregate or ''}"


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


def _weights(uni: Universe, cls: Any, params: list[dict[str, Any]]) -> tuple[np.ndarray, Any]:
    """``(weights (k, n, m), per-symbol positions (k, n, m) or None)`` of every set."""
    cols = list(uni.symbols)
    if issubclass(cls, PooledStrategy):
        sym = pooled_positions(uni, cls.inner, params)
        frames = [allocate(pd.DataFrame(p, index=uni.index, columns=cols), uni, cls.allocation)
                  for p in sym]  # fmt: skip
        return np.stack([f.to_numpy(dtype=np.float64) for f in frames]), sym
    out = [
        pd.DataFrame(cls(**p).positions(uni))
        .reindex(index=uni.index, columns=cols)
        .to_numpy(dtype=np.float64)
        for p in params
    ]
    return np.stack(out), None


def _symbol_metrics(
    uni: Universe, sym: np.ndarray, ex: Execution, start: int, stop: int
) -> list[pd.DataFrame]:
    """Per symbol, the metrics table (one row per set) of its own positions on its own bars."""
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
            np.ascontiguousarray(np.nan_to_num(sym[:, rows, j]).T),
            **ex.engine_kwargs(),
            start=a,
            stop=len(rows),
            periods_per_year=ex.periods_per_year,
        )
        out.append(res.metrics.reset_index(drop=True))
    return out


def _window(
    uni: Universe, weights: np.ndarray, sym: Any, rules: BookRules, ex: Execution, a: int, b: int
) -> tuple[pd.DataFrame, np.ndarray]:
    """``(metrics (k rows), returns (b - a, k))`` of every set's book on union bars ``[a, b)``."""
    settings = book_settings(rules, ex)
    lo = a - 1 if (settings.fill != "close" and a > 0) else a
    books = run_books(uni.take(slice(lo, b)), weights[:, lo:b], settings, n_threads=1)
    equity = books.equity.to_numpy(dtype=np.float64)
    prev = np.vstack([np.full((1, equity.shape[1]), ex.init_cash), equity[:-1]])
    returns = (equity / prev - 1.0)[a - lo :]
    table = books.metrics.reset_index(drop=True).copy()
    if a > lo:  # the book's own metrics include the cash bar lo: recompute on [a, b)
        again = returns_table(returns, ex.periods_per_year)
        table[list(again.columns)] = again.to_numpy()
    table["n_trades"] = table["n_orders"]
    table["final_equity"] = ex.init_cash * np.prod(1.0 + returns, axis=0)
    if rules.aggregate in _AGGREGATES:
        per = _symbol_metrics(uni.take(slice(0, b)), sym[:, :b], ex, a, b)
        fn = _AGGREGATES[rules.aggregate]
        for key in per[0].columns if per else ():
            if key not in _BOOK_COUNTS:
                vals = np.stack([p[key].to_numpy(dtype=np.float64) for p in per])
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    table[key] = fn(vals, axis=0)
    return table, returns


def _sets(ctx: Any, task: Any, uni: Universe, idx: list[int]) -> list[Any]:
    from research.optimize.evaluate import SetResult

    cls = ctx.strategy_cls
    weights, sym = _weights(uni, cls, [task.params[i] for i in idx])
    windows = [_window(uni, weights, sym, cls.book, ctx.execution, a, b) for a, b in task.windows]
    out = []
    for col, i in enumerate(idx):
        rows = [{str(k): float(v) for k, v in t.iloc[col].items()} for t, _ in windows]
        res = SetResult(task.numbers[i], metrics=rows)
        if task.returns:
            res.returns = [r[:, col].copy() for _, r in windows]
            res.positions = [weights[col, a:b].copy() for a, b in task.windows]
        out.append(res)
    return out


def run_book_task(ctx: Any, task: Any) -> list[Any]:
    """Every set of ``task`` through the book path (module docstring): all sets in one pass of
    :func:`backtest.portfolio.run_books`; when that fails, set by set, so that one bad set
    fails alone with its reason recorded."""
    from research.optimize.evaluate import SetResult, error_text

    uni = align_universe(slice_bars(ctx.bars, 0, task.stop), source="universe")
    try:
        return _sets(ctx, task, uni, list(range(len(task.params))))
    except Exception:
        out = []
        for i in range(len(task.params)):
            try:
                out += _sets(ctx, task, uni, [i])
            except Exception as exc:  # the reason is recorded with the trial
                out.append(SetResult(task.numbers[i], error=error_text(exc)))
        return out
