"""Parquet files: one symbol per file, time in a ``DatetimeIndex`` or in a time column."""

from __future__ import annotations

import os
from collections.abc import Iterable

import pandas as pd

from data_loaders._files import check_file
from data_loaders.errors import DataValidationError
from data_loaders.sources._base import FileSource
from data_loaders.validation import validate_bars

__all__ = ["load_parquet", "ParquetSource"]

_MAGIC = b"PAR1"


def load_parquet(
    path: str | os.PathLike,
    *,
    tz: str | None = None,
    adjust: bool = True,
    repair: Iterable[str] | str = (),
    symbol: str | None = None,
    source: str | None = None,
) -> pd.DataFrame:
    """Load one Parquet file of bars and validate it to the bars contract.

    The time comes from a ``DatetimeIndex`` (as written by ``bars.to_parquet``) or from a
    column with a time alias (``time``, ``date``, ``timestamp`` ...; datetime, epoch numbers or
    text). Row numbers in messages are 1-based rows of the file. Other parameters as
    :func:`data_loaders.load_csv`.
    """
    label = source or str(path)
    p = check_file(path, label=label)
    size = p.stat().st_size
    with open(p, "rb") as f:
        magic = f.read(4)
        f.seek(max(size - 4, 0))
        tail = f.read(4)
    if size < 12 or magic != _MAGIC or tail != _MAGIC:  # header + footer length + footer magic
        raise DataValidationError(
            f"{label}: unreadable: not a Parquet file (no PAR1 marker at its start and end; "
            f"{size} bytes)"
        )
    try:
        raw = pd.read_parquet(p)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for corrupt files
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataValidationError(f"{label}: unreadable Parquet file ({detail})") from None
    if raw.empty:
        raise DataValidationError(f"{label}: no data rows (rule: bars need at least one row)")
    attrs_symbol = raw.attrs.get("symbol") if isinstance(raw.attrs, dict) else None
    raw.attrs = {}
    return validate_bars(
        raw,
        source=label,
        tz=tz,
        adjust=adjust,
        repair=repair,
        symbol=symbol if symbol is not None else attrs_symbol,
    )


class ParquetSource(FileSource):
    """Parquet files: ``load_bars("prices.parquet")``."""

    name = "parquet"
    suffixes = (".parquet", ".pq")
    options = ("symbol", "source")
    description = "Parquet file (DatetimeIndex or a time column)"
    reader = staticmethod(load_parquet)
