"""A tqdm progress bar per fold: trials done, pruned, failed and the best value so far.

Shown only when asked (``progress=True``) and the stream is a terminal, so logs and CI output
stay clean.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

from research.optimize._base import QR_ATTR
from research.optimize.objectives import Objective

__all__ = ["FoldProgress", "ProgressCounts"]


class FoldProgress:
    """Progress of one fold's search.

    Args:
        fold: fold number (the bar's label).
        total: trials requested.
        enabled: ``progress`` as given by the caller.
        file: stream to draw on (default ``sys.stderr``); the bar is disabled unless it is a TTY.
    """

    def __init__(self, fold: int, total: int, enabled: bool = True, file: IO[str] | None = None):
        from tqdm import tqdm

        stream = sys.stderr if file is None else file
        is_tty = bool(getattr(stream, "isatty", lambda: False)())
        # a terminal that reports no width (a pseudo-terminal without a size) would get an
        # empty bar from tqdm's dynamic width: give it a fixed one
        width = {"dynamic_ncols": True} if _columns(stream) > 0 else {"ncols": 100, "nrows": 20}
        self.bar: Any = tqdm(
            total=total,
            desc=f"fold {fold}",
            unit="trial",
            file=stream,
            disable=not (enabled and is_tty),
            leave=True,
            **width,
        )

    @property
    def enabled(self) -> bool:
        return not self.bar.disable

    def update(self, done: int, pruned: int, failed: int, best: float) -> None:
        """Show ``done`` trials, the pruned/failed counts and the best objective value."""
        if self.bar.disable:
            return
        self.bar.n = done
        best_text = f"{best:.4g}" if math.isfinite(best) else "-"
        self.bar.set_postfix(pruned=pruned, failed=failed, best=best_text, refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


def _columns(stream: Any) -> int:
    """The terminal width of ``stream`` (0 when unknown)."""
    import os

    try:
        return int(os.get_terminal_size(stream.fileno()).columns)
    except (AttributeError, OSError, ValueError):
        return 0


@dataclass
class ProgressCounts:
    """Pruned and failed trials so far and the best feasible first objective (progress bar)."""

    pruned: int = 0
    failed: int = 0
    best: float = math.nan

    @classmethod
    def of(cls, trials: Sequence[Any], objectives: Sequence[Objective]) -> ProgressCounts:
        out = cls()
        out.add(trials, objectives)
        return out

    def add(self, trials: Sequence[Any], objectives: Sequence[Objective]) -> None:
        sign = objectives[0].sign
        for t in trials:
            qr = t.user_attrs.get(QR_ATTR, {})
            status = qr.get("status")
            if status == "pruned":
                self.pruned += 1
            elif status == "fail":
                self.failed += 1
            elif qr.get("feasible") and qr.get("objective"):
                v = qr["objective"][0]
                if v is not None and (math.isnan(self.best) or sign * v > sign * self.best):
                    self.best = float(v)
