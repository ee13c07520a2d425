"""Universe modes of a run (``universe.mode``): which searches a strategy entry becomes.

* ``per_symbol``: one search per symbol, on that symbol's bars alone (the leaderboard has a row
  per symbol x strategy x optimizer, keyed ``SYMBOL:label/optimizer``); every search uses the
  run's workers, and the same seed gives the same trials whatever their number. The folds are
  the run's (cut on the union calendar) seen on the symbol's own calendar
  (:class:`SymbolFolds`): a symbol listed later enters at the first fold it has the history
  for, one delisted earlier leaves after its last bar; a symbol with no such fold is not
  searched (:attr:`SearchJob.skipped` says why).
* ``pooled``: one search whose strategy is :func:`strategies.pooled.pooled_strategy` of the
  entry: one parameter set trades every symbol; the objective is ``universe.aggregate`` of the
  per-symbol metrics, or the book's (``portfolio``); the candidate's returns are the book's.
* ``portfolio``: one search of a multi-asset strategy (weights for all symbols), one book.

A strategy entry's own ``mode`` overrides the section's, so one run can hold the same rule
``pooled`` and ``per_symbol`` side by side (``experiments/universe_pooled.yaml``).

``pooled`` and ``portfolio`` searches are scored by the book path of the evaluation kernel
(:mod:`research.optimize._book`: :func:`backtest.portfolio.run_book`, shared cash, exposure
limits scaled proportionally and said in the notes). Their classes (:func:`search_class`) are
made at run time; they pickle as "``search_class`` of (the strategy class, the universe
section)", so they ship to local worker processes under any start method and to Dask workers
like the strategy class itself (which must be importable there).
"""

from __future__ import annotations

import copyreg
from dataclasses import dataclass
from typing import Any

import pandas as pd

from backtest.splitters import Fold
from data_loaders.bars import bars_index
from research.optimize._book import BookRules
from research.spec.build import strategy_bars
from strategies.pooled import pooled_strategy

__all__ = [
    "SearchJob",
    "SymbolFolds",
    "search_jobs",
    "candidate_job",
    "search_class",
    "book_rules",
    "entry_universe",
]


@dataclass(frozen=True, eq=False)
class SearchJob:
    """One search of a strategy entry: the class searched, its bars, the symbol (per_symbol),
    the splitter when it is not the run's (a symbol on a calendar of its own), and why the
    search is skipped (a symbol without a fold), else ``""``."""

    strategy_cls: Any
    bars: Any
    symbol: str | None = None
    splitter: Any = None
    skipped: str = ""


@dataclass(frozen=True, eq=False)
class SymbolFolds:
    """The run's folds, cut on the union calendar ``union``, on one symbol's own calendar.

    Fold ``k`` keeps its number; its windows are the symbol's bars between the timestamps of
    the union fold's first and last train (test) bars. The symbol takes part in fold ``k``
    when it has a bar at or before the union bar ``n0`` bars before the train window's end
    (``n0`` = the first fold's train length, the shortest history the splitter trains on; for
    rolling windows: listed by the train window's start) and at least 2 bars in the test
    window. So a symbol listed later enters at the first fold it has that history for, and one
    delisted earlier leaves after its last bar.
    """

    splitter: Any
    union: pd.DatetimeIndex

    def __repr__(self) -> str:
        return f"SymbolFolds({self.splitter!r})"

    def split(self, index: pd.DatetimeIndex) -> list[Fold]:
        """The symbol's folds over its own ``index`` (possibly none)."""
        folds = list(self.splitter.split(self.union))
        if not folds or len(index) == 0:
            return []
        n0 = folds[0].n_train
        out = []
        for f in folds:
            listed = self.union[max(f.train.stop - n0, 0)]
            a = int(index.searchsorted(self.union[f.train.start], "left"))
            b = int(index.searchsorted(self.union[f.train.stop - 1], "right"))
            c = int(index.searchsorted(self.union[f.test.start], "left"))
            d = int(index.searchsorted(self.union[f.test.stop - 1], "right"))
            if index[0] > listed or b - a < 2 or d - c < 2:
                continue
            out.append(
                Fold(f.number, slice(a, b), slice(c, d), index[a], index[b - 1], index[c],
                     index[d - 1])
            )  # fmt: skip
        return out


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


