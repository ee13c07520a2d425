"""Evaluate many parameter sets on windows of the bars: the work a worker does.

An :class:`EvalContext` (strategy class, bars, features, :class:`backtest.execution.Execution`)
is shipped once to every worker; an :class:`EvalTask` names the parameter sets, the bar ``stop``
up to which positions are computed, and the windows ``[start, stop)`` to simulate. Three paths:

* **batch** (single symbol, no fit): ``strategy_cls.fused_signal`` (built-ins with incremental
  signals, when no returns are asked for: signals computed inside the simulation pass, no
  positions matrix) or else ``strategy_cls.batch_positions`` computes every set's
  positions on ``bars[:stop]`` in one call (shared indicators computed once), then
  :func:`backtest.evaluate_batch` simulates all columns per window in one pass of the fused
  kernel. If either call fails, the sets are retried one by one so that one bad set fails alone.
* **fit** (``needs_fit``, e.g. LightGBM): per set, ``fit`` on ``bars[fit]`` only, then
  ``positions(bars[:stop])``; windows simulated by the batch kernel.
* **book** (a strategy class carrying ``book``, the universe modes ``pooled`` / ``portfolio``):
  every set's weights on the dict of bars, each window simulated as one book per set with
  shared cash by :func:`backtest.portfolio.run_books` (see :mod:`research.optimize._book`).
* **multi-asset** (``multi_asset``): per set, positions on the dict of bars, each window
  simulated by :func:`backtest.run_backtest` on that window (starting flat; with next-open fills
  the target decided at ``start - 1`` is the first that can fill, as in ``evaluate_batch``).

Positions are causal (the strategy contract), so positions on ``bars[:stop]`` equal those on the
full data for every bar before ``stop``: no window ever sees a bar after its own end.

A strategy class wrapped in exits and sizing (:func:`research.optimize.layers.with_layers`) is
simulated with each set's :class:`backtest.Exits` (filled inside the bar from high/low) and its
``whole_units``; the context's derived metrics (``psr``, expressions, callables:
:mod:`research.optimize.derived`) are added to every window's metrics.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from backtest.execution import Execution
from data_loaders.bars import is_multi, slice_bars
from data_loaders.errors import StrategyError
from research.optimize.derived import DerivedMetric, add_derived
from research.optimize.layers import engine_kwargs, layer_kwargs, layers_of
from strategies.guard import call_strategy, checked_positions

__all__ = ["EvalContext", "EvalTask", "SetResult", "run_task", "split_task", "error_text"]


def error_text(exc: BaseException) -> str:
    """One line naming an exception: ``Type: message`` (at most 500 characters)."""
    text = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
    return text[:500]


@dataclass(frozen=True, init=False)
class EvalContext:
    """Everything shared by the evaluations of one walk-forward run (sent once per worker):
    the strategy class, the bars, the features and the :class:`backtest.execution.Execution`.

    ``costs=, direction=, init_cash=, periods_per_year=`` and a string ``execution=`` (the fill
    mode) are still accepted in place of an ``Execution`` while callers move over.
    """

    strategy_cls: Any
    bars: Any
    features: pd.DataFrame | None
    execution: Execution
    derived: tuple[DerivedMetric, ...]

    def __init__(
        self,
        strategy_cls: Any,
        bars: Any,
        features: pd.DataFrame | None = None,
        execution: Execution | str | None = None,
        *,
        derived: tuple[DerivedMetric, ...] = (),
        **loose: Any,
    ) -> None:
        if not isinstance(execution, Execution):
            if execution is not None:
                loose["fill"] = execution
            if loose.get("costs") is None:
                loose.pop("costs", None)
            execution = Execution(**loose)
        elif loose:
            raise TypeError(f"EvalContext: give an Execution or loose settings, not both: {loose}")
        object.__setattr__(self, "strategy_cls", strategy_cls)
        object.__setattr__(self, "bars", bars)
        object.__setattr__(self, "features", features)
        object.__setattr__(self, "execution", execution)
        object.__setattr__(self, "derived", tuple(derived))

    @cached_property
    def needs_returns(self) -> bool:
        """Whether a derived metric reads the returns (the simulation then keeps them)."""
        return any(d.needs_returns for d in self.derived)

    @cached_property
    def multi(self) -> bool:
        return is_multi(self.bars)

    @cached_property
    def open_(self) -> np.ndarray:
        return np.ascontiguousarray(self.bars["open"].to_numpy(dtype=np.float64))

    @cached_property
    def close(self) -> np.ndarray:
        return np.ascontiguousarray(self.bars["close"].to_numpy(dtype=np.float64))

    def head(self, stop: int) -> tuple[Any, pd.DataFrame | None]:
        """Bars and features up to (excluding) ``stop``."""
        return self.slice(0, stop)

    def slice(self, start: int, stop: int) -> tuple[Any, pd.DataFrame | None]:
        """Bars and features of ``[start, stop)`` (a training slice)."""
        feats = None if self.features is None else self.features.iloc[start:stop]
        return slice_bars(self.bars, start, stop), feats


@dataclass(frozen=True)
class EvalTask:
    """Parameter sets to evaluate on windows.

    Attributes:
        numbers: trial numbers (carried through to the results).
        params: full parameter sets.
        stop: positions are computed on ``bars[:stop]``.
        windows: ``(start, stop)`` bar windows to simulate, each ending at or before ``stop``.
        fit: ``(start, stop)`` training slice for ``needs_fit`` strategies.
        returns: also return each window's per-bar returns and target positions.
        resume: per set, the :class:`backtest.resume.SimState` its first window ``(a, e)``
            reached at an earlier step (same ``a``), or None; with ``keep_state`` the batch
            path continues from it (multi-fidelity that continues instead of restarting).
        keep_state: return each set's state after its first window in ``extra["state"]`` and
            the bars it actually simulated in ``extra["bars"]`` (batch path, plain execution).
    """

    numbers: tuple[int, ...]
    params: tuple[dict[str, Any], ...]
    stop: int
    windows: tuple[tuple[int, int], ...]
    fit: tuple[int, int] | None = None
    returns: bool = False
    resume: tuple[Any, ...] | None = None
    keep_state: bool = False

    @property
    def bars_simulated(self) -> int:
        """Bars simulated per set (the cost unit of multi-fidelity accounting)."""
        return sum(b - a for a, b in self.windows)


@dataclass
class SetResult:
    """One parameter set's evaluation: metrics per window, or the error that stopped it."""

    number: int
    metrics: list[dict[str, float]] | None = None
    error: str | None = None
    returns: list[np.ndarray] | None = None
    positions: list[np.ndarray] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def run_task(ctx: EvalContext, task: EvalTask) -> tuple[list[SetResult], float]:
    """Evaluate ``task``; return one :class:`SetResult` per set and the seconds spent."""
    t0 = time.perf_counter()
    cls = ctx.strategy_cls
    if getattr(cls, "book", None) is not None:
        from research.optimize._book import run_book_task

        results = run_book_task(ctx, task)
    elif ctx.multi or cls.multi_asset or cls.needs_fit:
        results = [_one_set(ctx, task, i) for i in range(len(task.params))]
    elif task.keep_state and not task.returns and _resumable(ctx):
        results = _batch_resumed(ctx, task)
    else:
        results = _batch(ctx, task)
    return results, time.perf_counter() - t0


