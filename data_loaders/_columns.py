"""Column names of the bars contract and the header aliases real files use for them.

A header is normalised by lower-casing it and dropping spaces, underscores, dashes, dots, angle
brackets and quotes (``"Adj Close"``, ``"adj_close"``, ``"<CLOSE>"`` -> ``adjclose``/``close``),
then looked up in :data:`ALIASES`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from data_loaders.errors import DataValidationError

__all__ = ["PRICE_COLUMNS", "BAR_COLUMNS", "ALIASES", "normalize_header", "map_columns"]

PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
BAR_COLUMNS: tuple[str, ...] = (*PRICE_COLUMNS, "volume")

#: canonical field -> normalised header spellings, most specific first
ALIASES: dict[str, tuple[str, ...]] = {
    "time": (
        "time",
        "date",
        "datetime",
        "timestamp",
        "opentime",
        "ts",
        "dt",
        "gmttime",
        "localtime",
        "datetimeutc",
        "timeutc",
        "dateutc",
        "dtyyyymmdd",
        "day",
        "period",
        "starttime",
    ),
    "open": ("open", "o", "openprice", "openingprice", "first"),
    "high": ("high", "h", "highprice", "max", "highest"),
    "low": ("low", "l", "lowprice", "min", "lowest"),
    "close": ("close", "c", "closeprice", "closingprice", "last", "price"),
    "adj_close": (
        "adjclose",
        "adjustedclose",
        "adjclosingprice",
        "adjustedcloseprice",
        "adjcloseprice",
    ),
    "volume": ("volume", "vol", "v", "tickvol", "tickvolume", "basevolume", "qty", "quantity"),
}

_STRIP = re.compile(r"[\s_\-.<>\"'`()]+")


def normalize_header(name: object) -> str:
    """``"Adj Close"`` -> ``"adjclose"``; ``"Open time"`` -> ``"opentime"``."""
    return _STRIP.sub("", str(name)).lower()


def map_columns(
    columns: Iterable[object], *, source: str, need_time: bool, need_volume: bool = True
) -> dict[str, object]:
    """Map canonical fields (``time``, ``open`` ... ``adj_close``) to the original column labels.

    Each field takes the first alias (in :data:`ALIASES` order) present among ``columns``.
    Missing ``open/high/low/close`` and ``volume`` (unless ``need_volume`` is False) and ``time``
    (when ``need_time``) raise
    :class:`DataValidationError` listing what was found; two columns that both spell the same
    alias (``Close`` and ``close``) are refused as ambiguous.
    """
    columns = list(columns)
    by_norm: dict[str, list[object]] = {}
    for col in columns:
        by_norm.setdefault(normalize_header(col), []).append(col)
    mapping: dict[str, object] = {}
    used: set[str] = set()
    for field, aliases in ALIASES.items():
        for alias in aliases:
            if alias in by_norm and alias not in used:
                hits = by_norm[alias]
                if len(hits) > 1:
                    raise DataValidationError(
                        f"{source}: columns {', '.join(repr(str(h)) for h in hits)} all mean "
                        f"{field!r} (rule: one column per field); rename or drop all but one"
                    )
                mapping[field] = hits[0]
                used.add(alias)
                break
    required = (("time",) if need_time else ()) + (BAR_COLUMNS if need_volume else PRICE_COLUMNS)
    missing = [f for f in required if f not in mapping]
    if missing:
        found = ", ".join(repr(str(c)) for c in columns) or "none"
        raise DataValidationError(
            f"{source}: missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(m) for m in missing)} (rule: bars need time, open, high, low, close, "
            f"volume; found {found})"
        )
    return mapping
