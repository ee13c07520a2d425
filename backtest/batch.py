"""Fast batch path: many parameter sets' target positions -> one row of metrics each.

:func:`evaluate_batch` feeds the columns of a positions matrix (or chunks of columns produced on
demand) to the fused numba kernel of :mod:`backtest._sim_nb`, which simulates each column with the
same order arithmetic as :func:`backtest.run_backtest` (vectorbt ``from_orders``) and reduces it
to metrics in the same pass. Memory stays bounded by one chunk of positions: pass a callable or an
iterator of column chunks to evaluate batches that would not fit in memory as one matrix.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from backtest._sim_nb import MIN_SIZE, N_OUT, O_LIQUIDATED_AT
from backtest.batch_inputs import (
    PositionsSource,
    column_blocks,
    column_chunks,
    default_chunk_size,
    entry_input,
    exit_inputs,
    price_array,
)
from backtest.checks import check_price_scale
from backtest.costs import Costs
from backtest.execution import check_settings
from backtest.exits import EXIT_REASONS, Exits
from backtest.financing import MarginSettings, funding_per_bar, margin_settings, market_array
from backtest.fused import FusedSignal
from backtest.kernel_output import BATCH_METRICS, check_targets_read, metrics_frame
from data_loaders.errors import DataValidationError, ParameterError

__all__ = ["BatchResult", "evaluate_batch", "BATCH_METRICS", "default_chunk_size"]


@dataclass
class BatchResult:
    """Outcome of :func:`evaluate_batch`.

    Attributes:
        metrics: one row per parameter set (index ``set`` = column number), columns
            :data:`BATCH_METRICS`: the returns metrics of :mod:`backtest.metrics` (``total_return,
            cagr, annual_volatility, sharpe_ratio, sortino_ratio, max_drawdown, calmar_ratio,
            omega_ratio``), ``n_trades`` (exit trades, open included), ``win_rate,
            profit_factor, expectancy`` (closed trades), ``exposure`` and ``turnover`` (of the
            target in force at each close), ``final_equity``, ``n_orders``, ``fees_paid``.
        returns: ``(stop - start, n_sets)`` per-bar returns when asked for, else None.
        start, stop: the simulated window ``[start, stop)`` of bar positions.
        exit_reasons: with an exit layer, one row per set counting the trades closed for each
            reason (columns :data:`backtest.exits.EXIT_REASONS`), else None.
        liquidated_at: ``(n_sets,)`` int, per set the bar whose close found equity <= 0 and
            closed the book out (-1: never). From that close on, the set's equity is 0, its
            returns 0 (the bar itself -100 %) and it places no order; its drawdown is -100 %.
    """

    metrics: pd.DataFrame
    returns: np.ndarray | None
    start: int
    stop: int
    exit_reasons: pd.DataFrame | None = None
    liquidated_at: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.metrics)


def _n_threads(n_threads: int | None) -> int:
    if n_threads is None:
        from numba import config

        return max(1, int(config.NUMBA_NUM_THREADS or os.cpu_count() or 1))
    if not isinstance(n_threads, int | np.integer) or n_threads < 1:
        raise ParameterError(f"`n_threads` must be a positive int, got {n_threads!r}")
    return int(n_threads)


def _simulate_chunk(
    open_: np.ndarray,
    close: np.ndarray,
    chunk: np.ndarray | FusedSignal,
    *args: Any,
) -> np.ndarray:
    """Run :func:`backtest._sim_nb.simulate_block_nb` (or a fused signal's kernel) over the
    chunk's column blocks.

    The kernel sees one memory layout: a C-ordered chunk as is, an F-ordered one transposed
    (so each layout does not compile its own kernel); anything else is copied to C order.
    Blocks of at most :data:`BLOCK` columns (:func:`column_blocks`) run on a thread pool (the
    kernel releases the GIL).
    """
    from backtest._sim_nb import simulate_block_nb

    *kernel_args, high, low, atr_arr, xp, reasons, fx, funding, entry, n_threads = args
    fused = isinstance(chunk, FusedSignal)
    n_cols = chunk.n_sets if fused else chunk.shape[1]
    if fused:
        targets, transposed = None, False
    elif chunk.flags.c_contiguous:
        targets, transposed = chunk, False
    elif chunk.flags.f_contiguous:
        targets, transposed = chunk.T, True
    else:
        targets, transposed = np.ascontiguousarray(chunk), False
    (next_open, lo, hi, fees, fixed, slip, gran, min_size, cash, start, stop, rf, ppy, ret_out,
     ret_col0) = kernel_args  # fmt: skip
    out = np.empty((n_cols, N_OUT), dtype=np.float64)
    sim = (  # the fields backtest._sim_nb.S_*
        open_, close, bool(next_open), float(lo), float(hi), float(fees), float(fixed),
        float(slip), float(gran), float(min_size), float(cash), int(start), int(stop), float(rf),
        float(ppy), out, ret_out, int(ret_col0), high, low, atr_arr, xp, reasons, fx, funding,
        entry,
    )  # fmt: skip

    def block(c: tuple[int, int]) -> None:
        if fused:
            chunk.kernel(*chunk.args, c[0], c[1], sim)
        else:
            simulate_block_nb(targets, transposed, c[0], c[1], sim)

    blocks = column_blocks(n_cols)
    if n_threads == 1 or len(blocks) == 1 or n_cols * (stop - start) < PARALLEL_CELLS:
        for c in blocks:
            block(c)
    else:
        list(_pool(n_threads).map(block, blocks))
    return out


_REASON_COLUMNS = pd.Index(EXIT_REASONS)  # built once (an Index of strings costs ~20 us)

#: column-bars from which a chunk's blocks run on several threads (below, thread hand-offs cost
#: more than they save)
PARALLEL_CELLS = 1 << 20
_POOLS: dict[int, Any] = {}


def _pool(n_threads: int) -> Any:
    """A thread pool of ``n_threads`` workers, created once and reused by later calls."""
    pool = _POOLS.get(n_threads)
    if pool is None:
        from concurrent.futures import ThreadPoolExecutor

        pool = _POOLS[n_threads] = ThreadPoolExecutor(
            max_workers=n_threads, thread_name_prefix="evaluate_batch"
        )
    return pool


def evaluate_batch(
    open_: Any,
    close: Any,
    positions: PositionsSource,
    *,
    costs: Costs | None = None,
    execution: str = "next-open",
    direction: str = "both",
    init_cash: float = 100_000.0,
    start: int = 0,
    stop: int | None = None,
    periods_per_year: float = 252,
    chunk_size: int | None = None,
    return_returns: bool = False,
    whole_units: bool = False,
    risk_free: float = 0.0,
    n_sets: int | None = None,
    n_threads: int | None = None,
    high: Any = None,
    low: Any = None,
    exits: Exits | Sequence[Exits] | None = None,
    index: pd.Index | None = None,
    max_leverage: float = 1.0,
    maintenance_margin: float = 0.0,
    notional: float | None = None,
    funding: Any = None,
    rates_per_year: float | None = None,
    participation: float = 0.0,
    volume: Any = None,
    order_prices: Any = None,
    order_type: str = "limit",
    unfilled: str = "persist",
) -> BatchResult:
    """Simulate many target-position columns on one symbol and reduce each to metrics.

    Semantics are those of :func:`backtest.run_backtest` (target exposure decided at each close;
    orders only when the target changes; fills at the next open or at the close; sizing as a
    fraction of current equity; costs; direction clip), and final equity agrees with it to
    floating-point rounding.

    Args:
        open_, close: ``(n_bars,)`` prices (> 0).
        positions: target exposures in ``[-1, 1]``, one column per parameter set, as
            * an array or DataFrame ``(n_bars, n_sets)`` (``(n_bars,)`` = one set; any real or
              bool dtype: int8/float32 matrices save memory), or
            * a callable ``positions(c0, c1) -> array (n_bars, c1 - c0)`` producing the columns
              ``c0:c1`` on demand (needs ``n_sets``), or
            * an iterable of ``(n_bars, k)`` chunks, or
            * a :class:`backtest.fused.FusedSignal` (a built-in strategy's
              ``fused_signal``): the signals are computed inside the simulation pass, no
              positions matrix is built; results equal the matrix path's.
        costs: fees and slippage; ``Costs()`` when None.
        execution: ``"next-open"`` or ``"close"``.
        direction: ``"both"``, ``"longonly"`` or ``"shortonly"`` (clips the targets).
        init_cash: starting cash of every set (> 0).
        start, stop: simulate bars ``[start, stop)`` only (``stop=None``: to the end). The window
            starts flat with ``init_cash``; with next-open fills the target decided at bar
            ``start - 1`` is the first that can fill (at the open of ``start``).
        periods_per_year: annualisation of the metrics (252 for daily bars).
        chunk_size: columns per chunk when ``positions`` is a callable (default: about 128 MB of
            float64 positions per chunk). Peak memory is one chunk plus the kernel's small state.
        return_returns: also return the ``(stop - start, n_sets)`` float64 returns.
        whole_units: round order sizes down to whole units.
        risk_free: per-period risk-free return of the Sharpe and Omega ratios.
        n_sets: number of sets, required with a callable.
        n_threads: threads simulating blocks of columns in parallel (default: numba's thread
            count, i.e. the number of cores, or ``NUMBA_NUM_THREADS``).
        high, low: ``(n_bars,)`` prices, required with ``exits`` (their fills happen inside the
            bar); not read otherwise.
        exits: an exit layer (:class:`backtest.Exits`) for every set, or a sequence with one per
            set (a sweep over stop parameters: repeat the positions column). Needs the number of
            sets up front (an array, or a callable with ``n_sets``). Rules: see
            :mod:`backtest.exits`; the ATR rules of one call share one ``atr_window``.
        index: the bars' index (default: that of ``open_`` when it is a Series). Positions given
            as a Series/DataFrame (or chunks of them) must carry exactly this index; see
            :func:`backtest.checks.check_aligned`.
        max_leverage, maintenance_margin, notional: leverage (targets in ``[-L, L]``), margin
            call and fixed-notional sizing; funding: a funding-rate series (perpetuals). Rules
            and the financing rates of ``costs``: :mod:`backtest.financing`.
        rates_per_year: bars per year of the annual financing rates (None: periods_per_year).
        participation, volume: at most ``participation * volume[i]`` units per strategy order,
            the rest carried to the next bar (:mod:`backtest.financing`).
        order_prices, order_type, unfilled: limit or stop orders at prices set at each close,
            an ``(n_bars, n_sets)`` array like the positions (NaN: a market order); needs an
            array or a callable with ``n_sets`` for the positions (not a fused signal), fills
            at the next open, and ``high``/``low``. Rules: :mod:`backtest.entries`.

    Returns:
        :class:`BatchResult`.

    Raises:
        ParameterError: bad option values.
        DataValidationError: bad prices, prices whose scale the sizing cannot represent
            (:func:`backtest.checks.check_price_scale`), positions of the wrong shape or not
            indexed like the bars, or a target read by the simulation that is NaN or outside
            ``[-1, 1]`` (the message names set and bar). A book whose equity reaches 0 is
            closed out (:mod:`backtest.closeout`; see :attr:`BatchResult.liquidated_at`).
    """
    costs, lo, hi, init_cash = check_settings(costs, execution, direction, init_cash)
    margin = MarginSettings(max_leverage, maintenance_margin, notional, participation)
    lo, hi = lo * margin.max_leverage, hi * margin.max_leverage
    ppy = _check_options(periods_per_year, chunk_size)
    open_arr, close_arr, start, stop = _window_prices(open_, close, start, stop)
    n_bars = len(close_arr)
    n_threads = _n_threads(n_threads)
    if index is None and isinstance(open_, pd.Series):
        index = open_.index
    window_prices = np.concatenate([open_arr[start:stop], close_arr[start:stop]])
    check_price_scale(window_prices, init_cash, whole_units, "evaluate_batch")
    chunks, total = column_chunks(positions, n_bars, n_sets, chunk_size, index)
    entry = entry_input(order_prices, order_type, unfilled, execution, positions, n_bars,
                        total, index)  # fmt: skip
    exit_arrays = exit_inputs(exits, high, low, open_arr, close_arr, total, entry is not None)
    funding_arr = funding_per_bar(funding, index, n_bars)
    rpy = ppy if rates_per_year is None else float(rates_per_year)
    fx = margin_settings(margin, costs, rpy, len(funding_arr) > 0)
    market = market_array(funding_arr, volume, margin, n_bars)
    settings = (
        execution == "next-open", lo, hi, costs.fees, costs.fixed_fees, costs.slippage,
        1.0 if whole_units else np.nan, MIN_SIZE, init_cash, start, stop, float(risk_free), ppy,
    )  # fmt: skip
    values, returns = _run_chunks(
        chunks, total, open_arr, close_arr, settings, exit_arrays, fx if len(fx) else None,
        market, n_threads, return_returns, margin.max_leverage, entry,
    )  # fmt: skip
    return _batch_result(values, returns, exit_arrays[4], start, stop)


def _check_options(periods_per_year: Any, chunk_size: Any) -> float:
    """``periods_per_year`` as a positive float; ``chunk_size`` None or a positive int."""
    ppy = float(periods_per_year)
    if not (math.isfinite(ppy) and ppy > 0):
        raise ParameterError(
            f"`periods_per_year` must be a positive number, got {periods_per_year!r}"
        )
    if chunk_size is not None and (not isinstance(chunk_size, int | np.integer) or chunk_size < 1):
        raise ParameterError(f"`chunk_size` must be a positive int, got {chunk_size!r}")
    return ppy


def _window_prices(
    open_: Any, close: Any, start: int, stop: int | None
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """``(open, close, start, stop)``: checked prices of one length and ``0 <= start < stop``."""
    open_arr = price_array(open_, "open_")
    close_arr = price_array(close, "close")
    n_bars = len(close_arr)
    if len(open_arr) != n_bars:
        raise DataValidationError(
            f"evaluate_batch: `open_` has {len(open_arr)} bars and `close` {n_bars}; they must match"
        )
    stop = n_bars if stop is None else int(stop)
    start = int(start)
    if not 0 <= start < stop <= n_bars:
        raise ParameterError(
            f"evaluate_batch: need 0 <= start < stop <= n_bars={n_bars}, got start={start}, stop={stop}"
        )
    return open_arr, close_arr, start, stop


def _run_chunks(
    chunks: Any,
    total: int | None,
    open_arr: np.ndarray,
    close_arr: np.ndarray,
    settings: tuple,
    exit_arrays: tuple[np.ndarray, ...],
    fx: np.ndarray | None,
    market: np.ndarray,
    n_threads: int,
    return_returns: bool,
    limit: float,
    entry: tuple[np.ndarray, int, bool] | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Simulate chunk after chunk: the kernel's ``(n_sets, N_OUT)`` rows and, when asked for,
    the ``(stop - start, n_sets)`` returns. ``settings`` are the kernel's first arguments
    (fill timing, clip, costs, cash, window, risk-free rate, periods per year)."""
    high_arr, low_arr, atr_arr, xp, reasons = exit_arrays
    window = settings[10] - settings[9]
    returns_all: np.ndarray | None = None
    returns_parts: list[np.ndarray] = []
    if return_returns and total is not None:
        returns_all = np.empty((window, total), dtype=np.float64)
    empty = np.empty((0, 0), dtype=np.float64)
    parts: list[np.ndarray] = []
    col0 = 0
    for chunk in chunks:
        k = chunk.n_sets if isinstance(chunk, FusedSignal) else chunk.shape[1]
        if returns_all is not None:
            if col0 + k > returns_all.shape[1]:
                raise DataValidationError(
                    f"evaluate_batch: positions produced more than n_sets={total} columns"
                )
            ret_out, ret_col0 = returns_all, col0
        elif return_returns:
            ret_out, ret_col0 = np.empty((window, k), dtype=np.float64), 0
            returns_parts.append(ret_out)
        else:
            ret_out, ret_col0 = empty, 0
        xp_chunk = xp[col0 : col0 + k] if len(xp) else xp
        reasons_chunk = reasons[col0 : col0 + k] if len(reasons) else reasons
        entry_chunk = None
        if entry is not None:  # this chunk's columns of the priced orders
            entry_chunk = (np.ascontiguousarray(entry[0][:, col0 : col0 + k]), *entry[1:])
        out = _simulate_chunk(
            open_arr, close_arr, chunk, *settings, ret_out, ret_col0, high_arr, low_arr, atr_arr,
            xp_chunk, reasons_chunk, fx, market, entry_chunk, n_threads,
        )  # fmt: skip
        check_targets_read(out, chunk, "evaluate_batch", col0, limit)
        parts.append(out)
        col0 += k
    if total is not None and col0 != total:
        raise DataValidationError(
            f"evaluate_batch: positions produced {col0} columns, expected {total}"
        )
    if not parts:
        raise DataValidationError("evaluate_batch: positions produced no columns")
    if return_returns and returns_all is None:
        returns_all = np.concatenate(returns_parts, axis=1)
    return np.concatenate(parts, axis=0), returns_all


def _batch_result(
    values: np.ndarray, returns: np.ndarray | None, reasons: np.ndarray, start: int, stop: int
) -> BatchResult:
    """The :class:`BatchResult` of the kernel's rows (and the exit reasons' counts)."""
    metrics = metrics_frame(values)
    exit_reasons = None
    if len(reasons):
        exit_reasons = pd.DataFrame(
            reasons.astype(np.int64), columns=_REASON_COLUMNS, index=metrics.index
        )
    return BatchResult(
        metrics=metrics,
        returns=returns,
        start=start,
        stop=stop,
        exit_reasons=exit_reasons,
        liquidated_at=values[:, O_LIQUIDATED_AT].astype(np.int64),
    )