#: execution settings the resumable kernel supports (backtest.resume: the plain path)
_RESUMABLE = frozenset({"costs", "execution", "direction", "init_cash", "whole_units"})


def _resumable(ctx: EvalContext) -> bool:
    kw = ctx.execution.engine_kwargs()
    plain = not ctx.derived and layers_of(ctx.strategy_cls) is None  # no exits, sizing, psr...
    plain = plain and not _prices_orders(ctx.strategy_cls)  # market orders only
    return plain and set(kw) <= _RESUMABLE and not kw["costs"].extended


def _batch_resumed(ctx: EvalContext, task: EvalTask) -> list[SetResult]:
    """The batch path whose first window continues each set's saved state (sets grouped by the
    bar their state reached); later windows (validation) are simulated whole."""
    from backtest.resume import SimState, simulate_resumable

    bars, feats = ctx.head(task.stop)
    (a, e), rest = task.windows[0], task.windows[1:]
    resume = task.resume or (None,) * len(task.params)
    try:
        pos = ctx.strategy_cls.batch_positions(bars, list(task.params), feats)
        kw = ctx.execution.engine_kwargs()
        groups: dict[int, list[int]] = {}
        for j, st in enumerate(resume):
            groups.setdefault(a if st is None else st.stop, []).append(j)
        first: dict[int, tuple[dict[str, float], Any, int]] = {}
        for begin, idx in groups.items():
            state = None if begin == a else SimState.stack([resume[j] for j in idx])
            m, st = simulate_resumable(
                ctx.open_[:e], ctx.close[:e], pos[:e, idx], start=a, stop=e, state=state,
                periods_per_year=ctx.execution.periods_per_year, **kw,
            )  # fmt: skip
            names = [str(col) for col in m.columns]  # rows as floats (to_dict is ~20x slower)
            rows = m.to_numpy(dtype=np.float64).tolist()
            for k, (j, row) in enumerate(zip(idx, rows)):
                rec = dict(zip(names, row))
                if rec["liquidated_at"] < 0:  # as _simulate: only a book that was closed out
                    del rec["liquidated_at"]
                first[j] = (rec, st.take([k]), e - begin)
        later = [_simulate(ctx, task, pos, b0, b1, task.params) for b0, b1 in rest]
    except Exception:
        return [_one_set(ctx, task, i) for i in range(len(task.params))]
    extra_bars = sum(b1 - b0 for b0, b1 in rest)
    out = []
    for j, number in enumerate(task.numbers):
        metrics, state, n = first[j]
        res = SetResult(number, metrics=[metrics, *(w[0][j] for w in later)])
        res.extra.update(state=state, bars=n + extra_bars)
        out.append(res)
    return out


