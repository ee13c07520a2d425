"""Speed of the numba indicator kernels against pandas / ``ta``, and of sma_cross batch positions.

Run: ``.venv/bin/python benchmarks/bench_indicators.py [--bars 1000000]``

Prints, per hot indicator, the kernel time (warm, best of 3), the reference time and the largest
absolute difference; then the time to build the 90-set SMA-crossover grid's positions
(``SmaCross.batch_positions``), fresh and into a reused ``out`` buffer.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import ta

from data_loaders import synthetic_bars
from strategies.builtin.sma_cross import SmaCross
from strategies.indicators import fast

GRID = [{"fast": f, "slow": s} for f in range(5, 55, 5) for s in range(20, 220, 20) if f < s]


def best_of(fn: Callable[[], object], repeat: int = 3) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return min(times), value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--skip-slow-refs", action="store_true", help="skip ta's Python-loop ATR")
    args = parser.parse_args(argv)

    bars = synthetic_bars(args.bars, freq="1min", seed=0)
    h, lo, c = bars["high"], bars["low"], bars["close"]
    cases: list[tuple[str, Callable, Callable | None]] = [
        ("sma(50)", lambda: fast.sma(c, 50), lambda: c.rolling(50).mean()),
        (
            "ema(50)",
            lambda: fast.ema(c, 50),
            lambda: c.ewm(span=50, min_periods=50, adjust=False).mean(),
        ),
        ("rolling_std(50)", lambda: fast.rolling_std(c, 50), lambda: c.rolling(50).std()),
        (
            "rolling_zscore(50)",
            lambda: fast.rolling_zscore(c, 50),
            lambda: (c - c.rolling(50).mean()) / c.rolling(50).std(),
        ),
        ("rsi(14)", lambda: fast.rsi(c, 14), lambda: ta.momentum.RSIIndicator(c, 14).rsi()),
        ("donchian_high(55)", lambda: fast.donchian_high(h, 55), lambda: h.rolling(55).max()),
        ("donchian_low(55)", lambda: fast.donchian_low(lo, 55), lambda: lo.rolling(55).min()),
        (
            "atr(14)",
            lambda: fast.atr(h, lo, c, 14),
            None
            if args.skip_slow_refs
            else lambda: ta.volatility.AverageTrueRange(h, lo, c, 14).average_true_range(),
        ),
    ]
    print(f"{len(bars):,} bars")
    print(
        f"{'indicator':<20}{'kernel ms':>11}{'reference ms':>14}{'speed-up':>10}{'max |diff|':>12}"
    )
    for name, kernel, reference in cases:
        kernel()  # compile / load the cache
        tk, got = best_of(kernel)
        if reference is None:
            print(f"{name:<20}{tk * 1e3:>11.1f}{'-':>14}")
            continue
        tr, want = best_of(reference, repeat=1 if name.startswith("atr") else 3)
        a, b = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
        warm = int(np.argmax(~np.isnan(a)))
        diff = float(np.nanmax(np.abs(a[warm:] - b[warm:])))
        print(f"{name:<20}{tk * 1e3:>11.1f}{tr * 1e3:>14.1f}{tr / tk:>9.1f}x{diff:>12.1e}")

    SmaCross.batch_positions(bars.iloc[:1000], GRID[:2])
    t_fresh, pos = best_of(lambda: SmaCross.batch_positions(bars, GRID))
    buffer = np.empty_like(pos, order="F")
    t_reuse, _ = best_of(lambda: SmaCross.batch_positions(bars, GRID, out=buffer))
    ref = (c.rolling(15).mean() > c.rolling(60).mean()).astype(float).to_numpy()
    agree = np.array_equal(pos[:, GRID.index({"fast": 15, "slow": 60})], ref)
    print(
        f"\nsma_cross batch positions, {len(GRID)} sets x {len(bars):,} bars "
        f"({pos.nbytes / 2**20:.0f} MB float64): fresh {t_fresh:.3f} s, "
        f"into a reused buffer {t_reuse:.3f} s; matches pandas: {agree}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
