"""Lookahead check: positions computed on truncated data must equal those on the full data.

A causal strategy decides the position of bar ``t`` from bars ``0..t`` only, so removing the bars
after ``t`` cannot change it. :func:`check_lookahead` computes positions on the full data once,
then on copies of the data cut at many points spread over the sample (down to removing only
the last bar), and compares every position before each cut with the full run. The earliest bar
whose position changes is reported, with the cut that exposed it.

The check takes any callable ``bars -> positions`` (it never imports ``strategies``): for a
strategy, pass ``strategy.positions`` (fitted first when it learns; see
``research check-lookahead``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from data_loaders.bars import Bars as _BarsFrames
from data_loaders.bars import bars_index
from data_loaders.errors import DataTooShortError, DataValidationError, ParameterError

__all__ = ["LookaheadReport", "check_lookahead", "cut_points", "truncate_bars"]

#: what the check accepts: bars (:data:`data_loaders.bars.Bars`) or a plain series
Bars = _BarsFrames | pd.Series


@dataclass(frozen=True)
class LookaheadReport:
    """Outcome of :func:`check_lookahead`.

    Attributes:
        ok: True when no position changed (and the function is deterministic).
        first_bad_bar: index label (timestamp) of the earliest bar whose position changed when
            later bars were removed; ``None`` when ok.
        cut: label of the last bar kept in the truncated run that exposed it (``None`` when ok,
            or when the full run itself was not reproducible).
        n_cuts_checked: number of truncated runs compared.
        message: one line for people: "no lookahead ..." or what changed where.
        bad_position: 0-based position of ``first_bad_bar`` (``None`` when ok).
        cut_bars: number of bars kept in that truncated run (``None`` when ok).
        column: the symbol/column whose position changed (multi-asset positions), else ``None``.
        full_value, cut_value: the position at ``first_bad_bar`` in the full and truncated runs.
    """

    ok: bool
    first_bad_bar: Any
    cut: Any
    n_cuts_checked: int
    message: str
    bad_position: int | None = None
    cut_bars: int | None = None
    column: Any = None
    full_value: float | None = None
    cut_value: float | None = None


def _reference_index(bars: Bars) -> pd.Index:
    if isinstance(bars, Mapping):
        if not bars:
            raise DataValidationError("check_lookahead: `bars` is an empty dict")
        return bars_index(bars)  # the union of the symbols' calendars
    if isinstance(bars, pd.DataFrame | pd.Series):
        return bars.index
    raise DataValidationError(
        f"check_lookahead: `bars` must be a DataFrame, Series or dict of DataFrames, "
        f"got {type(bars).__name__}"
    )


def truncate_bars(bars: Bars, n_keep: int) -> Bars:
    """The first ``n_keep`` bars: ``iloc`` for a frame/series; for a dict, every frame up to the
    timestamp of the reference calendar's (the union of the frames') ``n_keep``-th bar."""
    if isinstance(bars, Mapping):
        last = _reference_index(bars)[n_keep - 1]
        return {
            key: frame.iloc[: frame.index.searchsorted(last, side="right")]
            for key, frame in bars.items()
        }
    return bars.iloc[:n_keep]


def cut_points(n_bars: int, n_cuts: int, min_bars: int) -> np.ndarray:
    """Numbers of bars kept by each truncated run: ``n_cuts`` values spread evenly over
    ``[min_bars, n_bars - 1]`` (the last one removes only the final bar), unique, increasing."""
    if n_bars - 1 < min_bars:
        raise DataTooShortError(
            f"lookahead check needs more than min_bars={min_bars} bars to cut, data has {n_bars}"
        )
    cuts = np.linspace(min_bars, n_bars - 1, max(n_cuts, 1)).round().astype(np.int64)
    return np.unique(np.r_[cuts, n_bars - 1])


def _as_matrix(positions: Any, n_expected: int, what: str) -> tuple[np.ndarray, list[Any] | None]:
    """Positions as a float ``(n, m)`` matrix plus column names (DataFrame) or None."""
    columns = list(positions.columns) if isinstance(positions, pd.DataFrame) else None
    values = positions.to_numpy() if isinstance(positions, pd.Series | pd.DataFrame) else positions
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(f"{what} returned non-numeric positions: {exc}") from None
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[0] != n_expected:
        raise DataValidationError(
            f"{what} returned positions of shape {np.shape(values)} for {n_expected} bars; "
            f"it must return one row per bar"
        )
    return arr, columns


def _first_mismatch(a: np.ndarray, b: np.ndarray, atol: float) -> tuple[int, int] | None:
    """(row, column) of the first element where ``a`` and ``b`` differ (NaN equals NaN)."""
    same = np.isclose(a, b, rtol=0.0, atol=atol, equal_nan=True)
    if same.all():
        return None
    rows, cols = np.nonzero(~same)
    k = int(np.argmin(rows))  # nonzero is row-major: the first hit is the earliest row
    return int(rows[k]), int(cols[k])


def check_lookahead(
    positions_fn: Callable[[Bars], Any],
    bars: Bars,
    *,
    n_cuts: int = 20,
    min_bars: int | None = None,
    atol: float = 1e-12,
) -> LookaheadReport:
    """Verify that ``positions_fn`` never uses bars after the one it decides for.

    Args:
        positions_fn: ``bars -> positions`` with one row per bar: a Series/1-D array, or a
            DataFrame/2-D array with one column per symbol (multi-asset).
        bars: a DataFrame or Series of bars, or a ``dict[symbol, DataFrame]`` sharing one index
            (cut by the timestamps of the first frame).
        n_cuts: number of truncated runs, spread evenly from ``min_bars`` bars to all but the
            last bar.
        min_bars: fewest bars a truncated run keeps; default ``max(2, n_bars // 10)``. Set it
            above the strategy's warm-up or fitting window when shorter data cannot be run.
        atol: absolute tolerance when comparing positions.

    Returns:
        A :class:`LookaheadReport`. The function is first run twice on the full data: different
        results mean it is not deterministic, which is reported (``ok=False``) as such.

    Raises:
        ParameterError: bad ``n_cuts``/``min_bars``/``atol``.
        DataTooShortError: fewer bars than ``min_bars + 1``.
        DataValidationError: ``positions_fn`` returned a wrong number of rows.
    """
    index = _reference_index(bars)
    n = len(index)
    cuts = _cuts(n, n_cuts, min_bars, atol)
    full, columns = _as_matrix(positions_fn(bars), n, "positions_fn(full data)")
    again, _ = _as_matrix(positions_fn(bars), n, "positions_fn(full data)")
    bad = _first_mismatch(full, again, atol)
    if bad is not None:
        return _not_deterministic(index, full, again, columns, bad)
    worst = _worst_cut(positions_fn, bars, full, cuts, atol)
    n_checked = len(cuts)
    if worst is None:
        return LookaheadReport(
            ok=True,
            first_bad_bar=None,
            cut=None,
            n_cuts_checked=n_checked,
            message=(
                f"no lookahead: positions on {n_checked} truncated copies of the data (from "
                f"{int(cuts[0])} to {n - 1} of {n} bars) equal the full-data positions at every "
                f"earlier bar"
            ),
        )
    row, c, col, cut_value = worst
    name = columns[col] if columns else None
    where = f" [{name}]" if name is not None else ""
    return LookaheadReport(
        ok=False,
        first_bad_bar=index[row],
        cut=index[c - 1],
        n_cuts_checked=n_checked,
        message=(
            f"lookahead at bar {index[row]}{where} (position {row}): the position is "
            f"{float(full[row, col])!r} with the full data but {cut_value!r} when the data ends at "
            f"{index[c - 1]} ({c} bars kept); the decision at that bar reads later bars"
        ),
        bad_position=row,
        cut_bars=c,
        column=name,
        full_value=float(full[row, col]),
        cut_value=cut_value,
    )


def _cuts(n: int, n_cuts: Any, min_bars: Any, atol: Any) -> np.ndarray:
    """The checked options and the bar counts of the truncated runs (:func:`cut_points`)."""
    if isinstance(n_cuts, bool) or not isinstance(n_cuts, int | np.integer) or n_cuts < 1:
        raise ParameterError(f"`n_cuts` must be an int >= 1, got {n_cuts!r}")
    if not (isinstance(atol, int | float) and atol >= 0):
        raise ParameterError(f"`atol` must be a number >= 0, got {atol!r}")
    if min_bars is None:
        min_bars = max(2, n // 10)
    if isinstance(min_bars, bool) or not isinstance(min_bars, int | np.integer) or min_bars < 1:
        raise ParameterError(f"`min_bars` must be an int >= 1, got {min_bars!r}")
    return cut_points(n, int(n_cuts), int(min_bars))


def _not_deterministic(
    index: pd.Index, full: np.ndarray, again: np.ndarray, columns: Any, bad: tuple[int, int]
) -> LookaheadReport:
    """The report of two full-data runs that differ first at ``bad`` (row, column)."""
    row, col = bad
    name = columns[col] if columns else None
    where = f" [{name}]" if name is not None else ""
    return LookaheadReport(
        ok=False,
        first_bad_bar=index[row],
        cut=None,
        n_cuts_checked=0,
        message=(
            f"not deterministic: two runs on the same data differ first at bar {index[row]}"
            f"{where} ({float(full[row, col])!r} vs {float(again[row, col])!r}); fix the seed before "
            f"checking lookahead"
        ),
        bad_position=row,
        column=name,
        full_value=float(full[row, col]),
        cut_value=float(again[row, col]),
    )


def _worst_cut(
    positions_fn: Callable[[Bars], Any], bars: Bars, full: np.ndarray, cuts: np.ndarray, atol: float
) -> tuple[int, int, int, float] | None:
    """``(row, cut, column, cut value)`` of the earliest row where a truncated run differs from
    the full-data run (None: none does)."""
    worst: tuple[int, int, int, float] | None = None  # (row, cut, col, cut value)
    for c in cuts:
        c = int(c)
        part, _ = _as_matrix(
            positions_fn(truncate_bars(bars, c)), c, f"positions_fn(first {c} bars)"
        )
        if part.shape[1] != full.shape[1]:
            raise DataValidationError(
                f"positions_fn returned {part.shape[1]} columns on the first {c} bars but "
                f"{full.shape[1]} on the full data"
            )
        bad = _first_mismatch(full[:c], part, atol)
        if bad is not None and (worst is None or bad[0] < worst[0]):
            worst = (bad[0], c, bad[1], float(part[bad[0], bad[1]]))
    return worst
