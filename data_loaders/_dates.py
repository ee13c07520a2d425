"""Turn a column of dates/times in any common shape into a tz-aware UTC ``DatetimeIndex``.

Accepted shapes, tried in this order:

* already-typed ``datetime64`` values (naive or tz-aware);
* numbers: Unix epoch in seconds, milliseconds, microseconds or nanoseconds, told apart by
  magnitude (``|x| < 1e11`` seconds, ``< 1e14`` ms, ``< 1e17`` us, else ns), or ``YYYYMMDD``
  integers (``19000101 .. 21001231``);
* text: ISO 8601 (``2020-01-31``, ``2020-01-31 09:30``, ``2020-01-31T09:30:00Z``,
  ``...+01:00``), then the common vendor layouts in :data:`TEXT_FORMATS` (US ``1/31/2020``
  before day-first ``31/01/2020``; a column that only parses day-first is read day-first).
  One format must parse the whole column: a column mixing layouts is refused, not guessed.

Convention: naive times are wall-clock times in ``tz`` (default UTC) and are converted to UTC;
times that carry an offset are converted to UTC and ``tz`` is not used for them. The result has
nanosecond resolution.
"""

from __future__ import annotations

import difflib
import zoneinfo
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd
from pandas.tseries import offsets
from pandas.tseries.frequencies import to_offset

from data_loaders.errors import DataValidationError, ParameterError

__all__ = ["parse_times", "check_timezone", "read_offset", "TEXT_FORMATS"]

#: explicit layouts tried after ISO 8601, in order (first one that parses every row wins)
TEXT_FORMATS: tuple[str, ...] = (
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M:%S.%f",
    "%Y%m%d",
    "%Y%m%d %H:%M",
    "%Y%m%d %H:%M:%S",
    "%Y%m%d %H%M%S",
    "%Y.%m.%d",
    "%Y.%m.%d %H:%M",
    "%Y.%m.%d %H:%M:%S",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%b %d, %Y",
    "%d %b %Y",
)

_UNITS = ("s", "ms", "us", "ns")
_SAMPLE = 64


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_timezone(tz: str | None, *, key: str = "tz") -> str | None:
    """Return ``tz`` if it is a known IANA zone name (or None); raise ParameterError otherwise.

    ``key`` is how the argument is named in the message (``data.tz`` for a spec key).
    """
    if tz is None:
        return None
    if not isinstance(tz, str):
        raise ParameterError(
            f"`{key}` must be an IANA time-zone name such as 'America/New_York', got {tz!r}"
        )
    if tz.upper() == "UTC" or tz in _timezones():
        return tz
    close = difflib.get_close_matches(tz, _timezones(), n=1, cutoff=0.6)
    close = close or [z for z in _timezones() if z.lower() == tz.lower()]
    hint = f"did you mean {close[0]!r}?" if close else "e.g. 'UTC', 'America/New_York'"
    raise ParameterError(f"`{key}`: unknown time zone {tz!r} ({hint})")


def read_offset(rule: object, *, key: str) -> offsets.BaseOffset:
    """``rule`` as a pandas offset (``"1D"``, ``"4h"``, ``"W-FRI"``); ParameterError naming
    ``key`` when pandas cannot read it."""
    try:
        return to_offset(rule)
    except (ValueError, TypeError) as exc:
        raise ParameterError(
            f"`{key}`: cannot read {rule!r} as a pandas frequency ({exc})"
        ) from None


def _fail(source: str, column: str, rows: np.ndarray, pos: int, what: str) -> DataValidationError:
    return DataValidationError(f"{source}: row {int(rows[pos])}, column {column!r}: {what}")