# --- batch path -------------------------------------------------------------------------------
def _batch(ctx: EvalContext, task: EvalTask) -> list[SetResult]:
    bars, feats = ctx.head(task.stop)
    cls = ctx.strategy_cls
    try:
        pos = orders = None
        if _prices_orders(cls):  # priced orders run on the positions matrix
            orders = cls.batch_order_prices(bars, list(task.params), feats)
        elif not (task.returns or ctx.needs_returns):  # signals inside the simulation pass
            pos = cls.fused_signal(bars, list(task.params), feats)
        if pos is None:
            pos = cls.batch_positions(bars, list(task.params), feats)
        per_window = [_simulate(ctx, task, pos, a, b, task.params, orders) for a, b in task.windows]
    except Exception:
        return [_one_set(ctx, task, i) for i in range(len(task.params))]
    out = []
    for j, number in enumerate(task.numbers):
        res = SetResult(number, metrics=[w[0][j] for w in per_window])
        if task.returns:
            res.returns = [w[1][:, j].copy() for w in per_window]
            res.positions = [pos[a:b, j].copy() for a, b in task.windows]
        out.append(res)
    return out


def _simulate(
    ctx: EvalContext,
    task: EvalTask,
    pos: Any,
    start: int,
    stop: int,
    params: tuple[dict[str, Any], ...],
    orders: np.ndarray | None = None,
) -> tuple[list[dict[str, float]], np.ndarray | None]:
    """``evaluate_batch`` of ``pos`` over ``[start, stop)`` with the strategy's layers and, when
    given, its ``(n, n_sets)`` order prices (:meth:`strategies.Strategy.batch_order_prices`)."""
    from backtest.batch import evaluate_batch

    n = pos.n_bars if hasattr(pos, "n_bars") else pos.shape[0]
    extra = layer_kwargs(ctx.strategy_cls, params, ctx.bars)
    if orders is not None:
        cls = ctx.strategy_cls
        extra.update(order_prices=orders, order_type=cls.order_type, unfilled=cls.unfilled)
        extra.setdefault("high", ctx.bars["high"].to_numpy(dtype=np.float64))
        extra.setdefault("low", ctx.bars["low"].to_numpy(dtype=np.float64))
    for key in ("high", "low"):
        if key in extra:
            extra[key] = extra[key][:n]
    res = evaluate_batch(
        ctx.open_[:n],
        ctx.close[:n],
        pos,
        **{
            **engine_kwargs(ctx.execution, extra),
            "periods_per_year": ctx.execution.periods_per_year,
        },
        start=start,
        stop=stop,
        return_returns=task.returns or ctx.needs_returns,
    )
    names = [str(c) for c in res.metrics.columns]
    values = res.metrics.to_numpy(dtype=np.float64).tolist()
    records = [dict(zip(names, row)) for row in values]
    for j, rec in enumerate(records):
        if res.liquidated_at is not None and res.liquidated_at[j] >= 0:
            rec["liquidated_at"] = float(res.liquidated_at[j])
        if ctx.derived:
            add_derived(rec, None if res.returns is None else res.returns[:, j], ctx.derived)
    return records, res.returns


