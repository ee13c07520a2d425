"""The pending night: what a killed ``research nightly`` needs to resume on the same data.

Before its search starts, a night writes ``runs/<experiment>/nightly-pending.json`` (the run
folder it works in and the warm-start sets) and the bars it loaded as
``nightly-pending.<i>.parquet`` (one file per symbol; no pickles). The next night of the same
experiment that finds them, and finds that folder still unfinished, resumes it on those bars
(so the studies' data fingerprint matches and no completed trial is lost). A finished night
removes them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from research.run.store import MARKER, atomic_write_json

__all__ = ["PendingNight", "save_pending", "load_pending", "clear_pending"]

_NAME = "nightly-pending"


@dataclass(frozen=True)
class PendingNight:
    """A night to resume: its run folder, its bars and its warm-start sets."""

    run_dir: Path
    bars: Any
    warm: dict[str, list[dict[str, Any]]]


def _base(root: Path, experiment: str) -> Path:
    return Path(root) / experiment


def save_pending(
    root: Path, experiment: str, run_dir: Path, bars: Any, warm: Mapping[str, Any]
) -> None:
    """Record the night about to run (see the module docstring)."""
    base = _base(root, experiment)
    base.mkdir(parents=True, exist_ok=True)
    frames = dict(bars) if isinstance(bars, Mapping) else {None: bars}
    files = []
    for i, frame in enumerate(frames.values()):
        name = f"{_NAME}.{i}.parquet"
        tmp = base / f".{name}.tmp"
        frame.to_parquet(tmp)
        tmp.replace(base / name)
        files.append(name)
    symbols = None if None in frames else [str(s) for s in frames]
    record = {"run_dir": run_dir.name, "files": files, "symbols": symbols, "warm": dict(warm)}
    atomic_write_json(base / f"{_NAME}.json", record)


def load_pending(root: Path, experiment: str) -> PendingNight | None:
    """The night to resume, or None (none recorded, its folder finished or gone, or its files
    unreadable: then they are removed and a fresh night starts)."""
    base = _base(root, experiment)
    f = base / f"{_NAME}.json"
    if not f.is_file():
        return None
    try:
        rec = json.loads(f.read_text(encoding="utf-8"))
        run_dir = base / str(rec["run_dir"])
        if not (run_dir / MARKER).exists():
            raise ValueError("the folder is not unfinished")
        frames = [pd.read_parquet(base / str(name)) for name in rec["files"]]
        symbols = rec.get("symbols")
        bars = dict(zip(symbols, frames)) if symbols else frames[0]
        warm = {str(k): list(v) for k, v in dict(rec.get("warm") or {}).items()}
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        clear_pending(root, experiment)
        return None
    return PendingNight(run_dir=run_dir, bars=bars, warm=warm)


def clear_pending(root: Path, experiment: str) -> None:
    """Remove the pending-night files (the night finished)."""
    base = _base(root, experiment)
    for p in base.glob(f"{_NAME}.*"):
        p.unlink(missing_ok=True)
