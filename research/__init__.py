"""Research layer, one folder per stage of a run: spec -> explore -> optimize -> judge -> run
(-> report). See ``docs/architecture.md``.

The entry points most scripts need are importable from here lazily (importing ``research`` stays
cheap; the CLI imports each command's module on demand)::

    from research import load_experiment, run_experiment
"""

from __future__ import annotations

import importlib
from typing import Any

from data_loaders.kernel_cache import ensure_current_kernels

# before any kernel of research/ runs: drop cached kernels built from old code (numba keys a
# cached function by its own file only; see data_loaders.kernel_cache)
ensure_current_kernels()

_LAZY = {
    "run_experiment": "research.run.pipeline",
    "RunResult": "research.run.pipeline",
    "RunResults": "research.run.results",
    "load_experiment": "research.spec",
    "Experiment": "research.spec",
    "Judgement": "research.judge",
    "walk_forward_optimize": "research.optimize",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'research' has no attribute {name!r}")
