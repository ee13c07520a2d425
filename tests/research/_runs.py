"""Small finished runs shared by the runner, report, tracking and nightly tests.

A run takes seconds even on tiny budgets, so each distinct spec is run once per test session
(cached here, in a temporary folder removed at exit) and tests copy the folder when they need
to change it. Real data: five years of the bundled S&P 500 sample, three walk-forward folds.
"""

from __future__ import annotations

import atexit
import copy
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

#: a tiny experiment: 2 strategies x 2 optimizers x 3 folds x 6 trials on 2012-2016 daily bars
TINY: dict[str, Any] = {
    "name": "tiny",
    "seed": 3,
    "data": {"source": "sample:sp500", "start": "2012-01-01", "end": "2016-12-31"},
    "strategies": ["sma_cross", "rsi_reversion"],
    "optimizers": ["tpe", {"name": "ga", "options": {"population_size": 6}}],
    "budget": {"n_trials": 6},
    "walk_forward": {"train": 500, "test": 250},
    "guardrails": {"min_trades": 2},
    "gates": {
        "min_dsr": 0.5,
        "max_pbo": 0.6,
        "min_stability": 0.3,
        "min_trades": 3,
        "min_wfe": None,
    },
    "ranking": {"top_k": 4},
}

_ROOT: Path | None = None
_CACHE: dict[str, Any] = {}


def root() -> Path:
    """The session's scratch folder (removed at interpreter exit)."""
    global _ROOT
    if _ROOT is None:
        _ROOT = Path(tempfile.mkdtemp(prefix="research-runs-"))
        atexit.register(shutil.rmtree, _ROOT, True)
    return _ROOT


def spec(**changes: Any) -> dict[str, Any]:
    """:data:`TINY` with top-level keys replaced."""
    out = copy.deepcopy(TINY)
    out.update(copy.deepcopy(changes))
    return out


def write_spec(raw: dict[str, Any], folder: Path, name: str = "spec.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def finished_run(raw: dict[str, Any] | None = None, tag: str = "a") -> Any:
    """The :class:`research.runner.RunResult` of ``raw`` (default :data:`TINY`), run once per
    session and ``tag``; its spec file is ``<run_dir>/../<tag>.yaml``."""
    from research.runner import run_experiment

    raw = TINY if raw is None else raw
    key = tag + json.dumps(raw, sort_keys=True)
    if key not in _CACHE:
        base = root() / f"{raw['name']}-{tag}"
        path = write_spec(raw, base, f"{tag}.yaml")
        _CACHE[key] = run_experiment(path, out_dir=base / "run", progress=False)
    return _CACHE[key]


def copy_run(run_dir: Path, dest: Path) -> Path:
    """A copy of a finished run folder (to change without touching the shared one)."""
    shutil.copytree(run_dir, dest)
    return dest
