"""Benchmark (a): one SMA grid pooled across a 20-symbol universe, batch book kernel vs vectorbt.

Data: ``synthetic_universe`` of 20 symbols x 8,000 daily bars (seed 0). Grid: fast 5..50 step
5, slow 20..200 step 20, fast < slow (90 sets). Each set trades every symbol: long/flat SMA
crossover per symbol, one book per set at ``1/20`` of the book per symbol while long, cash
shared, orders only when a symbol's position changes, fills at the next bar's open, 0.1 % fees.

Paths (each in its own subprocess, so peak RSS is its own):

* ``batch``        ``backtest.portfolio.run_books`` (fused numba book kernel, two threads) on
                   the ``(90, 8000, 20)`` weight panels, plus metrics per book;
* ``vbt_orders``   vectorbt ``Portfolio.from_orders(size_type='targetpercent',
                   cash_sharing=True, group_by=set, call_seq='auto')`` on the same orders (1,800
                   columns in 90 groups): the same semantics, so equities must agree to 1e-9;
* ``vbt_signals``  vectorbt ``Portfolio.from_signals(cash_sharing=True, group_by=set,
                   size=5000, size_type='value', call_seq='auto')`` on the entries/exits of the same
                   positions: the peer's signal path. ``from_signals`` has no target-percent
                   size, so each entry buys a fixed 1/20 of the initial cash; its equities
                   differ by construction and are reported, not compared.

The SMA positions (``SmaCross.batch_positions`` per symbol) are computed once per process,
outside the timed call. Times are wall-clock seconds of the simulation call (best of two for
the batch, after a compile run on a small slice; one call for vectorbt after a small warm-up).

Usage: ``python benchmarks/bench_universe.py [--bars 8000] [--symbols 20]`` (about 2.5 minutes,
nearly all of it vectorbt). Parts (b) and (c) (whole ``research run``s over a universe, see
``benchmarks/_universe_runs.py``): ``--part b`` and ``--part c [--symbols N]`` (default 500).

Last measured 2026-12-02 at commit b697354 (2 cores shared with other jobs, load average 6-8,
so absolute times are inflated; each part's ratios are from one run)::

    python benchmarks/bench_universe.py --part a          (load average 8.4 -> 6.6)
    20 symbols x 8000 bars, 90 SMA sets pooled (1 book/set)
      batch           0.593 s   x   1.0 vs batch   peak RSS     629 MB (before the call 478 MB)
      vbt_orders     17.228 s   x  29.0 vs batch   peak RSS    2346 MB (before the call 478 MB)
      vbt_signals    23.765 s   x  40.1 vs batch   peak RSS    2219 MB (before the call 477 MB)
      equity batch vs vbt_orders: max relative difference 2.00e-15
      equity batch vs vbt_signals (different sizing, for reference): 9.00e-02

    python benchmarks/bench_universe.py --part b          (commit d0cb601, load 4.1 -> 5.2)
    (b) per_symbol, sample:sp500_20 2008-2018, sma_cross + rsi_reversion, TPE 16/fold
      1 symbol          8.7 s   peak RSS    547 MB
      20 symbols       41.8 s   x  4.8 vs 1 symbol   peak RSS    611 MB   (40 leaderboard rows)

    python benchmarks/bench_universe.py --part c --symbols 500   (load average 5.2 -> 8.2)
    (c) synthetic daily, 10 years, 3 strategies (2 pooled, 1 portfolio), --workers 2
        50 symbols     22.5 s   peak RSS    563 MB
       500 symbols    147.6 s   x  6.6 vs 50 symbols   peak RSS    886 MB (3 leaderboard rows)

Peak RSS is the largest single process (the run's, or one worker's), not their sum. Part (b)
depends on the load: 76.9 s for 20 symbols (18.7 s for one) at load average 6 -> 8, when each of
its 40 searches started its own pool of 2 worker processes. Since commit d34d62e the searches of
a run share one pool (``research.optimize._workers.shared_pool``); measured alternately in one
session (load average 1.9 -> 2.2), 20 symbols: 19.0 s at 9ea91f1 (a pool per search) against
14.0 s and 13.7 s at d34d62e (one pool); the same spec with ``workers: 1``: 11.1 s (load 2.3).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FEES = 0.001
CASH = 100_000.0


def grid() -> list[dict[str, int]]:
    return [{"fast": f, "slow": s} for f in range(5, 55, 5) for s in range(20, 220, 20) if f < s]


def setup(n_bars: int, n_symbols: int):
    from data_loaders import synthetic_universe
    from strategies.builtin.sma_cross import SmaCross

    syms = [f"S{j:02d}" for j in range(n_symbols)]
    bars = synthetic_universe(syms, n_bars, seed=0)
    sets = grid()
    pos = np.stack([SmaCross.batch_positions(bars[s], sets) for s in syms], axis=-1)  # (n, k, m)
    return bars, syms, np.ascontiguousarray(pos.transpose(1, 0, 2))  # (k, n, m)


def run_batch(bars, syms, pos) -> tuple[float, np.ndarray]:
    from backtest.costs import Costs
    from backtest.portfolio import BookSettings, run_books

    settings = BookSettings(
        fill="next_open", rebalance="on_change", costs=Costs(fees=FEES), init_cash=CASH
    )
    small = {s: f.iloc[:300] for s, f in bars.items()}
    run_books(small, pos[:4, :300] / len(syms), settings)  # compile / load the cache
    best = np.inf
    for _ in range(2):
        t0 = time.perf_counter()
        res = run_books(bars, pos / len(syms), settings, n_threads=2)
        best = min(best, time.perf_counter() - t0)
    return best, res.equity.to_numpy()


def _vbt_frames(bars, syms, pos):
    import pandas as pd

    k, n, m = pos.shape
    index = bars[syms[0]].index
    close = pd.DataFrame(
        np.tile(np.column_stack([bars[s]["close"].to_numpy() for s in syms]), k), index=index
    )
    open_ = pd.DataFrame(
        np.tile(np.column_stack([bars[s]["open"].to_numpy() for s in syms]), k), index=index
    )
    flat = pos.transpose(1, 0, 2).reshape(n, k * m)  # columns: set-major, symbol-minor
    groups = np.repeat(np.arange(k), m)
    return close, open_, flat, groups


def run_vbt_orders(bars, syms, pos) -> tuple[float, np.ndarray]:
    import pandas as pd
    import vectorbt as vbt

    close, open_, flat, groups = _vbt_frames(bars, syms, pos)
    w = flat / len(syms)
    prev = np.vstack([np.zeros((1, w.shape[1])), w[:-1]])
    size = np.where(w != prev, w, np.nan)
    size = np.vstack([np.full((1, w.shape[1]), np.nan), size[:-1]])  # next-open fill
    kwargs = dict(
        size_type="targetpercent", fees=FEES, init_cash=CASH, cash_sharing=True,
        call_seq="auto", direction="both", freq="1D",
    )  # fmt: skip
    vbt.Portfolio.from_orders(
        close.iloc[:300, :40], pd.DataFrame(size).iloc[:300, :40], price=open_.iloc[:300, :40],
        group_by=groups[:40], **kwargs,
    ).value()  # fmt: skip
    t0 = time.perf_counter()
    pf = vbt.Portfolio.from_orders(
        close, pd.DataFrame(size, index=close.index), price=open_, group_by=groups, **kwargs
    )
    value = pf.value().to_numpy()
    return time.perf_counter() - t0, value


def run_vbt_signals(bars, syms, pos) -> tuple[float, np.ndarray]:
    import vectorbt as vbt

    close, open_, flat, groups = _vbt_frames(bars, syms, pos)
    prev = np.vstack([np.zeros((1, flat.shape[1])), flat[:-1]])
    entries = np.vstack([np.zeros((1, flat.shape[1]), bool), ((flat > 0) & (prev <= 0))[:-1]])
    exits = np.vstack([np.zeros((1, flat.shape[1]), bool), ((flat <= 0) & (prev > 0))[:-1]])
    kwargs = dict(
        size=CASH / len(syms), size_type="value", fees=FEES, init_cash=CASH, cash_sharing=True,
        call_seq="auto", freq="1D",
    )  # fmt: skip
    vbt.Portfolio.from_signals(
        close.iloc[:300, :40], entries[:300, :40], exits[:300, :40], price=open_.iloc[:300, :40],
        group_by=groups[:40], **kwargs,
    ).value()  # fmt: skip
    t0 = time.perf_counter()
    pf = vbt.Portfolio.from_signals(close, entries, exits, price=open_, group_by=groups, **kwargs)
    value = pf.value().to_numpy()
    return time.perf_counter() - t0, value


PATHS = {"batch": run_batch, "vbt_orders": run_vbt_orders, "vbt_signals": run_vbt_signals}


def child(path: str, n_bars: int, n_symbols: int, out: str) -> None:
    bars, syms, pos = setup(n_bars, n_symbols)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    seconds, equity = PATHS[path](bars, syms, pos)
    np.save(out, equity)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "rss_before_mb": rss_before}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bars", type=int, default=8000)
    ap.add_argument("--symbols", type=int, help="default: 20 (part a), 500 (part c)")
    ap.add_argument("--child", choices=list(PATHS))
    ap.add_argument("--out")
    ap.add_argument("--part", choices=("a", "b", "c"), default="a")
    args = ap.parse_args()
    if args.symbols is None:
        args.symbols = 500 if args.part == "c" else 20
    if args.part != "a":
        sys.path.insert(0, str(Path(__file__).parent))
        from _universe_runs import part_b, part_c

        part_b() if args.part == "b" else part_c(args.symbols)
        return
    if args.child:
        child(args.child, args.bars, args.symbols, args.out)
        return
    print(f"{args.symbols} symbols x {args.bars} bars, {len(grid())} SMA sets pooled (1 book/set)")
    results, equity = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for path in PATHS:
            out = str(Path(tmp) / f"{path}.npy")
            cmd = [sys.executable, __file__, "--child", path, "--out", out]
            cmd += ["--bars", str(args.bars), "--symbols", str(args.symbols)]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
            results[path] = json.loads(proc.stdout.strip().splitlines()[-1])
            equity[path] = np.load(out)
    base = results["batch"]["seconds"]
    for path, r in results.items():
        ratio = r["seconds"] / base
        print(
            f"  {path:12s} {r['seconds']:8.3f} s   x{ratio:6.1f} vs batch   "
            f"peak RSS {r['peak_mb']:7.0f} MB (before the call {r['rss_before_mb']:.0f} MB)"
        )
    diff = np.max(np.abs(equity["vbt_orders"] / equity["batch"] - 1))
    sig = np.max(np.abs(equity["vbt_signals"] / equity["batch"] - 1))
    print(f"  equity batch vs vbt_orders: max relative difference {diff:.2e}")
    print(f"  equity batch vs vbt_signals (different sizing, for reference): {sig:.2e}")


if __name__ == "__main__":
    main()
