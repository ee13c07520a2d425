"""The batch kernel's output rows as metrics: :data:`BATCH_METRICS` and the checks on them.

:mod:`backtest._sim_nb` writes one row of :data:`backtest._sim_nb.OUT_NAMES` per parameter set;
:func:`evaluate_batch <backtest.batch.evaluate_batch>` and
:func:`simulate_resumable <backtest.resume.simulate_resumable>` turn those rows into one metrics
frame (:func:`metrics_frame`) after refusing a target the simulation read that was NaN or out of
range (:func:`check_targets_read`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from backtest._sim_nb import O_FIRST_INVALID, O_LIQUIDATED_AT, O_N_INVALID, OUT_NAMES
from backtest.metric_table import SEARCHABLE
from data_loaders.errors import DataValidationError

__all__ = ["BATCH_METRICS", "metrics_frame", "frame_of_columns", "check_targets_read"]

#: columns of :attr:`BatchResult.metrics`, in order
_NOT_METRICS = ("n_invalid", "first_invalid", "liquidated_at")
BATCH_METRICS = tuple(n for n in OUT_NAMES if n not in _NOT_METRICS)
if BATCH_METRICS != SEARCHABLE:  # the kernel's output layout must follow the metric table
    raise ImportError(
        f"backtest._sim_nb.OUT_NAMES is out of step with backtest.metric_table.SEARCHABLE: "
        f"{BATCH_METRICS} != {SEARCHABLE}"
    )
_INT_COLUMNS = ("n_trades", "n_orders")
_BATCH_COLUMNS = [OUT_NAMES.index(name) for name in BATCH_METRICS]
_COLUMNS = pd.Index(BATCH_METRICS)  # built once: an Index of strings costs ~20 us per call


def frame_of_columns(arrays: list[np.ndarray], columns: pd.Index, index: pd.Index) -> pd.DataFrame:
    """A DataFrame of the 1-d ``arrays`` (one per column, kept as they are: no copy, no dtype
    inference), the same frame as ``pd.DataFrame(dict(zip(columns, arrays)), index=index)``.

    Uses pandas' internal ``DataFrame._from_arrays`` (4x faster than the dict constructor on a
    batch's metrics, which matters when a batch takes milliseconds), falling back to the public
    constructor if a pandas release drops it; ``tests/backtest/test_batch.py`` pins that both
    give equal frames.
    """
    build = getattr(pd.DataFrame, "_from_arrays", None)
    if build is not None:
        try:
            return build(arrays, columns=columns, index=index, verify_integrity=False)
        except TypeError:  # another signature: the public constructor below
            pass
    return pd.DataFrame(dict(zip(columns, arrays, strict=True)), index=index)


def metrics_frame(values: np.ndarray, liquidated_at: bool = False) -> pd.DataFrame:
    """One row per set (index ``set``), columns :data:`BATCH_METRICS` (counts as int64), and
    ``liquidated_at`` (int64) when asked for, from the kernel's ``(n_sets, N_OUT)`` rows."""
    arrays = [
        values[:, k].astype(np.int64) if name in _INT_COLUMNS else values[:, k]
        for name, k in zip(BATCH_METRICS, _BATCH_COLUMNS)
    ]
    metrics = frame_of_columns(arrays, _COLUMNS, pd.RangeIndex(len(values), name="set"))
    if liquidated_at:
        metrics["liquidated_at"] = values[:, O_LIQUIDATED_AT].astype(np.int64)
    return metrics


def check_targets_read(
    values: np.ndarray, positions: Any, where: str, col0: int = 0, limit: float = 1.0
) -> None:
    """Raise DataValidationError naming the first set (numbered from ``col0``) and bar whose
    target read by the simulation was NaN or outside ``[-limit, limit]``."""
    invalid = np.flatnonzero(values[:, O_N_INVALID] > 0)
    if invalid.size:
        j = int(invalid[0])
        bar = int(values[j, O_FIRST_INVALID])
        raise DataValidationError(
            f"{where}: positions set {col0 + j} at bar {bar} must be a target exposure in "
            f"[{-limit:g}, {limit:g}], got {float(positions[bar, j])!r}"
        )
