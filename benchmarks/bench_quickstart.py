"""Benchmark: the quickstart's wall time against its 10 s limit, stage by stage, on this machine.

Runs ``research run experiments/quickstart.yaml`` (``--runs`` times, default 2) each in a fresh
process into a temporary run folder, as ``make demo`` does after the install (numba kernels
compiled and cached: one untimed run first unless ``--no-warm``), and prints

* ``wall``: seconds from starting the process to its exit (start-up and imports included),
  against the limit (``wall / 10 s``);
* the run's own ``stage_seconds`` (``run.json``: load, lookahead, search, judge, importance,
  trades, report, ...; wall seconds) and ``start-up`` = process wall - the stages' sum;
* whether every run wrote the same leaderboard (``leaderboard.csv`` byte for byte);
* **the machine's speed**, measured in the same run: the best of 3 timings of a fixed pure-Python
  loop (``calibration``, 10 million additions in a fresh process) and the load average, so
  figures from different machines can be compared: the quickstart is mostly Python (Optuna's
  TPE, pandas, the report), so its wall time follows this loop more than the numba kernels.

Usage: ``python benchmarks/bench_quickstart.py [--runs N] [--no-warm] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "experiments" / "quickstart.yaml"
LIMIT = 10.0
#: the stages printed (run.json's top-level entries; the "a/b" parts are inside them)
STAGES = ("load", "lookahead", "search", "judge", "importance", "trades", "report")


def calibration(repeats: int = 3) -> float:
    """Best-of seconds of a fixed pure-Python loop (10 million additions) in a fresh process."""
    code = (
        "import time\nt = time.perf_counter()\ns = 0\nfor i in range(10_000_000):\n    s += i\n"
        "print(time.perf_counter() - t)"
    )
    times = []
    for _ in range(repeats):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        times.append(float(done.stdout))
    return min(times)


def quickstart(out: Path) -> tuple[float, dict[str, float], bytes]:
    """One quickstart in a fresh process: its wall seconds, stage seconds and leaderboard."""
    cmd = [sys.executable, "-m", "research", "run", str(SPEC), "--out", str(out), "--no-progress"]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"the quickstart failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    run = json.loads((out / "run.json").read_text())
    stages = {k: float(v["wall"]) for k, v in run["stage_seconds"].items() if "/" not in k}
    return wall, stages, (out / "leaderboard.csv").read_bytes()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--no-warm", action="store_true", help="time the first run too")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    load0 = os.getloadavg()[0]
    calib = calibration()
    print(
        f"machine: {os.cpu_count()} cores, load average {load0:.1f}; calibration loop "
        f"{calib:.2f} s (10M Python additions, best of 3)"
    )
    tmp = Path(tempfile.mkdtemp(prefix="bench-quickstart-"))
    rows: list[dict[str, Any]] = []
    boards = set()
    try:
        if not args.no_warm:
            quickstart(tmp / "warm")  # numba kernels compiled and cached, files in page cache
        for k in range(args.runs):
            wall, stages, board = quickstart(tmp / f"run{k}")
            boards.add(board)
            shown = {s: stages.get(s, 0.0) for s in STAGES}
            startup = wall - sum(stages.values())
            rows.append({"wall": wall, "startup": startup, "stages": stages})
            parts = "  ".join(f"{s} {v:.2f}" for s, v in shown.items())
            print(
                f"run {k + 1}: wall {wall:6.2f} s ({wall / LIMIT:.2f}x the {LIMIT:.0f} s limit)  "
                f"start-up {startup:.2f}  {parts}",
                flush=True,
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    best = min(r["wall"] for r in rows)
    print(
        f"best wall {best:.2f} s = {best / LIMIT:.2f}x the limit; same leaderboard in every run: "
        f"{len(boards) == 1}; calibration {calib:.2f} s; load average at end "
        f"{os.getloadavg()[0]:.1f}"
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"rows": rows, "calibration_s": calib, "loadavg_start": load0}, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