class _SearchClass(type):
    """The metaclass of :func:`search_class`'s classes (pickled by :func:`_reduce_class`)."""


def _reduce_class(made: _SearchClass) -> tuple[Any, tuple[Any, Any]]:
    return search_class, made._search_of


copyreg.pickle(_SearchClass, _reduce_class)

_MADE: dict[tuple[Any, Any], Any] = {}


def search_class(cls: Any, universe: Any) -> Any:
    """The class a ``pooled`` / ``portfolio`` search runs: ``cls`` (pooled first for
    ``pooled``) carrying the book rules; its qualified name names the rules, so a change of
    rules starts new studies. The same arguments give the same class (also after pickling)."""
    key = (cls, universe)
    if key in _MADE:
        return _MADE[key]
    rules = book_rules(universe)
    base = pooled_strategy(cls, universe.allocation) if universe.mode == "pooled" else cls
    made = _SearchClass(
        base.__name__,
        (base,),
        {
            "book": rules,
            "name": cls.label(),
            "_search_of": key,
            "__module__": base.__module__,
            "__qualname__": f"{base.__qualname__}[{rules.key()}]",
        },
    )
    _MADE[key] = made
    return made


def search_jobs(
    exp: Any, entry: Any, cls: Any, bars: Any, key: str, splitter: Any = None
) -> list[SearchJob]:
    """The searches of one strategy entry under its ``universe.mode`` (module docstring);
    ``splitter``: the run's (per_symbol: a symbol on a calendar other than the union's gets
    its :class:`SymbolFolds`).

    Raises:
        ConfigError: the strategy and the mode (or the data) do not fit, naming ``key``.
    """
    universe = entry_universe(exp, entry)
    mode = universe.mode
    sbars = strategy_bars(cls, bars, key, mode)
    if mode == "per_symbol":
        return [_symbol_job(cls, str(s), f, bars_index(sbars), splitter) for s, f in sbars.items()]
    if mode in ("pooled", "portfolio"):
        return [SearchJob(search_class(cls, universe), sbars)]
    return [SearchJob(cls, sbars)]


def _symbol_job(
    cls: Any, sym: str, frame: Any, union: pd.DatetimeIndex, splitter: Any
) -> SearchJob:
    """A per_symbol search of ``sym`` (its own calendar, the run's folds on it)."""
    if splitter is None or frame.index.equals(union):
        return SearchJob(cls, frame, sym)
    own = SymbolFolds(splitter, union)
    if own.split(frame.index):
        return SearchJob(cls, frame, sym, splitter=own)
    have = f"bars {frame.index[0].date()} -> {frame.index[-1].date()}" if len(frame) else "no bar"
    why = f"{sym} has {have}: too short a history for any fold of the run's walk-forward"
    return SearchJob(cls, frame, sym, skipped=why)


def candidate_job(
    exp: Any, cls: Any, bars: Any, *, label: Any, candidate: Any, key: str
) -> SearchJob:
    """The class and bars a leaderboard candidate trades (nightly's judge and hand-off): the
    search of the spec entry labelled ``label`` (its universe mode) that made ``candidate``; a
    ``per_symbol`` candidate (``SYMBOL:label/optimizer``) is its symbol's search.

    Raises:
        ConfigError: the candidate's symbol is not in the data any more, naming ``key``.
    """
    from data_loaders.errors import ConfigError

    entry = next((s for s in exp.strategies if s.label == label), None)
    jobs = search_jobs(exp, entry, cls, bars, key)
    if jobs[0].symbol is None:
        return jobs[0]
    sym = str(candidate).split(":", 1)[0]
    for job in jobs:
        if job.symbol == sym:
            return job
    raise ConfigError(f"{key}: candidate {candidate!r} trades {sym!r}, not in the data any more")