def _localize(idx: pd.DatetimeIndex, tz: str | None, source: str, column: str, rows: np.ndarray):
    """Naive wall-clock times in ``tz`` -> UTC; aware times -> UTC."""
    if idx.tz is not None:
        return idx.tz_convert("UTC")
    if tz is None or tz.upper() == "UTC":
        return idx.tz_localize("UTC")
    try:
        return idx.tz_localize(tz, ambiguous="raise", nonexistent="raise").tz_convert("UTC")
    except Exception:  # noqa: BLE001 - ambiguous or non-existent local times (DST changes)
        pass
    try:
        # an ordered series through a fall-back hour is resolved by order ("infer")
        return idx.tz_localize(tz, ambiguous="infer", nonexistent="raise").tz_convert("UTC")
    except Exception:  # noqa: BLE001
        bad = _first_bad_local_time(idx, tz)
        where = f"{idx[bad]} " if bad is not None else ""
        pos = bad if bad is not None else 0
        raise _fail(
            source,
            column,
            rows,
            pos,
            f"local time {where}does not exist or is ambiguous in {tz} (daylight-saving "
            "change); give times with a UTC offset or use tz='UTC'",
        ) from None


def _first_bad_local_time(idx: pd.DatetimeIndex, tz: str) -> int | None:
    loc = idx.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    bad = np.flatnonzero(loc.isna() & ~idx.isna())
    return int(bad[0]) if len(bad) else None


def _epoch_unit(values: np.ndarray) -> np.ndarray:
    """Index into ``_UNITS`` for each value, by magnitude."""
    mag = np.abs(values)
    return np.searchsorted(np.array([1e11, 1e14, 1e17]), mag, side="right")


def _from_numbers(
    values: np.ndarray, source: str, column: str, rows: np.ndarray
) -> pd.DatetimeIndex:
    values = values.astype(np.float64, copy=False)
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        raise _fail(
            source, column, rows, int(bad[0]), f"missing or unparseable date {values[bad[0]]!r}"
        )
    # YYYYMMDD integers (e.g. 20200131) are dates, not seconds in 1970
    if (
        len(values)
        and np.all(values == np.floor(values))
        and values.min() >= 19000101
        and values.max() <= 21001231
    ):
        parsed = pd.to_datetime(
            values.astype(np.int64).astype(str), format="%Y%m%d", errors="coerce"
        )
        if not parsed.isna().any():
            return pd.DatetimeIndex(parsed)
    units = _epoch_unit(values)
    if len(units) and np.any(units != units[0]):
        majority = np.bincount(units).argmax()
        pos = int(np.flatnonzero(units != majority)[0])
        raise _fail(
            source,
            column,
            rows,
            pos,
            f"epoch timestamp {values[pos]:.0f} is in {_UNITS[units[pos]]} while most rows are in "
            f"{_UNITS[majority]} (rule: one epoch unit per column)",
        )
    unit = _UNITS[units[0]] if len(units) else "s"
    scale = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}[unit]
    # integer arithmetic keeps ms/us exact; fractional seconds go through float
    if np.all(values == np.floor(values)) and unit != "s":
        ns = values.astype(np.int64) * scale
    else:
        ns = np.round(values * scale).astype(np.int64)
    return pd.DatetimeIndex(ns.astype("datetime64[ns]"))


def _to_datetime(text: pd.Series, fmt: str) -> pd.Series:
    """Parse with one format; offsets are converted to UTC; unparseable -> NaT."""
    try:
        return pd.to_datetime(text, format=fmt, errors="coerce")
    except ValueError:  # mixed UTC offsets in one column
        return pd.to_datetime(text, format=fmt, errors="coerce", utc=True)


