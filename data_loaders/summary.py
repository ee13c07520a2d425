"""The validation summary of contract bars: what ``research data validate`` prints.

:func:`summarize_bars` describes valid bars (rows, range, inferred frequency and calendar, gaps
against that calendar, suspected splits, zero-volume bars and the repairs made) as a
:class:`ValidationReport`; ``str(report)`` is the text, :meth:`ValidationReport.to_dict` the
JSON form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from data_loaders._calendar import Gap, find_gaps, frequency_string, infer_calendar, infer_frequency
from data_loaders.bars import check_bars
from data_loaders.corporate_actions import SplitFlag, detect_splits

__all__ = ["ValidationReport", "summarize_bars"]


@dataclass(frozen=True)
class ValidationReport:
    """Summary of valid bars; ``str(report)`` is the text ``research data validate`` prints."""

    source: str
    symbol: str | None
    rows: int
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    frequency: str | None
    calendar: str | None
    expected_bars: int | None
    missing_bars: int | None
    n_gaps: int | None
    largest_gaps: tuple[Gap, ...] = ()
    suspected_splits: tuple[SplitFlag, ...] = ()
    adjusted: bool | None = None
    zero_volume_bars: int = 0
    repairs: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly dict."""
        return {
            "source": self.source,
            "symbol": self.symbol,
            "rows": self.rows,
            "start": None if self.start is None else self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "frequency": self.frequency,
            "calendar": self.calendar,
            "expected_bars": self.expected_bars,
            "missing_bars": self.missing_bars,
            "n_gaps": self.n_gaps,
            "largest_gaps": [
                {"start": g.start.isoformat(), "end": g.end.isoformat(), "missing": g.missing}
                for g in self.largest_gaps
            ],
            "suspected_splits": [
                {"time": s.time.isoformat(), "ratio": s.ratio, "split": s.split}
                for s in self.suspected_splits
            ],
            "adjusted": self.adjusted,
            "zero_volume_bars": self.zero_volume_bars,
            "repairs": list(self.repairs),
        }

    def to_text(self) -> str:
        """Multi-line human summary."""
        name = f"{self.source}" + (f" [{self.symbol}]" if self.symbol else "")
        lines = [f"{name}: OK"]
        lines.append(f"  rows:       {self.rows:,}")
        if self.start is not None:
            lines.append(f"  range:      {self.start} -> {self.end}")
        lines.append(f"  frequency:  {self.frequency or 'unknown (fewer than 2 bars)'}")
        if self.calendar is None:
            lines.append("  gaps:       not assessed (no weekly calendar for this frequency)")
        else:
            lines.append(f"  calendar:   {self.calendar}")
            lines.append(
                f"  gaps:       {self.n_gaps:,} gaps, {self.missing_bars:,} missing of "
                f"{self.expected_bars:,} expected bars"
            )
            for g in self.largest_gaps:
                span = f"{g.start}" if g.start == g.end else f"{g.start} -> {g.end}"
                lines.append(f"              {span} ({g.missing} missing)")
        adj = {
            True: "yes (OHLC scaled by adj close / close)",
            False: "no (raw prices kept)",
            None: "no adjusted close in source",
        }
        lines.append(f"  adjusted:   {adj[self.adjusted]}")
        if self.suspected_splits:
            lines.append(f"  suspected splits: {len(self.suspected_splits)}")
            lines.extend(f"              {s}" for s in self.suspected_splits)
        else:
            lines.append("  suspected splits: none")
        lines.append(f"  zero-volume bars: {self.zero_volume_bars:,}")
        if self.repairs:
            lines.append("  repairs:")
            lines.extend(f"              {r}" for r in self.repairs)
        else:
            lines.append("  repairs:    none")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


def summarize_bars(
    bars: pd.DataFrame, *, split_tolerance: float = 0.03, n_largest_gaps: int = 5
) -> ValidationReport:
    """Describe contract bars: range, frequency, calendar and gaps, suspected splits, repairs.

    Parameters
    ----------
    bars : DataFrame
        Valid bars (from :func:`validate_bars` or a loader).
    split_tolerance : float
        Relative tolerance of split detection (see :func:`detect_splits`).
    n_largest_gaps : int
        How many of the longest gaps to list.
    """
    check_bars(bars)
    idx = bars.index
    step = infer_frequency(idx)
    calendar = infer_calendar(idx, step) if step is not None else None
    gaps = find_gaps(idx, calendar) if calendar is not None else None
    return ValidationReport(
        source=str(bars.attrs.get("source", "<DataFrame>")),
        symbol=bars.attrs.get("symbol"),
        rows=len(bars),
        start=idx[0] if len(idx) else None,
        end=idx[-1] if len(idx) else None,
        frequency=frequency_string(step),
        calendar=calendar.describe() if calendar is not None else None,
        expected_bars=gaps.expected if gaps is not None else None,
        missing_bars=gaps.missing if gaps is not None else None,
        n_gaps=gaps.n_gaps if gaps is not None else None,
        largest_gaps=gaps.largest(n_largest_gaps) if gaps is not None else (),
        suspected_splits=detect_splits(bars, split_tolerance),
        adjusted=bars.attrs.get("adjusted"),
        zero_volume_bars=int((bars["volume"].to_numpy() == 0).sum()),
        repairs=tuple(bars.attrs.get("repairs", ())),
    )
