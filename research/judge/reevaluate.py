"""Re-evaluating parameter sets out of sample: the judge's access to the backtest.

Every function here goes through the optimizers' evaluation kernel
(:mod:`research.optimize.evaluate`) or :func:`backtest.run_backtest`, with the run's
:class:`backtest.execution.Execution` (costs, fills, direction, cash, bars per year), so a
re-evaluated trial scores exactly as it did in the search. Windows are bar positions ``[start, stop)``; positions are
computed causally on the bars up to ``stop``; with next-open fills the target decided at bar
``start - 1`` is the first that can fill.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from backtest.batch import evaluate_batch
from backtest.engine import BacktestResult, run_backtest
from backtest.execution import Execution
from data_loaders.bars import bars_index, slice_bars
from research._json import to_jsonable
from research.optimize.evaluate import EvalContext, EvalTask, SetResult, run_task
from research.optimize.layers import backtest_kwargs, engine_kwargs

if TYPE_CHECKING:
    from research.optimize import WalkForwardResult

__all__ = [
    "SearchOutcome",
    "evaluate_sets",
    "evaluation_time_limit",
    "window_backtest",
    "slice_with_features",
    "buy_and_hold",
    "top_trial_params",
]


@dataclass(frozen=True, eq=False)
class SearchOutcome:
    """One strategy x optimizer walk-forward search: what the search stage hands to the judge.

    Attributes:
        key: ``"<strategy label>/<optimizer>"``, unique in a run.
        label, ref: the strategy's label in the spec and its registry name (or ``path.py:Class``).
        optimizer: the optimizer's name.
        strategy_cls: the strategy class searched.
        result: the :class:`research.optimize.WalkForwardResult`.
        bars: the bars the strategy trades (one frame, or a dict for multi-asset strategies).
        features: the feature matrix given to the strategy, or None.
        features_mode: what ``results.json`` records of the features (None, or column names).
        symbol: the symbol of a ``per_symbol`` search (``key`` is then ``"SYMBOL:label/opt"``).
    """

    key: str
    label: str
    ref: str
    optimizer: str
    strategy_cls: Any
    result: WalkForwardResult
    bars: Any
    features: pd.DataFrame | None = None
    features_mode: Any = None
    symbol: str | None = None


#: seconds one re-evaluated parameter set may take (``budget.trial_timeout``); None: no limit
_TIME_LIMIT: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "evaluation_time_limit", default=None
)


@contextlib.contextmanager
def evaluation_time_limit(seconds: float | None) -> Iterator[None]:
    """Within the block, every :func:`evaluate_sets` call runs its sets in a child process that
    is stopped after ``seconds`` per set (the set then fails with the reason, like a search
    trial past ``budget.trial_timeout``); None: no limit."""
    token = _TIME_LIMIT.set(seconds)
    try:
        yield
    finally:
        _TIME_LIMIT.reset(token)


def evaluate_sets(
    execution: Execution,
    strategy_cls: Any,
    params: Sequence[Mapping[str, Any]],
    window: tuple[int, int],
    *,
    bars: Any,
    fit: tuple[int, int] | None,
    features: pd.DataFrame | None = None,
    returns: bool = False,
) -> list[SetResult]:
    """Evaluate parameter sets on bars ``[start, stop)`` (positions on bars up to ``stop``).

    Returns one ``SetResult`` per set (``.metrics[0]``, ``.returns[0]`` when ``returns``,
    ``.error`` when it failed). Single-symbol strategies without fitting go through one batch
    pass; fitted and multi-asset ones one set at a time. Inside :func:`evaluation_time_limit`
    each set is bounded in time.
    """
    task = EvalTask(
        numbers=tuple(range(len(params))),
        params=tuple(dict(p) for p in params),
        stop=int(window[1]),
        windows=((int(window[0]), int(window[1])),),
        fit=fit,
        returns=returns,
    )
    ctx = EvalContext(strategy_cls, bars, features, execution)
    limit = _TIME_LIMIT.get()
    if limit is not None:  # a set past the limit fails like a search trial
        from research.optimize._timeouts import run_with_timeouts

        ((results, _),) = run_with_timeouts(ctx, [task], limit=limit, parallel=1)
        return results
    results, _ = run_task(ctx, task)
    return results


def window_backtest(
    execution: Execution,
    strategy_cls: Any,
    params: Mapping[str, Any],
    window: tuple[int, int],
    *,
    bars: Any,
    fit: tuple[int, int] | None,
    features: pd.DataFrame | None = None,
) -> tuple[BacktestResult, int]:
    """:func:`backtest.run_backtest` of one parameter set on bars ``[start, stop)``.

    The window starts flat; with next-open fills the target decided at ``start - 1`` is the
    first that can fill (the convention of the batch path). A class wrapped in exits and sizing
    (:func:`research.optimize.layers.with_layers`) trades with its exits and whole units; a
    strategy that prices its orders trades them (:meth:`strategies.Strategy.order_prices`).
    Returns ``(result, lo)``: the ``BacktestResult`` of bars ``[lo, stop)``, ``lo = start - 1``
    for next-open fills.
    """
    a, b = int(window[0]), int(window[1])
    strat = strategy_cls(**dict(params))
    if strategy_cls.needs_fit and fit is not None:
        strat.fit(*slice_with_features(bars, features, *fit))
    head_bars, head_feats = slice_with_features(bars, features, 0, b)
    pos = strat.positions(head_bars, head_feats)
    lo = _first_fill(execution, a)
    orders = strat.order_kwargs(head_bars, head_feats)  # priced orders (none: market orders)
    if orders:
        prices = np.asarray(orders["order_prices"], dtype=np.float64)
        orders["order_prices"] = pd.Series(prices, index=bars_index(head_bars)).iloc[lo:b]
    result = run_backtest(
        slice_bars(bars, lo, b),
        pos.iloc[lo:b],
        **engine_kwargs(execution, backtest_kwargs(strategy_cls, params)),
        **orders,
    )
    return result, lo


def slice_with_features(
    bars: Any, features: pd.DataFrame | None, a: int, b: int
) -> tuple[Any, pd.DataFrame | None]:
    """Bars ``[a, b)`` (every symbol) and the same rows of the features."""
    return slice_bars(bars, a, b), None if features is None else features.iloc[a:b]


def buy_and_hold(execution: Execution, bars: Any, window: tuple[int, int]) -> pd.Series:
    """Per-bar returns of holding the instrument (equal weights for several symbols) over the
    window, with the same costs and fills as the candidates (bought at the window's first open).

    Several symbols on calendars of their own (``window`` on the union calendar): one book
    (:func:`_book_hold`) buys ``1 / m`` of each symbol at its first bar in the window, holds it,
    and leaves it in cash once the symbol's bars end."""
    a, b = int(window[0]), int(window[1])
    engine = {**execution.engine_kwargs(), "direction": "both"}
    if isinstance(bars, Mapping):
        lo = _first_fill(execution, a)
        sub = slice_bars(bars, lo, b)
        index = bars_index(sub)
        if not all(df.index.equals(index) for df in sub.values()):
            return _book_hold(execution, sub, a - lo)
        pos = pd.DataFrame(1.0 / len(bars), index=index, columns=list(sub))
        ret = run_backtest(sub, pos, **engine).returns.iloc[a - lo :]
        return pd.Series(ret.to_numpy(), index=ret.index, name="buy_and_hold")
    res = evaluate_batch(
        bars["open"].to_numpy()[:b],
        bars["close"].to_numpy()[:b],
        np.ones((b, 1)),
        **engine,
        start=a,
        stop=b,
        periods_per_year=execution.periods_per_year,
        return_returns=True,
    )
    return pd.Series(res.returns[:, 0], index=bars.index[a:b], name="buy_and_hold")


def _book_hold(execution: Execution, bars: Mapping[str, pd.DataFrame], skip: int) -> pd.Series:
    """Returns of the equal-weight buy-and-hold book of ``bars`` (each symbol bought at its
    first bar, ``1 / m`` of the book, then held: NaN targets keep what is held), from union row
    ``skip`` on (:func:`backtest.portfolio.run_book`, the run's costs and fills)."""
    from backtest.portfolio import run_book
    from data_loaders.universe import align_universe
    from research.optimize._book import BookRules, book_settings

    uni = align_universe(bars, source="buy and hold")
    n, m = uni.shape
    weights = np.full((n, m), np.nan)
    live = uni.first_bar < n
    weights[uni.first_bar[live], np.flatnonzero(live)] = 1.0 / m
    ret = run_book(uni, weights, book_settings(BookRules(), execution)).returns.iloc[skip:]
    return pd.Series(ret.to_numpy(), index=ret.index, name="buy_and_hold")


def _first_fill(execution: Execution, start: int) -> int:
    """First bar of a window's simulation: ``start - 1`` with next-open fills (its decision
    fills at ``start``'s open), else ``start``."""
    return start - 1 if (execution.fill == "next-open" and start > 0) else start


def top_trial_params(s: SearchOutcome, k: int) -> list[dict[str, Any]]:
    """The ``k`` best distinct feasible parameter sets of a search (all folds, by the first
    objective in its direction; ties by fold then trial number)."""
    t = s.result.trials
    if t.empty:
        return []
    ok = (t["state"] == "complete") & t["feasible"] & np.isfinite(t["value"].astype(float))
    t = t[ok]
    sign = 1.0 if s.result.objectives[0][1] == "maximize" else -1.0
    t = t.assign(_key=-sign * t["value"].astype(float)).sort_values(["_key", "fold", "number"])
    out, seen = [], set()
    for p in t["params"]:
        key = json.dumps(to_jsonable(p), sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        out.append(dict(p))
        if len(out) >= k:
            break
    return out
