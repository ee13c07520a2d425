"""Nightly warm start: the parameter sets a night's searches try first, per strategy label.

:func:`warm_start_sets`: the champion's parameters, then the best distinct trials of the last
finished run of the experiment (``nightly.warm_start`` of them per strategy).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from research.run.compare import list_runs

__all__ = ["warm_start_sets"]


def warm_start_sets(
    exp: Any, runs_root: Path, champion: Mapping[str, Any] | None
) -> dict[str, list[dict[str, Any]]]:
    """Parameter sets to enqueue first, per strategy label: the champion's, then the best
    distinct trials of the last run's study (its ``series/trials.parquet``)."""

    labels = [s.label or s.name for s in exp.strategies]
    out: dict[str, list[dict[str, Any]]] = {}
    if champion and champion.get("strategy") in labels:
        out.setdefault(champion["strategy"], []).append(dict(champion["params"]))
    k = exp.nightly.warm_start
    last = _last_run_dir(runs_root, exp.name)
    if k > 0 and last is not None and (last / "series" / "trials.parquet").is_file():
        trials = pd.read_parquet(last / "series" / "trials.parquet")
        trials = trials[trials["state"] == "COMPLETE"].dropna(subset=["value"])
        for label in labels:
            t = trials[trials["strategy"] == label]
            if t.empty:
                continue
            asc = (t["direction"].iloc[0] == "minimize") if "direction" in t else False
            seen = {json.dumps(p, sort_keys=True) for p in out.get(label, [])}
            added = 0
            for p in t.sort_values("value", ascending=asc)["params"]:
                if p in seen or json.dumps(json.loads(p), sort_keys=True) in seen:
                    continue
                seen.add(json.dumps(json.loads(p), sort_keys=True))
                out.setdefault(label, []).append(json.loads(p))
                added += 1
                if added >= k:
                    break
    return out


def _last_run_dir(runs_root: Path, experiment: str) -> Path | None:
    for info in list_runs(runs_root, experiment):
        if info.status == "finished":
            return info.path
    return None
