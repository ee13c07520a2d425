"""CSV files (optionally gzip-compressed): one symbol per file.

Reads exports from Yahoo, Stooq, MetaTrader, exchange dumps and hand-made files: header aliases
(``Date``, ``Datetime``, ``timestamp``, ``Open time`` ..., see ``data_loaders/_columns.py``),
separate ``<DATE>`` and ``<TIME>`` columns, ``,`` ``;`` tab or ``|`` separators (``;`` files may
use a decimal comma), UTF-8 (with or without BOM) or Windows-1252 text, and header-less
exchange dumps whose first six columns are time, open, high, low, close, volume (Binance klines).
Row numbers in messages count data rows: row 1 is the first line after the header.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from data_loaders._files import check_file, sniff_text
from data_loaders.errors import DataValidationError
from data_loaders.sources._base import FileSource
from data_loaders.validation import validate_bars

__all__ = ["load_csv", "CsvSource"]

_SEPARATORS = (",", ";", "\t", "|")
_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?")
_HEADERLESS_NAMES = ("time", "open", "high", "low", "close", "volume")


def _sniff_separator(line: str) -> str:
    counts = [line.count(s) for s in _SEPARATORS]
    return _SEPARATORS[int(np.argmax(counts))] if max(counts) else ","


def _fields(line: str, sep: str) -> list[str]:
    return [f.strip().strip('"').strip("'") for f in line.split(sep)]


def _is_number(text: str) -> bool:
    return bool(_NUMBER.fullmatch(text))


def load_csv(
    path: str | os.PathLike,
    *,
    tz: str | None = None,
    adjust: bool = True,
    repair: Iterable[str] | str = (),
    symbol: str | None = None,
    date_format: str | None = None,
    sep: str | None = None,
    source: str | None = None,
) -> pd.DataFrame:
    """Load one CSV file of bars and validate it to the bars contract.

    Parameters
    ----------
    path : path-like
        ``.csv`` or ``.csv.gz`` file.
    tz : str, optional
        IANA zone of naive timestamps (default: naive times are UTC).
    adjust : bool
        Scale OHLC by an adjusted close column when present (default True).
    repair : iterable of str
        Opt-in repairs (``sort``, ``dedupe``, ``dropna``, ``fill_gaps``, ``fill_volume``).
    symbol : str, optional
        Stored in ``attrs["symbol"]``.
    date_format : str, optional
        Explicit ``strftime`` layout of the time column.
    sep : str, optional
        Field separator (default: sniffed from the first line).
    source : str, optional
        Name used in messages and ``attrs["source"]`` (default: the path as given).

    Returns
    -------
    DataFrame
        Contract bars.
    """
    label = source or str(path)
    p = check_file(path, label=label)
    head, encoding, compression = sniff_text(p, label=label)
    lines = [line for line in head.splitlines() if line.strip()]
    if not lines:
        raise DataValidationError(f"{label}: empty file (only blank lines)")
    sep = sep or _sniff_separator(lines[0])
    first = _fields(lines[0], sep)
    headerless = len(first) > 1 and all(_is_number(f) for f in first[1:])
    sample = [f for line in lines[1:50] for f in _fields(line, sep)[1:]]
    decimal = "," if sep == ";" and any(re.fullmatch(r"[+-]?\d+,\d+", f) for f in sample) else "."
    if headerless and len(first) < 5:
        raise DataValidationError(
            f"{label}: no header row and only {len(first)} columns (rule: a header-less file needs "
            "time, open, high, low, close[, volume] as its first columns)"
        )
    names = None
    if headerless:
        names = [*_HEADERLESS_NAMES[: len(first)], *(f"extra_{i}" for i in range(len(first) - 6))]
    try:
        raw = pd.read_csv(
            p,
            sep=sep,
            header=None if headerless else 0,
            names=names,
            encoding=encoding,
            compression=compression,
            decimal=decimal,
            skip_blank_lines=True,
            skipinitialspace=True,
            low_memory=False,
        )
    except pd.errors.EmptyDataError:
        raise DataValidationError(f"{label}: empty file (no header and no rows)") from None
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise DataValidationError(f"{label}: malformed CSV ({detail})") from None
    except UnicodeDecodeError as exc:
        raise DataValidationError(
            f"{label}: unreadable: not {encoding} text ({exc.reason})"
        ) from None
    if raw.empty:
        raise DataValidationError(
            f"{label}: header only, no data rows (rule: bars need at least one row)"
        )
    return validate_bars(
        raw,
        source=label,
        tz=tz,
        adjust=adjust,
        repair=repair,
        symbol=symbol,
        date_format=date_format,
    )


class CsvSource(FileSource):
    """CSV files: ``load_bars("prices.csv")``."""

    name = "csv"
    suffixes = (".csv", ".csv.gz", ".txt", ".tsv")
    options = ("symbol", "date_format", "sep", "source")
    description = "CSV file (header aliases, ISO/US/day-first dates, epoch s/ms/us), gzip ok"
    reader = staticmethod(load_csv)
