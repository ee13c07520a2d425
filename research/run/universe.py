"""Universe modes of a run (``universe.mode``): which searches a strategy entry becomes.

* ``per_symbol``: one search per symbol, on that symbol's bars alone (the leaderboard has a row
  per symbol x strategy x optimizer, keyed ``SYMBOL:label/optimizer``); every search uses the
  run's workers, and the same seed gives the same trials whatever their number.
* ``pooled``: one search whose strategy is :func:`strategies.pooled.pooled_strategy` of the
  entry: one parameter set trades every symbol; the objective is ``universe.aggregate`` of the
  per-symbol metrics, or the book's (``portfolio``); the candidate's returns are the book's.
* ``portfolio``: one search of a multi-asset strategy (weights for all symbols), one book.

A strategy entry's own ``mode`` overrides the section's, so one run can hold the same rule
``pooled`` and ``per_symbol`` side by side (``experiments/universe_pooled.yaml``).

``pooled`` and ``portfolio`` searches are scored by the book path of the evaluation kernel
(:mod:`research.optimize._book`: :func:`backtest.portfolio.run_book`, shared cash, exposure
limits scaled proportionally and said in the notes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from research.optimize._book import BookRules
from research.spec.build import strategy_bars
from strategies.pooled import pooled_strategy

__all__ = ["SearchJob", "search_jobs", "search_class", "book_rules", "entry_universe"]


@dataclass(frozen=True, eq=False)
class SearchJob:
    """One search of a strategy entry: the class searched, its bars, the symbol (per_symbol)."""

    strategy_cls: Any
    bars: Any
    symbol: str | None = None


def book_rules(universe: Any) -> BookRules:
    """The :class:`BookRules` of a spec's ``universe`` section."""
    return BookRules(
        rebalance=universe.rebalance,
        max_gross=float(universe.max_gross),
        max_net=float(universe.max_net),
        aggregate=universe.aggregate if universe.mode == "pooled" else None,
    )


def entry_universe(exp: Any, entry: Any) -> Any:
    """The ``universe`` section that applies to a strategy entry (its own ``mode`` first)."""
    from dataclasses import replace

    mode = getattr(entry, "mode", None)
    return exp.universe if mode is None else replace(exp.universe, mode=mode)


def search_class(cls: Any, universe: Any) -> Any:
    """The class a ``pooled`` / ``portfolio`` search runs: ``cls`` (pooled first for
    ``pooled``) carrying the book rules; its qualified name names the rules, so a change of
    rules starts new studies."""
    rules = book_rules(universe)
    base = pooled_strategy(cls, universe.allocation) if universe.mode == "pooled" else cls
    return type(
        base.__name__,
        (base,),
        {
            "book": rules,
            "name": cls.label(),
            "__module__": base.__module__,
            "__qualname__": f"{base.__qualname__}[{rules.key()}]",
        },
    )


def search_jobs(exp: Any, entry: Any, cls: Any, bars: Any, key: str) -> list[SearchJob]:
    """The searches of one strategy entry under its ``universe.mode`` (module docstring).

    Raises:
        ConfigError: the strategy and the mode (or the data) do not fit, naming ``key``.
    """
    universe = entry_universe(exp, entry)
    mode = universe.mode
    sbars = strategy_bars(cls, bars, key, mode)
    if mode == "per_symbol":
        return [SearchJob(cls, frame, str(sym)) for sym, frame in sbars.items()]
    if mode in ("pooled", "portfolio"):
        return [SearchJob(search_class(cls, universe), sbars)]
    return [SearchJob(cls, sbars)]
