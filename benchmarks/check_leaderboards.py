"""Behaviour check: every experiment's leaderboard is byte-identical to its recorded baseline.

``tests/fixtures/leaderboards/<name>.csv`` holds the ``leaderboard.csv`` of
``research run experiments/<name>.yaml`` (the spec's own seed) recorded at commit 7a507bc,
before the run flow was regrouped into ``research/judge`` and ``research/run``
(``universe_momentum``, ``universe_pooled`` and ``exits_search``: recorded when they were
added, 2026-12). This script
reruns each experiment in a temporary folder and compares the files byte for byte, printing the
first differing line of any mismatch.

    python benchmarks/check_leaderboards.py                 # all eight (about 8 min on 2 cores)
    python benchmarks/check_leaderboards.py quickstart      # some of them
    python benchmarks/check_leaderboards.py --update        # record the new baselines

A mismatch also lists the columns whose values differ (``changed columns: ...``), so a
deliberate change (say a gate default) can be checked to touch only the columns it should before
``--update`` records it; state the reason in the commit that updates the fixtures.

Exit status 0 when every leaderboard is identical, 1 otherwise. (A script rather than a test:
the runs take minutes. ``tests/research/run/test_pipeline.py`` keeps a quick check of the
same kind on a small run.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "leaderboards"


def changed_columns(want: bytes, got: bytes) -> list[str]:
    """Columns whose values differ between two leaderboard CSVs (rows matched by ``name``;
    columns present in only one of them are listed with a ``+``/``-`` prefix)."""
    import io

    import pandas as pd

    a = pd.read_csv(io.BytesIO(want)).set_index("name")
    b = pd.read_csv(io.BytesIO(got)).set_index("name")
    out = [f"-{c}" for c in a.columns if c not in b.columns]
    out += [f"+{c}" for c in b.columns if c not in a.columns]
    if set(a.index) != set(b.index):
        return [*out, "(candidates differ)"]
    b = b.loc[a.index]
    for c in a.columns.intersection(b.columns):
        x, y = a[c], b[c]
        if not (x.equals(y) or (x.astype(str) == y.astype(str)).all()):
            out.append(c)
    return out


def check(name: str, work: Path, update: bool = False) -> bool:
    spec = ROOT / "experiments" / f"{name}.yaml"
    out = work / name
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "research", "run", str(spec), "--out", str(out), "--no-progress"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        print(f"{name}: research run failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
        return False
    want = (FIXTURES / f"{name}.csv").read_bytes()
    got = (out / "leaderboard.csv").read_bytes()
    if got == want:
        print(f"{name}: identical ({len(want)} bytes, {seconds:.0f} s)")
        return True
    for i, (a, b) in enumerate(zip(want.splitlines(), got.splitlines(), strict=False), 1):
        if a != b:
            print(f"{name}: DIFFERS at line {i}\n  baseline: {a[:300]!r}\n  now:      {b[:300]!r}")
            break
    else:
        print(f"{name}: DIFFERS in length ({len(want)} vs {len(got)} bytes)")
    print(f"  changed columns: {', '.join(changed_columns(want, got)) or 'none'}")
    if update:
        (FIXTURES / f"{name}.csv").write_bytes(got)
        print(f"  baseline updated: tests/fixtures/leaderboards/{name}.csv")
    return False


def main(argv: list[str]) -> int:
    update = "--update" in argv
    names = [a for a in argv if a != "--update"] or sorted(p.stem for p in FIXTURES.glob("*.csv"))
    with tempfile.TemporaryDirectory(prefix="check-leaderboards-") as tmp:
        results = [check(n, Path(tmp), update) for n in names]
    print(f"{sum(results)} of {len(results)} leaderboards identical to the baseline")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
