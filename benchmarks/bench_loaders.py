"""Speed of the data layer on one million minute bars, against plain pandas/numpy references.

Run: ``.venv/bin/python benchmarks/bench_loaders.py [--bars 1000000]``

Prints, per step, our time (warm, best of 3), the reference time and the ratio:

* ``synthetic_bars`` (regime-switching GBM with OHLC and volume) vs a bare numpy GBM of closes
  (the hand-written lower bound: normals, cumsum, exp);
* ``load_csv`` (sniffing, alias mapping, date parsing, every contract check) vs ``pd.read_csv``
  with ``parse_dates`` of the same file;
* ``load_parquet`` vs ``pd.read_parquet``;
* ``resample_bars(..., "1h")`` vs ``DataFrame.resample("1h").agg(...)``;
* ``summarize_bars`` (frequency, calendar, gaps, split scan) with no reference.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from data_loaders import load_csv, load_parquet, resample_bars, summarize_bars, synthetic_bars

AGG = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bare_gbm(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return 100.0 * np.exp(np.cumsum(1e-4 * rng.standard_normal(n)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    n, r = args.bars, args.repeat
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{n:,} minute bars; {os.cpu_count()} cores, load {load:.1f}; best of {r}")

    synthetic_bars(10)  # compile the numba kernel first
    bars = synthetic_bars(n, freq="1min", seed=0)
    rows: list[tuple[str, float, float | None]] = []
    rows.append(
        (
            "synthetic_bars",
            best_of(lambda: synthetic_bars(n, freq="1min", seed=0), r),
            best_of(lambda: bare_gbm(n), r),
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "bars.csv"
        bars.to_csv(csv)
        rows.append(
            (
                "load_csv",
                best_of(lambda: load_csv(csv), r),
                best_of(lambda: pd.read_csv(csv, index_col=0, parse_dates=True), r),
            )
        )
        pq = Path(tmp) / "bars.parquet"
        bars.to_parquet(pq)
        rows.append(
            (
                "load_parquet",
                best_of(lambda: load_parquet(pq), r),
                best_of(lambda: pd.read_parquet(pq), r),
            )
        )
    rows.append(
        (
            "resample_bars 1h",
            best_of(lambda: resample_bars(bars, "1h"), r),
            best_of(lambda: bars.resample("1h").agg(AGG), r),
        )
    )
    rows.append(("summarize_bars", best_of(lambda: summarize_bars(bars), r), None))

    print(f"{'step':<18} {'ours (s)':>9} {'ref (s)':>9} {'ratio':>7}")
    for name, ours, ref in rows:
        ref_text = f"{ref:9.3f} {ours / ref:6.1f}x" if ref else f"{'-':>9} {'-':>7}"
        print(f"{name:<18} {ours:9.3f} {ref_text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
