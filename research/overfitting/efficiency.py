"""Walk-forward efficiency (Pardo): how much of the in-sample performance survives out of
sample. One ratio, two entry points:

* :func:`sharpe_efficiency` ``(oos, is_)``: the ratio of two scalars, what a walk-forward search
  reports (per fold: the pick's OOS over IS annualised Sharpe; for the run: the stitched OOS
  Sharpe over the mean IS Sharpe of the folds' picks, see :mod:`research.optimize.results`);
* :func:`walk_forward_efficiency` ``(is_performance, oos_performance)``: from per-fold values,
  mean OOS over mean IS, with the inputs checked.

Both are NaN when the in-sample value is not positive (the ratio has no meaning then).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from data_loaders.errors import DataValidationError

__all__ = ["sharpe_efficiency", "walk_forward_efficiency"]


def sharpe_efficiency(oos: float, is_: float) -> float:
    """``oos / is_``; NaN unless both are finite and ``is_ > 0``."""
    if not (math.isfinite(oos) and math.isfinite(is_)) or is_ <= 0:
        return math.nan
    return oos / is_


def walk_forward_efficiency(is_performance: Any, oos_performance: Any) -> float:
    """Walk-forward efficiency: mean out-of-sample over mean in-sample performance (Pardo).

    Both arguments are per-fold values (or scalars) of the **same annualised** measure (for
    example the annualised Sharpe ratio or return of each fold's pick in its training window and
    in its test window). 1 means the out-of-sample keeps all of the in-sample performance; values
    near 0 or negative mean it did not carry over. Undefined (NaN) when the mean in-sample
    performance is not positive.
    """
    is_arr = np.atleast_1d(np.asarray(is_performance, dtype=float))
    oos_arr = np.atleast_1d(np.asarray(oos_performance, dtype=float))
    if is_arr.shape != oos_arr.shape:
        raise DataValidationError(
            "`is_performance` and `oos_performance` need one value per fold each, got shapes "
            f"{is_arr.shape} and {oos_arr.shape}"
        )
    if is_arr.size == 0 or not (np.all(np.isfinite(is_arr)) and np.all(np.isfinite(oos_arr))):
        raise DataValidationError("walk-forward efficiency needs finite per-fold values")
    return float(sharpe_efficiency(float(oos_arr.mean()), float(is_arr.mean())))
