"""Input checks shared by the built-in strategies (one symbol's bars, or a pair of symbols)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from data_loaders.errors import DataValidationError, ParameterError
from data_loaders.universe import is_close_only

__all__ = ["single_bars", "pair_bars"]


def single_bars(bars: Any, owner: str, columns: Sequence[str] = ("close",)) -> pd.DataFrame:
    """Return ``bars`` if it is one symbol's DataFrame holding ``columns``; raise otherwise.

    Close-only bars (``attrs["close_only"]``, see :mod:`data_loaders.universe`) are refused in
    one line when ``columns`` names anything but ``close``.
    """
    if isinstance(bars, Mapping):
        raise ParameterError(
            f"{owner} trades one symbol; got bars for {len(bars)} symbols {list(bars)[:5]}; "
            "pass one symbol's DataFrame"
        )
    if not isinstance(bars, pd.DataFrame):
        raise DataValidationError(f"{owner}: bars must be a DataFrame, got {type(bars).__name__}")
    needs = [c for c in columns if c != "close"]
    if needs and is_close_only(bars):
        where = f"{bars.attrs.get('symbol') or 'the bars'} ({bars.attrs.get('source', '?')})"
        raise DataValidationError(
            f"strategy {owner!r} reads {needs[0]!r} but {where} is close-only (rule: close-only "
            "data has no opens, highs, lows or volumes); pick a strategy that reads closes only"
        )
    missing = [c for c in columns if c not in bars.columns]
    if missing:
        raise DataValidationError(
            f"{owner}: bars lack column {missing[0]!r}; got columns {list(bars.columns)}"
        )
    return bars


def pair_bars(bars: Any, owner: str) -> tuple[str, str, pd.DataFrame, pd.DataFrame]:
    """Return ``(symbol_y, symbol_x, bars_y, bars_x)`` from a dict of exactly two symbols.

    Both frames must share one index (same timestamps), so that positions line up.
    """
    if not isinstance(bars, Mapping) or len(bars) != 2:
        got = (
            f"{len(bars)} symbols {list(bars)}"
            if isinstance(bars, Mapping)
            else type(bars).__name__
        )
        raise ParameterError(f"{owner} needs a dict of exactly two symbols' bars, got {got}")
    (sy, by), (sx, bx) = bars.items()
    for sym, frame in ((sy, by), (sx, bx)):
        single_bars(frame, f"{owner} [{sym}]")
    if not by.index.equals(bx.index):
        diff = by.index.symmetric_difference(bx.index)
        first = diff[0] if len(diff) else "lengths differ"
        raise DataValidationError(
            f"{owner}: {sy!r} and {sx!r} must have the same timestamps; first mismatch at {first} "
            "(align them, e.g. keep the common index, before trading the pair)"
        )
    return str(sy), str(sx), by, bx
