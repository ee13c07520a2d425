"""Exploration on a million synthetic minute bars: feature computation + screening time, peak memory.

Run: ``.venv/bin/python benchmarks/bench_explore.py [--bars 1000000] [--cache DIR] [--out DIR]``

Targets (issue 4): the default spec (>= 100 features) computes and screens 1,000,000 bars in under
60 s with peak memory under 4 GB on 2 cores. A warm-up run on 5,000 bars loads the libraries and
the numba kernels first (their one-off compilation is not what the target is about). Prints the
time of every stage (features, stationarity tests and transforms, screening, audit, statistical
tests), the total, the number of features and tests, and the peak resident memory of the process.
With ``--cache`` a second run reads the feature table from the Parquet cache.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

from data_loaders import synthetic_bars
from research.explore import explore

TARGET_SECONDS = 60.0
TARGET_GB = 4.0


def _rss_gb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _current_rss_gb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024**3
    except OSError:
        return float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument(
        "--cache", default=None, help="feature cache folder (enables a cached rerun)"
    )
    parser.add_argument(
        "--out", default=None, help="also write the outputs (parquet, json, html) here"
    )
    args = parser.parse_args(argv)

    explore(synthetic_bars(5_000, freq="1min", seed=1))  # warm-up: imports, numba kernels
    bars = synthetic_bars(args.bars, freq="1min", seed=0)
    base = _current_rss_gb()

    t0 = time.perf_counter()
    result = explore(bars, cache_dir=args.cache)
    total = time.perf_counter() - t0
    peak = _rss_gb()

    f = result.findings
    print(f"bars: {len(bars):,} ({bars.index[0]} .. {bars.index[-1]}), cores: {os.cpu_count()}")
    print(
        f"features computed: {f['features']['n_computed']}, screened: {f['features']['n_screened']}, "
        f"tests (features x horizons): {f['screening']['n_tests']}, "
        f"BH survivors: {f['screening']['n_survivors']}, selected: {f['screening']['n_selected']}"
    )
    for stage, secs in f["timings_seconds"].items():
        print(f"  {stage:<13s} {secs:8.2f} s")
    compute_screen = sum(f["timings_seconds"][k] for k in ("features", "stationarity", "screening"))
    print(
        f"compute + screen: {compute_screen:.2f} s; whole explore(): {total:.2f} s "
        f"(target < {TARGET_SECONDS:.0f} s)"
    )
    print(f"peak RSS: {peak:.2f} GB (before explore: {base:.2f} GB; target < {TARGET_GB:.0f} GB)")

    if args.cache:
        t0 = time.perf_counter()
        again = explore(bars, cache_dir=args.cache)
        print(
            f"rerun with the feature cache: {time.perf_counter() - t0:.2f} s "
            f"(features read from cache: {again.findings['features']['from_cache']})"
        )
    if args.out:
        t0 = time.perf_counter()
        paths = result.save(args.out)
        print(
            f"outputs written in {time.perf_counter() - t0:.2f} s: {', '.join(str(p) for p in paths.values())}"
        )
    ok = total < TARGET_SECONDS and peak < TARGET_GB
    print("PASS" if ok else "MISS", "(targets: < 60 s, < 4 GB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
