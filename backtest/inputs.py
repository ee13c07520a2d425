"""The reference engine's inputs: bars and target positions checked and shaped as frames.

:func:`price_frames` turns one DataFrame of bars (or a dict of them sharing one index) into open
and close frames with one column per symbol; :func:`target_frame` turns the positions (Series,
array, or DataFrame per symbol) into a float frame shaped like them, each target checked to lie
in ``[-limit, limit]``. Every refusal is a :class:`~data_loaders.errors.DataValidationError`
naming the symbol and bar.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from data_loaders.errors import DataValidationError

__all__ = ["price_frames", "target_frame"]


def price_frames(bars: Any) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    """``(open, close, multi)`` DataFrames with one column per symbol."""
    if isinstance(bars, Mapping):
        if not bars:
            raise DataValidationError(
                "run_backtest: `bars` is an empty dict; give at least one symbol"
            )
        symbols = list(bars)
        first = bars[symbols[0]]
        for sym in symbols:
            frame = bars[sym]
            _check_bars(frame, f"bars[{sym!r}]")
            if not frame.index.equals(first.index):
                raise DataValidationError(
                    f"run_backtest: bars[{sym!r}] index differs from bars[{symbols[0]!r}]; "
                    "several symbols must share one index (align them first)"
                )
        open_ = pd.DataFrame(
            {s: bars[s]["open"].to_numpy(np.float64) for s in symbols}, index=first.index
        )
        close = pd.DataFrame(
            {s: bars[s]["close"].to_numpy(np.float64) for s in symbols}, index=first.index
        )
        return open_, close, True
    _check_bars(bars, "bars")
    symbol = bars.attrs.get("symbol") or "close"
    open_ = pd.DataFrame({symbol: bars["open"].to_numpy(np.float64)}, index=bars.index)
    close = pd.DataFrame({symbol: bars["close"].to_numpy(np.float64)}, index=bars.index)
    return open_, close, False


def _check_bars(frame: Any, where: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError(
            f"run_backtest: {where} must be a DataFrame of bars, got {type(frame).__name__}"
        )
    missing = [c for c in ("open", "close") if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"run_backtest: {where} lacks column(s) {missing}; bars need open and close"
        )
    if len(frame) == 0:
        raise DataValidationError(f"run_backtest: {where} has no rows")
    for col in ("open", "close"):
        values = frame[col].to_numpy(np.float64)
        bad = ~(np.isfinite(values) & (values > 0))
        if bad.any():
            k = int(np.argmax(bad))
            raise DataValidationError(
                f"run_backtest: {where} column {col!r} at {frame.index[k]} must be a finite price > 0, "
                f"got {float(values[k])!r}"
            )


def target_frame(
    positions: Any, close: pd.DataFrame, multi: bool, limit: float = 1.0
) -> pd.DataFrame:
    """Positions as a float DataFrame shaped like ``close``, validated to lie in
    ``[-limit, limit]`` (the leverage)."""
    if isinstance(positions, pd.DataFrame):
        if not multi and positions.shape[1] == 1:
            positions = positions.iloc[:, 0]
        elif not multi:
            raise DataValidationError(
                f"run_backtest: positions has {positions.shape[1]} columns for one symbol; "
                "give a Series (or a dict of bars for several symbols)"
            )
    if multi:
        if not isinstance(positions, pd.DataFrame):
            raise DataValidationError(
                "run_backtest: several symbols need positions as a DataFrame with one column per "
                f"symbol, got {type(positions).__name__}"
            )
        unknown = [c for c in positions.columns if c not in close.columns]
        missing = [c for c in close.columns if c not in positions.columns]
        if unknown or missing:
            raise DataValidationError(
                f"run_backtest: positions columns must be the symbols {list(close.columns)}; "
                f"unknown {unknown}, missing {missing}"
            )
        if not positions.index.equals(close.index):
            raise DataValidationError("run_backtest: positions index differs from the bars index")
        frame = positions[list(close.columns)].astype(np.float64)
    else:
        if isinstance(positions, pd.Series):
            if not positions.index.equals(close.index):
                raise DataValidationError(
                    "run_backtest: positions index differs from the bars index; "
                    "compute positions on the same bars"
                )
            values = positions.to_numpy(np.float64)
        else:
            values = np.asarray(positions, dtype=np.float64)
            if values.ndim != 1 or len(values) != len(close):
                raise DataValidationError(
                    f"run_backtest: positions must have shape ({len(close)},), got {values.shape}"
                )
        frame = pd.DataFrame({close.columns[0]: values}, index=close.index)
    arr = frame.to_numpy()
    bad = ~((arr >= -limit) & (arr <= limit))
    if bad.any():
        row, col = np.argwhere(bad)[0]
        where = f"positions[{frame.columns[col]!r}]" if multi else "positions"
        raise DataValidationError(
            f"run_backtest: {where} at {frame.index[row]} must be a target exposure in "
            f"[{-limit:g}, {limit:g}], got {float(arr[row, col])!r}"
        )
    return frame
