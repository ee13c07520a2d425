"""Exploration on a million synthetic minute bars: feature computation + screening time, peak memory.

Run: ``.venv/bin/python benchmarks/bench_explore.py [--bars 1000000] [--cores 2] [--cache DIR]
[--out DIR]``

Targets (issue 4): the default spec (>= 100 features) computes and screens 1,000,000 bars in under
60 s with peak memory under 4 GB on 2 cores. A warm-up run on 5,000 bars loads the libraries and
the numba kernels first (their one-off compilation is not what the target is about). Prints the
time of every stage (features, stationarity tests and transforms, screening, audit, statistical
tests), the total, the number of features and tests, the peak resident memory of the process,
and the machine's load average (other processes on the same cores slow every stage down).
With ``--cache`` a second run reads the feature table from the Parquet cache.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

TARGET_SECONDS = 60.0
TARGET_GB = 4.0
TARGET_FEATURES = 100


def _peak_rss_gb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _current_rss_gb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024**3
    except OSError:
        return float("nan")


def _load() -> str:
    try:
        return "/".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument(
        "--cores", type=int, default=2, help="pin the process to this many cores (default 2)"
    )
    parser.add_argument(
        "--cache", default=None, help="feature cache folder (enables a cached rerun)"
    )
    parser.add_argument(
        "--out", default=None, help="also write the outputs (parquet, json, html) here"
    )
    args = parser.parse_args(argv)

    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))[: max(1, args.cores)]
        os.sched_setaffinity(0, cores)
    n_cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()

    from data_loaders import synthetic_bars
    from research.explore import explore

    explore(synthetic_bars(5_000, freq="1min", seed=1))  # warm-up: imports, numba kernels
    bars = synthetic_bars(args.bars, freq="1min", seed=0)
    base = _current_rss_gb()
    load_before = _load()

    t0 = time.perf_counter()
    result = explore(bars, cache_dir=args.cache)
    total = time.perf_counter() - t0
    peak = _peak_rss_gb()

    f = result.findings
    timings = f["timings_seconds"]
    n_features = f["features"]["n_computed"]
    compute_screen = sum(timings[k] for k in ("features", "stationarity", "screening"))
    print(f"bars: {len(bars):,} ({bars.index[0]} .. {bars.index[-1]})")
    print(
        f"cores used: {n_cores} (machine: {os.cpu_count()}); load average 1/5/15 min "
        f"before: {load_before}, after: {_load()}"
    )
    print(
        f"features computed: {n_features} (target >= {TARGET_FEATURES}), "
        f"screened: {f['features']['n_screened']}, "
        f"tests (features x horizons): {f['screening']['n_tests']}, "
        f"BH survivors: {f['screening']['n_survivors']}, selected: {f['screening']['n_selected']}"
    )
    for stage, secs in timings.items():
        print(f"  {stage:<13s} {secs:8.2f} s")
    print(
        f"compute + screen (features, stationarity, screening): {compute_screen:.2f} s; "
        f"whole explore() with audit and tests: {total:.2f} s "
        f"(target < {TARGET_SECONDS:.0f} s: {total / TARGET_SECONDS:.2f} of the limit)"
    )
    print(
        f"peak RSS: {peak:.2f} GB (before explore: {base:.2f} GB; target < {TARGET_GB:.0f} GB: "
        f"{peak / TARGET_GB:.2f} of the limit)"
    )

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
        print(f"outputs written in {time.perf_counter() - t0:.2f} s:")
        for p in paths.values():
            print(f"  {p} ({p.stat().st_size / 1e6:.1f} MB)")
    ok = total < TARGET_SECONDS and peak < TARGET_GB and n_features >= TARGET_FEATURES
    print(
        "PASS" if ok else "MISS",
        f"(targets: < {TARGET_SECONDS:.0f} s, < {TARGET_GB:.0f} GB, >= {TARGET_FEATURES} features)",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
