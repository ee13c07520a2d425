"""The opt-in repairs of :func:`data_loaders.validation.validate_bars`.

Nothing is changed silently: a repair happens only when named (:data:`REPAIRS`), and each one
made is recorded as one line in ``attrs["repairs"]``. :func:`parse_repairs` checks the names;
:func:`fill_gaps` is the ``fill_gaps`` repair (the others are steps of the validation itself).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from data_loaders._calendar import find_gaps, infer_calendar, missing_slots
from data_loaders._columns import PRICE_COLUMNS
from data_loaders.errors import ParameterError, did_you_mean

__all__ = ["REPAIRS", "parse_repairs", "fill_gaps"]

#: repairs a caller may ask for; none happens unless named
REPAIRS: dict[str, str] = {
    "sort": "sort rows by time",
    "dedupe": "drop rows whose timestamp repeats, keeping the last of each",
    "dropna": "drop rows with a missing or infinite price or volume",
    "fill_gaps": "insert bars for expected slots with no bar (OHLC = previous close, volume 0)",
    "fill_volume": "accept a file without a volume column (volume = 0)",
}


def parse_repairs(repair: Iterable[str] | str | None) -> tuple[str, ...]:
    """``"sort,dedupe"`` or ``("sort", "dedupe")`` -> validated tuple of repair names."""
    if repair is None:
        return ()
    items = repair.split(",") if isinstance(repair, str) else list(repair)
    out = []
    for item in items:
        name = str(item).strip().lower().replace("-", "_")
        if not name:
            continue
        if name not in REPAIRS:
            raise ParameterError(f"`repair`: unknown repair {item!r}{did_you_mean(name, REPAIRS)}")
        out.append(name)
    return tuple(dict.fromkeys(out))


def fill_gaps(frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Bars inserted at the expected slots of the inferred calendar that have none (OHLC = the
    previous close, volume 0), and the repair's one-line note."""
    calendar = infer_calendar(frame.index)
    if calendar is None:
        return (
            frame,
            "fill_gaps: no calendar for this frequency (needs >= 2 bars and a step dividing a week); nothing inserted",
        )
    missing = missing_slots(frame.index, calendar)
    if not len(missing):
        return frame, "fill_gaps: no gaps; nothing inserted"
    n_gaps = find_gaps(frame.index, calendar).n_gaps
    full = frame.reindex(frame.index.append(missing).sort_values())
    prev_close = full["close"].ffill()
    filled = full["open"].isna()
    for col in PRICE_COLUMNS:
        full[col] = full[col].fillna(prev_close)
    full["volume"] = full["volume"].fillna(0.0)
    if "adj_close" in full:
        full["adj_close"] = full["adj_close"].ffill()
    note = (
        f"fill_gaps: inserted {int(filled.sum())} bars in {n_gaps} gaps "
        f"(open = high = low = close = previous close, volume 0)"
    )
    return full, note