def _from_text(
    text: pd.Series,
    source: str,
    column: str,
    rows: np.ndarray,
    date_format: str | None,
) -> pd.DatetimeIndex:
    text = text.astype("str").str.strip()
    missing = text.isna() | (text == "") | text.str.lower().isin(["nan", "nat", "none", "null"])
    if missing.any():
        pos = int(np.flatnonzero(missing.to_numpy())[0])
        raise _fail(source, column, rows, pos, "missing date (rule: every row needs a timestamp)")
    if text.str.fullmatch(r"[+-]?\d+(\.\d+)?").all():
        return _from_numbers(text.astype(float).to_numpy(), source, column, rows)
    # pandas reads the words "now" and "today" as the current time: in a file they are not dates
    relative = text.str.lower().isin(["now", "today"]).to_numpy()
    if relative.any():
        pos = int(np.flatnonzero(relative)[0])
        raise _fail(
            source,
            column,
            rows,
            pos,
            f"unparseable date {text.iloc[pos]!r} (rule: dates are absolute, not relative words)",
        )

    formats: Sequence[str] = (date_format,) if date_format else ("ISO8601", *TEXT_FORMATS)
    sample = text.iloc[:_SAMPLE]
    for fmt in formats:
        if _to_datetime(sample, fmt).isna().any():  # cheap rejection on the first rows
            continue
        parsed = _to_datetime(text, fmt)
        if parsed.notna().all():
            return pd.DatetimeIndex(parsed)
    # no single layout reads every row: take the one that reads the most rows and name the
    # first row it cannot read (a mixed column is refused, not guessed)
    best_ok, best_fmt, best = 0, "", None
    for fmt in formats:
        parsed = _to_datetime(text, fmt)
        n_ok = int(parsed.notna().sum())
        if n_ok > best_ok:
            best_ok, best_fmt, best = n_ok, fmt, parsed
    if best is None:
        hint = (
            f" with format {date_format!r}"
            if date_format
            else "; pass date_format= for unusual layouts"
        )
        raise _fail(source, column, rows, 0, f"unparseable date {text.iloc[0]!r}{hint}")
    pos = int(np.flatnonzero(best.isna().to_numpy())[0])
    raise _fail(
        source,
        column,
        rows,
        pos,
        f"unparseable date {text.iloc[pos]!r} ({best_ok} of {len(text)} rows read as "
        f"{best_fmt!r}; rule: one date format per column)",
    )


def parse_times(
    values: pd.Series | pd.Index | np.ndarray,
    *,
    source: str,
    column: str = "time",
    rows: np.ndarray | None = None,
    tz: str | None = None,
    date_format: str | None = None,
) -> pd.DatetimeIndex:
    """Parse ``values`` into a UTC ``DatetimeIndex`` (ns) named ``time``.

    Parameters
    ----------
    values : Series, Index or 1-D array, length n
        Dates as datetime64, numbers (epoch or YYYYMMDD) or text.
    source : str
        File or source name used in error messages.
    column : str
        Column name used in error messages.
    rows : int array, length n, optional
        1-based row numbers used in error messages (default ``1..n``).
    tz : str, optional
        IANA zone of naive times (default UTC).
    date_format : str, optional
        An explicit ``strftime`` layout; skips format detection.

    Raises
    ------
    DataValidationError
        Naming the row, the column and the value that could not be read.
    """
    tz = check_timezone(tz)
    series = (
        pd.Series(values) if not isinstance(values, pd.Series) else values.reset_index(drop=True)
    )
    n = len(series)
    rows = np.arange(1, n + 1) if rows is None else np.asarray(rows)
    if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(series):
        idx = pd.DatetimeIndex(series)
        bad = np.flatnonzero(idx.isna())
        if len(bad):
            raise _fail(
                source,
                column,
                rows,
                int(bad[0]),
                "missing date (rule: every row needs a timestamp)",
            )
    elif pd.api.types.is_bool_dtype(series):
        raise _fail(source, column, rows, 0, f"dates expected, got booleans ({series.iloc[0]!r})")
    elif pd.api.types.is_numeric_dtype(series):
        idx = _from_numbers(
            series.to_numpy(dtype=np.float64, na_value=np.nan), source, column, rows
        )
    else:
        idx = _from_text(series, source, column, rows, date_format)
    if idx.tz is None:
        # text with a UTC offset parses aware; naive values are wall-clock times in tz
        idx = _localize(idx, tz, source, column, rows)
    else:
        idx = idx.tz_convert("UTC")
    try:
        idx = idx.as_unit("ns")
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime) as exc:
        raise DataValidationError(
            f"{source}: column {column!r}: dates outside 1677-2262 cannot be represented ({exc})"
        ) from None
    return pd.DatetimeIndex(idx, name="time")