# --- one set at a time (fallback, fitted and multi-asset strategies) ---------------------------
def _one_set(ctx: EvalContext, task: EvalTask, i: int) -> SetResult:
    number, params = task.numbers[i], task.params[i]
    try:
        strat = ctx.strategy_cls(**params)
        if ctx.strategy_cls.needs_fit:
            if task.fit is None:
                raise RuntimeError("a strategy that needs fitting was given no training slice")
            call_strategy(strat, "fit", *ctx.slice(*task.fit))
        bars, feats = ctx.head(task.stop)
        pos = checked_positions(strat, bars, feats)
        if ctx.multi:
            return _multi_asset(ctx, task, number, pos)
        arr = np.asarray(pos, dtype=np.float64).reshape(-1, 1)
        prices = call_strategy(strat, "order_prices", bars, feats)
        orders = None if prices is None else np.asarray(prices, dtype=np.float64).reshape(-1, 1)
        per_window = [_simulate(ctx, task, arr, a, b, (params,), orders) for a, b in task.windows]
    except StrategyError as exc:  # Class.method raised ... (at file:line): already one line
        return SetResult(number, error=str(exc)[:500])
    except Exception as exc:  # the reason is recorded with the trial; the search goes on
        return SetResult(number, error=error_text(exc))
    res = SetResult(number, metrics=[w[0][0] for w in per_window])
    if task.returns:
        res.returns = [w[1][:, 0].copy() for w in per_window]
        res.positions = [arr[a:b, 0].copy() for a, b in task.windows]
    return res


def _multi_asset(ctx: EvalContext, task: EvalTask, number: int, pos: Any) -> SetResult:
    from backtest.engine import run_backtest
    from backtest.metrics import compute_metrics

    ex = ctx.execution
    frame = pd.DataFrame(pos)
    metrics, returns, positions = [], [], []
    for a, b in task.windows:
        lo = a - 1 if (ex.fill == "next-open" and a > 0) else a
        bt = run_backtest(slice_bars(ctx.bars, lo, b), frame.iloc[lo:b], **ex.engine_kwargs())
        ret = bt.returns.to_numpy(dtype=np.float64)[a - lo :]
        in_force = bt.positions_in_force.iloc[a - lo :]
        m = compute_metrics(
            ret, trades=bt.trades, positions=in_force, periods_per_year=ex.periods_per_year
        )
        m = {k: float(v) for k, v in m.items()}
        m["final_equity"] = float(ex.init_cash * np.prod(1.0 + ret))
        for key in ("n_orders", "fees_paid"):
            m.setdefault(key, math.nan)
        add_derived(m, ret, ctx.derived)
        metrics.append(m)
        returns.append(ret)
        positions.append(frame.iloc[a:b].to_numpy(dtype=np.float64))
    res = SetResult(number, metrics=metrics)
    if task.returns:
        res.returns, res.positions = returns, positions
    return res


def split_task(task: EvalTask, parts: int) -> list[EvalTask]:
    """Split a task's sets into up to ``parts`` contiguous tasks (order kept)."""
    n = len(task.params)
    parts = max(1, min(int(parts), n))
    bounds = [round(k * n / parts) for k in range(parts + 1)]
    return [
        EvalTask(
            numbers=task.numbers[a:b],
            params=task.params[a:b],
            stop=task.stop,
            windows=task.windows,
            fit=task.fit,
            returns=task.returns,
            resume=None if task.resume is None else task.resume[a:b],
            keep_state=task.keep_state,
        )
        for a, b in zip(bounds[:-1], bounds[1:])
        if b > a
    ]


def _prices_orders(cls: Any) -> bool:
    """Whether a strategy class sets order prices (:meth:`strategies.Strategy.order_prices`)."""
    from strategies.base import Strategy

    return getattr(cls, "order_prices", Strategy.order_prices) is not Strategy.order_prices
