"""The batch path's inputs checked and shaped for the kernel: prices, position chunks, exits.

:func:`column_chunks` turns any positions source :func:`backtest.evaluate_batch` accepts (a
matrix, a callable producing column ranges, an iterable of chunks, a fused signal) into an
iterator of ``(n_bars, k)`` chunks, checking each chunk's shape, dtype and index as it is made;
:func:`price_array` checks one price series; :func:`exit_inputs` builds the exit layer's arrays.
Every refusal is one line naming what and where.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from backtest._exits_nb import N_XP
from backtest._sim_nb import BLOCK
from backtest.checks import check_aligned
from backtest.entries import check_order_options, order_price_matrix
from backtest.exits import ATR_COLUMNS, EXIT_REASONS, atr, exit_table
from backtest.fused import FusedSignal
from data_loaders.errors import DataValidationError, ParameterError

__all__ = [
    "column_blocks",
    "CHUNK_BYTES",
    "PositionsSource",
    "default_chunk_size",
    "price_array",
    "as_chunk",
    "column_chunks",
    "entry_input",
    "exit_inputs",
]

#: bytes of positions one chunk may hold when the chunk size is chosen automatically
CHUNK_BYTES = 128 * 2**20

PositionsSource = (
    np.ndarray | pd.DataFrame | Callable[[int, int], Any] | Iterable[Any] | FusedSignal
)


def default_chunk_size(n_bars: int, itemsize: int = 8) -> int:
    """Columns per chunk so that one chunk of positions holds about :data:`CHUNK_BYTES`."""
    return max(8, CHUNK_BYTES // max(1, n_bars * itemsize) // 8 * 8)


def price_array(values: Any, name: str) -> np.ndarray:
    """``values`` as a contiguous 1-D float64 array of finite prices > 0 (else one line naming
    the bar)."""
    arr = np.ascontiguousarray(np.asarray(values, dtype=np.float64))
    if arr.ndim != 1:
        raise DataValidationError(f"evaluate_batch: `{name}` must be 1-D, got shape {arr.shape}")
    bad = ~(np.isfinite(arr) & (arr > 0))
    if bad.any():
        k = int(np.argmax(bad))
        raise DataValidationError(
            f"evaluate_batch: `{name}` at bar {k} must be a finite price > 0, got {float(arr[k])!r}"
        )
    return arr


def as_chunk(chunk: Any, n_bars: int, where: str, index: pd.Index | None = None) -> np.ndarray:
    """One chunk of positions as a numeric ``(n_bars, k)`` array (bools viewed as uint8)."""
    check_aligned(chunk, index, f"evaluate_batch: {where}")
    if isinstance(chunk, pd.DataFrame | pd.Series):
        chunk = chunk.to_numpy()
    arr = np.asarray(chunk)
    if arr.dtype == np.bool_:
        arr = arr.view(np.uint8)
    elif not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise DataValidationError(f"evaluate_batch: {where} must be numeric, got dtype {arr.dtype}")
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[0] != n_bars:
        raise DataValidationError(
            f"evaluate_batch: {where} must have shape ({n_bars}, n_sets), got {arr.shape}"
        )
    return arr


def column_chunks(
    positions: PositionsSource,
    n_bars: int,
    n_sets: int | None,
    chunk_size: int | None,
    index: pd.Index | None = None,
) -> tuple[Iterator[np.ndarray], int | None]:
    """Iterator of ``(n_bars, k)`` column chunks, and the total number of sets when known.
    A :class:`backtest.fused.FusedSignal` is one chunk of its own."""
    if isinstance(positions, FusedSignal):
        if positions.n_bars != n_bars:
            raise DataValidationError(
                f"evaluate_batch: the fused signal is defined on {positions.n_bars} bars and "
                f"the prices have {n_bars}; they must match"
            )
        return iter([positions]), int(positions.n_sets)
    if isinstance(positions, np.ndarray | pd.DataFrame | pd.Series):
        arr = as_chunk(positions, n_bars, "positions", index)
        return iter([arr]), arr.shape[1]
    if callable(positions):
        if n_sets is None or int(n_sets) < 1:
            raise ParameterError(
                "evaluate_batch: `n_sets` (a positive int) is required when positions is a "
                f"callable, got {n_sets!r}"
            )
        total = int(n_sets)
        size = chunk_size or default_chunk_size(n_bars)

        def produce() -> Iterator[np.ndarray]:
            for c0 in range(0, total, size):
                c1 = min(c0 + size, total)
                arr = as_chunk(positions(c0, c1), n_bars, f"positions({c0}, {c1})", index)
                if arr.shape[1] != c1 - c0:
                    raise DataValidationError(
                        f"evaluate_batch: positions({c0}, {c1}) must return {c1 - c0} columns, "
                        f"got {arr.shape[1]}"
                    )
                yield arr

        return produce(), total
    if isinstance(positions, Iterable):
        chunks = (
            as_chunk(c, n_bars, f"positions chunk {k}", index) for k, c in enumerate(positions)
        )
        return chunks, None
    raise DataValidationError(
        "evaluate_batch: positions must be an array (n_bars, n_sets), a callable "
        f"(c0, c1) -> array, or an iterable of column chunks; got {type(positions).__name__}"
    )


def entry_input(
    order_prices: Any,
    order_type: str,
    unfilled: str,
    execution: str,
    positions: Any,
    n_bars: int,
    total: int | None,
    index: pd.Index | None,
) -> tuple[np.ndarray, int, bool] | None:
    """The kernel's priced orders ``(prices, kind, cancel)`` (:mod:`backtest._entries_nb`), or
    None without ``order_prices``."""
    if order_prices is None:
        return None
    kind, cancel = check_order_options(order_type, unfilled, execution, "evaluate_batch")
    if isinstance(positions, FusedSignal) or total is None:
        raise ParameterError(
            "evaluate_batch: `order_prices` need the positions as an array, or as a callable "
            "with `n_sets` (not a fused signal or an iterable of chunks)"
        )
    prices = order_price_matrix(order_prices, n_bars, total, "evaluate_batch", index)
    return prices, int(kind), bool(cancel)


def exit_inputs(
    exits: Any,
    high: Any,
    low: Any,
    open_: np.ndarray,
    close: np.ndarray,
    total: int | None,
    priced: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(high, low, atr, xp, reasons)`` kernel inputs; empty arrays without an exit layer
    (``high`` and ``low`` are read too with ``priced`` orders)."""
    none = np.empty(0)
    if exits is None and not priced:
        return none, none, none, np.empty((0, N_XP)), np.empty((0, 0))
    what = "`exits`" if exits is not None else "`order_prices`"
    if total is None:
        raise ParameterError(
            f"evaluate_batch: {what} needs the number of sets up front: pass positions as an "
            "array, or as a callable with `n_sets`"
        )
    if high is None or low is None:
        raise ParameterError(f"evaluate_batch: {what} needs the bars' `high` and `low` prices")
    high_arr, low_arr = price_array(high, "high"), price_array(low, "low")
    n = len(close)
    for name, arr in (("high", high_arr), ("low", low_arr)):
        if len(arr) != n:
            raise DataValidationError(
                f"evaluate_batch: `{name}` has {len(arr)} bars and `close` {n}; they must match"
            )
    bad = (high_arr < np.maximum(open_, close)) | (low_arr > np.minimum(open_, close))
    if bad.any():
        k = int(np.argmax(bad))
        raise DataValidationError(
            f"evaluate_batch: bar {k} must have low <= open, close <= high, got open={open_[k]!r} "
            f"high={high_arr[k]!r} low={low_arr[k]!r} close={close[k]!r}"
        )
    if exits is None:
        return high_arr, low_arr, none, np.empty((0, N_XP)), np.empty((0, 0))
    xp, window = exit_table(exits, total)
    if np.isfinite(xp[:, ATR_COLUMNS]).any():
        atr_arr = np.ascontiguousarray(atr(high_arr, low_arr, close, window))
    else:  # no rule reads it: the kernels pass NaN along, as before its warm-up
        atr_arr = np.full(n, np.nan)
    return high_arr, low_arr, atr_arr, xp, np.zeros((total, len(EXIT_REASONS)))


def column_blocks(n_cols: int) -> list[tuple[int, int]]:
    """``(c0, c1)`` of the blocks of at most :data:`BLOCK` columns, as few as that allows, of
    sizes differing by at most one (90 columns: six of 8 and six of 7, not eleven of 8 and one
    of 2), so the threads finish together."""
    n_blocks = -(-n_cols // BLOCK)
    edges = [k * n_cols // n_blocks for k in range(n_blocks + 1)]
    return list(zip(edges[:-1], edges[1:], strict=True))
