"""Input checks shared by the overfitting statistics: finite 1-D returns and finite
``(T periods, N trials)`` returns matrices, with errors that say where the bad value is."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from data_loaders.errors import DataValidationError

__all__ = ["as_returns_1d", "as_returns_matrix"]


def as_returns_1d(returns: Any, name: str = "returns") -> np.ndarray:
    """``returns`` as a finite float 1-D array (DataValidationError naming the bad period)."""
    arr = np.asarray(returns, dtype=float)
    if arr.ndim != 1:
        raise DataValidationError(f"`{name}` must be 1-D, got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        pos = int(np.argmax(bad))
        where = returns.index[pos] if isinstance(returns, pd.Series) else pos
        raise DataValidationError(
            f"`{name}` must be finite, got {float(arr[pos])} at {where} (drop or fill missing periods)"
        )
    return arr


def as_returns_matrix(returns_matrix: Any, name: str = "returns_matrix") -> np.ndarray:
    """``returns_matrix`` as a finite float ``(T, N)`` array (DataValidationError naming the
    bad cell)."""
    arr = np.asarray(returns_matrix, dtype=float)
    if arr.ndim != 2:
        raise DataValidationError(
            f"`{name}` must be 2-D (T periods x N trials), got shape {arr.shape}"
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        row, col = (int(x) for x in np.argwhere(bad)[0])
        if isinstance(returns_matrix, pd.DataFrame):
            where = f"row {returns_matrix.index[row]}, column {returns_matrix.columns[col]!r}"
        else:
            where = f"row {row}, column {col}"
        raise DataValidationError(
            f"`{name}` must be finite, got {float(arr[row, col])} at {where} "
            "(align the trials on common periods and fill flat periods with 0)"
        )
    return arr
