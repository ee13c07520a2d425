"""Validation to the bars contract, opt-in repairs, and the validation summary.

The bars contract (stated here; :mod:`data_loaders.bars` holds the helpers): a DataFrame with a
tz-aware UTC ``DatetimeIndex`` named ``time`` (nanosecond unit), strictly increasing without
duplicates, float64 columns ``open high low close volume``, prices finite and > 0, volume
finite and >= 0 (zero is legal), ``high >= max(open, close)`` and ``low <= min(open, close)``.
Metadata in ``df.attrs``:
``source``, ``symbol``, ``adjusted``, ``frequency`` and ``repairs`` (a tuple of one line per
repair made).

:func:`validate_bars` turns a raw frame (any header spelling, a time column or index, text or
numbers) into contract bars or raises :class:`DataValidationError` naming the source, the row
(1-based data row of the file, or position in the frame) and its timestamp, the column, the
value and the rule. Nothing is changed silently: repairs happen only when asked for
(:data:`REPAIRS`) and each one is recorded in ``attrs["repairs"]``.

:func:`check_bars` (:mod:`data_loaders.bars`) is the cheap structural check of bars already
valid; the repairs live in :mod:`data_loaders.repairs`, the summary (:func:`summarize_bars`) in
:mod:`data_loaders.summary`; all are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from data_loaders._calendar import (
    frequency_string,
    infer_frequency,
)
from data_loaders._columns import ALIASES, BAR_COLUMNS, PRICE_COLUMNS, map_columns, normalize_header
from data_loaders._dates import parse_times
from data_loaders.bars import check_bars
from data_loaders.corporate_actions import apply_adjustment
from data_loaders.errors import DataValidationError
from data_loaders.repairs import REPAIRS, fill_gaps, parse_repairs
from data_loaders.summary import ValidationReport, summarize_bars

__all__ = [
    "REPAIRS",
    "validate_bars",
    "check_bars",
    "parse_repairs",
    "ValidationReport",
    "summarize_bars",
]


class _Context:
    """What an error message needs: source, 1-based rows, timestamps and original column names."""

    def __init__(self, source: str, rows: np.ndarray, names: dict[str, str]):
        self.source = source
        self.rows = rows
        self.names = names
        self.index: pd.DatetimeIndex | None = None

    def where(self, pos: int) -> str:
        ts = f" ({self.index[pos]})" if self.index is not None else ""
        return f"row {int(self.rows[pos])}{ts}"

    def error(
        self, positions: np.ndarray, field_: str, detail: str, rule: str, hint: str = ""
    ) -> DataValidationError:
        pos = int(positions[0])
        n = len(positions)
        more = f"; {n} rows break this rule" if n > 1 else ""
        column = self.names.get(field_, field_)
        return DataValidationError(
            f"{self.source}: {self.where(pos)}, column {column!r}: {detail} (rule: {rule}){more}{hint}"
        )

    def take(self, keep: np.ndarray) -> None:
        self.rows = self.rows[keep]
        if self.index is not None:
            self.index = self.index[keep]


def _fmt(x: float) -> str:
    return f"{x:.10g}"


def _combine_date_and_time(df: pd.DataFrame) -> pd.DataFrame:
    """Files such as MetaTrader exports split the timestamp into ``<DATE>`` and ``<TIME>``."""
    norm = {normalize_header(c): c for c in df.columns}
    if "date" not in norm or "time" not in norm:
        return df
    tcol = df[norm["time"]].astype("str").str.strip()
    if not tcol.str.fullmatch(r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?").all():
        return df
    out = df.drop(columns=[norm["date"], norm["time"]])
    out.insert(0, "datetime", df[norm["date"]].astype("str").str.strip() + " " + tcol)
    return out


def _numeric(series: pd.Series, field_: str, ctx: _Context) -> np.ndarray:
    """Column -> float64 array; text that is not a number raises naming the row and value."""
    if pd.api.types.is_bool_dtype(series):
        raise ctx.error(
            np.array([0]), field_, f"{series.iloc[0]!r} is not a number", "numeric column"
        )
    if pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    text = series.astype("str").str.strip()
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    blank = text.isna() | text.str.lower().isin(["", "nan", "null", "none", "na", "n/a", "-"])
    bad = np.flatnonzero(np.isnan(values) & ~blank.to_numpy())
    if len(bad):
        raise ctx.error(
            bad,
            field_,
            f"text {text.iloc[bad[0]]!r} in a numeric column",
            "prices and volume must be numbers",
        )
    return values


def _time_column(df: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """Return (frame, time_from_index)."""
    if isinstance(df.index, pd.DatetimeIndex):
        return df, True
    name = normalize_header(df.index.name) if df.index.name is not None else ""
    if name in ALIASES["time"]:
        return df.reset_index(), False
    return _combine_date_and_time(df), False


def validate_bars(
    df: pd.DataFrame,
    source: str = "<DataFrame>",
    *,
    tz: str | None = None,
    adjust: bool = True,
    repair: Iterable[str] | str = (),
    symbol: str | None = None,
    rows: np.ndarray | None = None,
    date_format: str | None = None,
) -> pd.DataFrame:
    """Check (and on request repair) raw bars; return contract bars or raise.

    Parameters
    ----------
    df : DataFrame, n rows
        Raw bars: a ``DatetimeIndex`` or a time column (any alias, see ``_columns.ALIASES``),
        open/high/low/close/volume in any header spelling, optionally an adjusted close.
    source : str
        File or source name for messages and ``attrs["source"]``.
    tz : str, optional
        IANA zone of naive timestamps (default UTC); aware timestamps are converted to UTC.
    adjust : bool
        If an adjusted close is present, scale open/high/low/close by ``adj_close / close``
        (default) or keep raw prices (False). Recorded in ``attrs["adjusted"]``.
    repair : iterable of str or comma-separated str
        Repairs to make (see :data:`REPAIRS`); each one made is recorded in ``attrs["repairs"]``.
    symbol : str, optional
        Stored in ``attrs["symbol"]``.
    rows : int array, shape (n,), optional
        1-based row numbers of the rows in their file, for messages (default ``1..n``).
    date_format : str, optional
        Explicit ``strftime`` layout of text timestamps.

    Returns
    -------
    DataFrame
        Contract bars (see module docstring).

    Raises
    ------
    DataValidationError
        On the first rule broken, naming source, row, timestamp, column, value and rule.
    ParameterError
        On an unknown repair name or time zone.
    """
    if not isinstance(df, pd.DataFrame):
        raise DataValidationError(
            f"{source}: expected a pandas DataFrame of bars, got {type(df).__name__}"
        )
    repairs = parse_repairs(repair)
    done: list[str] = []
    if len(df) == 0:
        raise DataValidationError(f"{source}: no data rows (rule: bars need at least one row)")
    rows = np.arange(1, len(df) + 1) if rows is None else np.asarray(rows, dtype=np.int64)

    ctx, data = _read_columns(df, source, rows, repairs, tz, date_format, done)
    data = _order_rows(data, ctx, repairs, done)
    data = _check_values(data, ctx, repairs, done)
    return _contract_bars(data, ctx, repairs, done, adjust, source, symbol)


def _read_columns(
    df: pd.DataFrame,
    source: str,
    rows: np.ndarray,
    repairs: tuple[str, ...],
    tz: str | None,
    date_format: str | None,
    done: list[str],
) -> tuple[_Context, dict[str, np.ndarray]]:
    """The message context (rows, times, column names) and each bar field as float64."""
    df, time_from_index = _time_column(df)
    mapping = map_columns(
        df.columns,
        source=source,
        need_time=not time_from_index,
        need_volume="fill_volume" not in repairs,
    )
    names = {k: str(v) for k, v in mapping.items()}
    if time_from_index:
        names["time"] = str(df.index.name or "time")
    ctx = _Context(source, rows, names)

    raw_times = df.index if time_from_index else df[mapping["time"]]
    index = parse_times(
        raw_times, source=source, column=names["time"], rows=rows, tz=tz, date_format=date_format
    )
    ctx.index = index
    fields = [f for f in (*BAR_COLUMNS, "adj_close") if f in mapping]
    data = {f: _numeric(df[mapping[f]], f, ctx) for f in fields}
    if "volume" not in data:
        data["volume"] = np.zeros(len(index))
        done.append("fill_volume: the source has no volume column; volume set to 0 on every bar")
    return ctx, data


def _order_rows(
    data: dict[str, np.ndarray], ctx: _Context, repairs: tuple[str, ...], done: list[str]
) -> dict[str, np.ndarray]:
    """Rows in strictly increasing time (after the ``sort`` / ``dedupe`` repairs), or raise."""
    ns = ctx.index.asi8
    if "sort" in repairs and np.any(np.diff(ns) < 0):
        order = np.argsort(ns, kind="stable")
        n_moved = int(np.sum(order != np.arange(len(order))))
        data = {k: v[order] for k, v in data.items()}
        ctx.take(order)
        ns = ctx.index.asi8
        done.append(f"sort: {n_moved} rows were out of time order; rows sorted by time")
    if "dedupe" in repairs:
        dup = ctx.index.duplicated(keep="last")
        if dup.any():
            first = int(np.flatnonzero(dup)[0])
            done.append(
                f"dedupe: dropped {int(dup.sum())} rows with a repeated timestamp (first "
                f"{ctx.index[first]}, row {int(ctx.rows[first])}); kept the last of each"
            )
            keep = ~dup
            data = {k: v[keep] for k, v in data.items()}
            ctx.take(keep)
            ns = ctx.index.asi8
    step = np.diff(ns)
    if np.any(step == 0):
        bad = np.flatnonzero(step == 0) + 1
        first_seen = int(np.flatnonzero(ns == ns[bad[0]])[0])
        raise ctx.error(
            bad,
            "time",
            f"timestamp repeats row {int(ctx.rows[first_seen])}",
            "timestamps must be unique",
            "; `--repair dedupe` keeps the last of each",
        )
    if np.any(step < 0):
        bad = np.flatnonzero(step < 0) + 1
        raise ctx.error(
            bad,
            "time",
            f"timestamp is earlier than the previous row's {ctx.index[bad[0] - 1]}",
            "timestamps must be increasing",
            "; `--repair sort` sorts by time",
        )
    return data


def _check_values(
    data: dict[str, np.ndarray], ctx: _Context, repairs: tuple[str, ...], done: list[str]
) -> dict[str, np.ndarray]:
    """Finite prices > 0, volume >= 0, high/low around open and close (after ``dropna``)."""
    if "dropna" in repairs:
        finite = np.logical_and.reduce([np.isfinite(v) for v in data.values()])
        if not finite.all():
            first = int(np.flatnonzero(~finite)[0])
            done.append(
                f"dropna: dropped {int((~finite).sum())} rows with a missing or infinite value "
                f"(first {ctx.where(first)})"
            )
            data = {k: v[finite] for k, v in data.items()}
            ctx.take(finite)
            if not finite.any():
                raise DataValidationError(f"{ctx.source}: no rows left after dropna")
    price_fields = [f for f in (*PRICE_COLUMNS, "adj_close") if f in data]
    for f in (*price_fields, "volume"):
        v = data[f]
        bad = np.flatnonzero(~np.isfinite(v))
        if len(bad):
            what = "missing value" if np.isnan(v[bad[0]]) else f"infinite value {v[bad[0]]}"
            raise ctx.error(
                bad,
                f,
                what,
                "prices and volume must be finite",
                "; `--repair dropna` drops such rows",
            )
    for f in price_fields:
        bad = np.flatnonzero(data[f] <= 0)
        if len(bad):
            raise ctx.error(bad, f, f"price {_fmt(data[f][bad[0]])}", "prices must be > 0")
    bad = np.flatnonzero(data["volume"] < 0)
    if len(bad):
        raise ctx.error(
            bad, "volume", f"volume {_fmt(data['volume'][bad[0]])}", "volume must be >= 0"
        )
    o, h, lo, c = (data[f] for f in PRICE_COLUMNS)
    for f, broken, value, side, rule in (
        ("high", h < np.maximum(o, c), h, "below max", "high >= max(open, close)"),
        ("low", lo > np.minimum(o, c), lo, "above min", "low <= min(open, close)"),
    ):
        bad = np.flatnonzero(broken)
        if len(bad):
            i = bad[0]
            detail = f"{f} {_fmt(value[i])} is {side}(open {_fmt(o[i])}, close {_fmt(c[i])})"
            raise ctx.error(bad, f, detail, rule)
    return data


def _contract_bars(
    data: dict[str, np.ndarray],
    ctx: _Context,
    repairs: tuple[str, ...],
    done: list[str],
    adjust: bool,
    source: str,
    symbol: str | None,
) -> pd.DataFrame:
    """The contract frame: ``fill_gaps``, the split/dividend adjustment, columns and attrs."""
    frame = pd.DataFrame(data, index=ctx.index)
    if "fill_gaps" in repairs:
        frame, note = fill_gaps(frame)
        done.append(note)

    adjusted: bool | None = None
    if "adj_close" in frame:
        if adjust:
            frame = apply_adjustment(frame, frame["adj_close"].to_numpy())
        adjusted = bool(adjust)
    bars = frame[list(BAR_COLUMNS)].astype(np.float64)
    bars.index.name = "time"
    bars.columns.name = None
    step_td = infer_frequency(bars.index)
    bars.attrs = {
        "source": str(source),
        "symbol": symbol,
        "adjusted": adjusted,
        "frequency": frequency_string(step_td),
        "repairs": tuple(done),
    }
    return bars
