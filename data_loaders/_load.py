"""The one entry point: :func:`load_bars`, and :func:`validate_source` for summaries."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import pandas as pd

from data_loaders.sources import resolve_source
from data_loaders.validation import ValidationReport, summarize_bars

__all__ = ["load_bars", "validate_source"]


def load_bars(
    source: str | os.PathLike,
    *,
    tz: str | None = None,
    adjust: bool = True,
    repair: Iterable[str] | str = (),
    **options: Any,
) -> pd.DataFrame | dict[str, pd.DataFrame]:
    """Load validated bars from any registered source.

    Parameters
    ----------
    source : str or path-like
        ``sample:NAME`` (bundled data, see ``list_samples()``), a ``.csv``/``.csv.gz`` or
        ``.parquet`` file, a folder of one file per symbol (-> dict), ``yfinance:SYMBOL`` or
        ``ccxt:EXCHANGE:BASE/QUOTE`` (extra ``online``). Scheme sources accept options after
        ``?``: ``yfinance:AAPL?interval=1h&start=2024-01-01``.
    tz : str, optional
        IANA zone of naive timestamps in files (default UTC).
    adjust : bool
        Scale OHLC by an adjusted close when the source has one (default); ``False`` for raw.
    repair : iterable of str
        Opt-in repairs (``sort``, ``dedupe``, ``dropna``, ``fill_gaps``, ``fill_volume``),
        each recorded in ``attrs["repairs"]``.
    **options
        Source-specific options (``symbol``, ``date_format``, ``sep`` for CSV; ``start``,
        ``end``, ``interval`` for yfinance; ``timeframe``, ``start``, ``end`` for ccxt).

    Returns
    -------
    DataFrame or dict[str, DataFrame]
        Contract bars (see ``data_loaders.validation``); a dict for folders and multi-symbol
        samples.

    Raises
    ------
    DataValidationError
        Bad or missing data (``MissingFileError`` is also a ``FileNotFoundError``).
    ParameterError
        Unknown option, repair or time zone.
    """
    src, target, query = resolve_source(source)
    return src.load(target, tz=tz, adjust=adjust, repair=repair, **{**query, **options})


def validate_source(
    source: str | os.PathLike,
    *,
    tz: str | None = None,
    adjust: bool = True,
    repair: Iterable[str] | str = (),
    split_tolerance: float = 0.03,
    **options: Any,
) -> ValidationReport | dict[str, ValidationReport]:
    """Load ``source`` like :func:`load_bars` and return its validation summary (dict for sets)."""
    bars = load_bars(source, tz=tz, adjust=adjust, repair=repair, **options)
    if isinstance(bars, dict):
        return {
            sym: summarize_bars(df, split_tolerance=split_tolerance) for sym, df in bars.items()
        }
    return summarize_bars(bars, split_tolerance=split_tolerance)
