"""Parts (b) and (c) of ``bench_universe.py``: whole ``research run``s over a universe.

(b) ``per_symbol`` on the 20 bundled stocks (``sample:sp500_20``, 2008-2018): sma_cross and
    rsi_reversion searched with TPE on every symbol (16 trials per fold, 3-year training and
    1-year test windows), ``--workers 2``; the reference in the same run is the same spec on one
    symbol (AAPL), so the ratio says what 20 symbols cost against one (after a warm-up run on
    MSFT, so that neither pays numba's first compilation).
(c) ``--symbols`` synthetic symbols (default 500) x 10 years of daily bars x 3 strategies,
    ``--workers 2``: sma_cross and rsi_reversion ``pooled`` (one set for every symbol, median
    objective, run_books path) and xs_momentum ``portfolio`` (one book), 6 trials per fold,
    4-year training and 2-year test windows. Reported: wall time and peak RSS (the run's process
    and its worker processes).

Each run is a subprocess (its own peak RSS); reports are off (timing the search and the judge).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["part_b", "part_c"]

_GATES = {"min_dsr": None, "max_pbo": None, "min_stability": None, "min_trades": None,
          "max_drawdown": None}  # fmt: skip


def _spec_b(symbols: list[str] | None, mode: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {"source": "sample:sp500_20", "start": "2008-01-01", "end": "2018-12-31"}
    if symbols:
        data["symbols"] = symbols
    spec = {
        "name": "bench_per_symbol",
        "seed": 1,
        "data": data,
        "strategies": ["sma_cross", "rsi_reversion"],
        "optimizers": ["tpe"],
        "budget": {"n_trials": 16},
        "walk_forward": {"train": "3Y", "test": "1Y"},
        "gates": _GATES,
        "report": False,
        "workers": 2,
    }
    if mode:
        spec["universe"] = {"mode": mode}
    return spec


def _spec_c() -> dict[str, Any]:
    return {
        "name": "bench_universe_c",
        "seed": 1,
        "data": {"source": "sample:sp500_20"},  # replaced by the synthetic bars
        "universe": {"mode": "pooled", "aggregate": "median"},
        "strategies": [
            "sma_cross",
            "rsi_reversion",
            {"name": "xs_momentum", "mode": "portfolio"},
        ],
        "optimizers": ["tpe"],
        "budget": {"n_trials": 6},
        "walk_forward": {"train": "4Y", "test": "2Y"},
        "gates": _GATES,
        "ranking": {"top_k": 4},
        "report": False,
        "workers": 2,
    }


def _peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def child(part: str, arg: str, out: str) -> None:
    """Run one spec in this process and print seconds, peak RSS and the leaderboard size."""
    from research.run.pipeline import run_experiment
    from research.spec import parse_experiment

    bars = None
    if part == "c":
        from data_loaders.synthetic import synthetic_universe

        n = int(arg)
        bars = synthetic_universe([f"S{i:03d}" for i in range(n)], 2520, seed=5)
        spec = _spec_c()
    else:
        spec = _spec_b(*json.loads(arg))
    started = time.perf_counter()
    res = run_experiment(parse_experiment(spec), bars=bars, out_dir=out, progress=False, new=True)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_mb": _peak_mb(), "rows": len(res.leaderboard)}))


def _run(part: str, arg: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, __file__, part, arg, str(Path(tmp) / "run")]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"part {part} failed: {proc.stderr.strip()[-800:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])


def part_b() -> None:
    """(b): per_symbol on 20 stocks against the same spec on one stock."""
    _run("b", json.dumps([["MSFT"], None]))  # warm-up: numba caches, imports (not timed)
    one = _run("b", json.dumps([["AAPL"], None]))
    many = _run("b", json.dumps([None, "per_symbol"]))
    print("(b) per_symbol, sample:sp500_20 2008-2018, sma_cross + rsi_reversion, TPE 16/fold")
    print(f"  1 symbol      {one['seconds']:7.1f} s   peak RSS {one['peak_mb']:6.0f} MB")
    print(
        f"  20 symbols    {many['seconds']:7.1f} s   x{many['seconds'] / one['seconds']:5.1f} "
        f"vs 1 symbol   peak RSS {many['peak_mb']:6.0f} MB   ({many['rows']} leaderboard rows)"
    )


def part_c(n_symbols: int) -> None:
    """(c): ``n_symbols`` synthetic symbols x 2520 bars x 3 strategies, 2 workers."""
    ref = _run("c", str(max(2, n_symbols // 10)))
    big = _run("c", str(n_symbols))
    print("(c) synthetic daily, 10 years, 3 strategies (2 pooled, 1 portfolio), --workers 2")
    print(f"  {max(2, n_symbols // 10):4d} symbols  {ref['seconds']:7.1f} s   "
          f"peak RSS {ref['peak_mb']:6.0f} MB")  # fmt: skip
    print(
        f"  {n_symbols:4d} symbols  {big['seconds']:7.1f} s   x{big['seconds'] / ref['seconds']:5.1f} "
        f"vs {max(2, n_symbols // 10)} symbols   peak RSS {big['peak_mb']:6.0f} MB "
        f"({big['rows']} leaderboard rows)"
    )


if __name__ == "__main__":
    child(sys.argv[1], sys.argv[2], sys.argv[3])
