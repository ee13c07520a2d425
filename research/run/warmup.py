"""Compile the numba kernels an experiment needs once, so its first real run pays no compilation.

Numba compiles each kernel on its first call and, with ``cache=True`` (every kernel of this
project; vectorbt's own too), keeps the machine code on disk for later processes. A fresh
install therefore spends its first ``research run`` compiling: about 40 s on 2 cores for the
quickstart, mostly vectorbt's portfolio kernels. ``make install`` / ``make demo`` run this
module right after ``pip install``: it runs the experiment with two trials per fold into a
temporary folder (deleted afterwards; nothing of the user's is written) and reports the time.

Usage: ``python -m research.warmup [EXPERIMENT.yaml]`` (default ``experiments/quickstart.yaml``).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

__all__ = ["warm_caches"]

DEFAULT_EXPERIMENT = Path("experiments") / "quickstart.yaml"


def warm_caches(experiment: str | Path = DEFAULT_EXPERIMENT) -> float:
    """Run ``experiment`` with 2 trials per fold in a temporary folder; return the seconds taken.

    Raises:
        ConfigError: the experiment file is missing or invalid (as ``research run`` would).
    """
    from research.run.pipeline import run_experiment
    from research.spec import load_experiment

    spec = load_experiment(experiment)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="research-warmup-") as tmp:
        run_experiment(
            spec, out_dir=Path(tmp) / "run", trials=2, progress=False, runs_root=Path(tmp)
        )
    from data_loaders.lru import enforce_cap

    enforce_cap("numba")  # old compilations beyond $QR_CACHE_MAX_NUMBA go, oldest first
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    from data_loaders.errors import ResearchError

    args = sys.argv[1:] if argv is None else argv
    experiment = Path(args[0]) if args else DEFAULT_EXPERIMENT
    print(f"compiling and caching kernels with {experiment} (2 trials per fold) ...", flush=True)
    try:
        seconds = warm_caches(experiment)
    except ResearchError as exc:
        print(f"research.warmup: error: {exc}", file=sys.stderr)
        return 2
    print(f"kernels compiled and cached in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
