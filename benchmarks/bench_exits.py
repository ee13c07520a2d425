"""Benchmark: the exit layer in the fused batch path, against the plain batch path and vectorbt.

Grid: the 90 SMA-crossover sets of ``bench_backtest.py`` (fast 5..50 step 5, slow 20..200 step
20, fast < slow), long/flat, fills at the next open, 0.1 % fees; set ``k`` also carries a
stop-loss and a take-profit from a 10 x 9 grid (stop 1..10, target 2..18 median bar ranges: on
the daily sample about 1.3..13 % and 2.6..23 %), so every column has its own stop levels.

Paths, all in this process, on the same positions:

* ``plain``    ``evaluate_batch`` without exits (the reference cost);
* ``exits``    ``evaluate_batch(..., exits=[Exits(stop_loss=, take_profit=, entry_bar=False)])``;
* ``vectorbt`` ``Portfolio.from_signals`` with ``sl_stop``/``tp_stop`` arrays (one value per
               column; the conventions of ``entry_bar=False``), then its final value and returns.

Times are the best of as many consecutive warm calls for each path (kernels compiled before
timing; alternating the paths call by call would time ours on caches vectorbt just flushed):
wall clock seconds and process CPU seconds; both batch paths run on one thread (``n_threads=1``, as vectorbt), and the
ratios are of CPU time, steadier than wall time when other jobs share the machine.
Targets: ``exits / plain <= 1.5`` and ``vectorbt / exits >= 20``. Also printed: the share of
columns whose final equity agrees with vectorbt to 1e-9 (the rest differ where a signal exit at
the open meets a stop inside the same bar; see ``tests/backtest/test_exits_peers.py``).

Last measured (2026-12-02, 2 cores, quiet: load average 0.9; three runs of the command, the first
with the minute bars)::

    data     bars    sets  plain cpu  exits cpu  vectorbt cpu  exits/plain  vectorbt/exits
    daily    5031    90    0.0023     0.0034     0.0625        1.44-1.46    16.5-18.6
    minute   100000  90    0.0574     0.0855     3.332         1.49         39.0

Reading: exits/plain is met on both (at 1.49 on minute bars, where the plain path got faster
when its loop was compiled without the exit branches); vectorbt/exits is met on minute bars
(39x) but not on daily bars (16.5-18.6x; CPU times of a 3 ms call move by 10-15 % between
processes). History: 3.9 ms -> 3.35 ms per daily call from an intrabar hit filled on the tile
loop's registers (no state arrays synced around it, no three call levels per hit) and half the
Python around the kernel (148 -> 62 us plain, 290 -> 149 us with exits). Tried without gain (A/B
in alternating processes): inlining the exit step functions (``inline="always"``: 24.5-25.6x,
but numba's compile time of every batch kernel tripled, reverted), one call for the exit update
and its bounds after an order, the bounds and the cache returned by the hit helper (slower), and
holding five bounds across the bar loop instead of the nine-number cache (slower). Without the
two per-bar range tests at all the daily grid still takes ~3.1 ms: the rest is the exit-aware
loop itself and the per-order exit update. Later the same day (a busy machine, load 3-5, plain
~5-11 ms per daily call instead of 2.3, so no ratio was re-measured): ``exit_table`` builds the
90 parameter rows with one concatenation instead of ``np.stack`` (~2.3x cheaper, about 35 us of
the 149). Tried, kept on branch ``exits20-registers``: the exit state and parameters as tuples
in the tile loop's registers, the step functions taking and returning them (no array, so no
reference counts around the calls, and LLVM inlines them into the loop; bit-identical, cold
compile unchanged at ~41-45 s on that machine), but in-process A/B of the kernel alone
(``simulate_block_nb`` over the 90 sets, alternating processes) showed exits - plain 0.95 ms
before, 0.93 ms after: no gain measurable there.

Usage: ``python benchmarks/bench_exits.py [--minute-bars N]`` (default 100,000 synthetic minute
bars besides the daily sample; ``--minute-bars 0`` skips them).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import pandas as pd

FEES = 0.001


def sma_positions(close: np.ndarray) -> np.ndarray:
    """``(n_bars, 90)`` long/flat targets of the SMA grid."""
    s = pd.Series(close)
    means = {w: s.rolling(w).mean().to_numpy() for w in range(5, 220, 5)}
    cols = [means[f] > means[sl] for f in range(5, 55, 5) for sl in range(20, 220, 20) if f < sl]
    return np.ascontiguousarray(np.stack(cols, axis=1).astype(np.float64))


def stop_grid(n: int, unit: float) -> tuple[np.ndarray, np.ndarray]:
    """Stops of 1..10 and targets of 2..18 median bar ranges (``unit``, a fraction of price)."""
    sl = np.repeat(np.linspace(1, 10, 10) * unit, 9)[:n]
    tp = np.tile(np.linspace(2, 18, 9) * unit, 10)[:n]
    return sl, tp


def best_of(fns: dict[str, Any], repeats: int) -> tuple[dict[str, Any], dict, dict]:
    """Each function's last result and its best wall and CPU (process) seconds over ``repeats``
    consecutive calls (every path gets the same number of tries)."""
    out: dict[str, Any] = {}
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for name, fn in fns.items():
        walls, cpus = [], []
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            out[name] = fn()
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        wall[name], cpu[name] = min(walls), min(cpus)
    return out, wall, cpu


def measure(bars: pd.DataFrame, label: str, repeats: int) -> dict:
    import vectorbt as vbt

    from backtest import Costs, Exits, evaluate_batch

    o, h, lo, c = (bars[k].to_numpy(np.float64) for k in ("open", "high", "low", "close"))
    pos = sma_positions(c)
    sl, tp = stop_grid(pos.shape[1], float(np.median((h - lo) / c)))
    exits = [Exits(stop_loss=a, take_profit=b, entry_bar=False) for a, b in zip(sl, tp)]
    costs = Costs(fees=FEES)

    def plain() -> Any:
        return evaluate_batch(o, c, pos, costs=costs, n_threads=1)

    def with_exits() -> Any:
        return evaluate_batch(o, c, pos, costs=costs, high=h, low=lo, exits=exits, n_threads=1)

    change = np.diff(pos, axis=0, prepend=0.0)
    entries = np.vstack([np.zeros((1, pos.shape[1]), bool), change[:-1] > 0])
    leaves = np.vstack([np.zeros((1, pos.shape[1]), bool), change[:-1] < 0])

    def peer() -> Any:
        pf = vbt.Portfolio.from_signals(
            close=c[:, None], entries=entries, exits=leaves, open=o[:, None], high=h[:, None],
            low=lo[:, None], price=o[:, None], fees=FEES, init_cash=100_000.0,
            sl_stop=sl[None, :], tp_stop=tp[None, :], stop_entry_price="price",
            stop_exit_price="stopmarket", freq=None,
        )  # fmt: skip
        return pf.final_value().to_numpy(), pf.returns().to_numpy()

    plain(), with_exits()  # compile
    out, wall, cpu = best_of({"plain": plain, "exits": with_exits, "vectorbt": peer}, repeats)
    res, (final, _) = out["exits"], out["vectorbt"]
    w_plain, w_exits, w_peer = wall["plain"], wall["exits"], wall["vectorbt"]
    c_plain, c_exits, c_peer = cpu["plain"], cpu["exits"], cpu["vectorbt"]
    agree = np.isclose(res.metrics.final_equity.to_numpy(), final, rtol=1e-9, atol=0)
    return {
        "data": label,
        "bars": len(c),
        "sets": pos.shape[1],
        "plain s": w_plain,
        "exits s": w_exits,
        "vectorbt s": w_peer,
        "plain cpu": c_plain,
        "exits cpu": c_exits,
        "vectorbt cpu": c_peer,
        "exits/plain": c_exits / c_plain,
        "vectorbt/exits": c_peer / c_exits,
        "agree 1e-9": f"{int(agree.sum())}/{len(agree)}",
        "stop exits": int(res.exit_reasons[["stop", "target"]].to_numpy().sum()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minute-bars", type=int, default=100_000)
    args = parser.parse_args(argv)
    from data_loaders import load_bars, synthetic_bars

    rows = [measure(load_bars("sample:sp500"), "daily", 15)]
    if args.minute_bars:
        rows.append(measure(synthetic_bars(args.minute_bars, freq="1min", seed=0), "minute", 3))
    table = pd.DataFrame(rows).set_index("data")
    with pd.option_context("display.width", 200, "display.float_format", "{:.4g}".format):
        print(table.to_string())
    for row in rows:
        print(
            f"{row['data']}: exits / plain = {row['exits/plain']:.2f}x cpu (target <= 1.5), "
            f"vectorbt / exits = {row['vectorbt/exits']:.1f}x cpu (target >= 20)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
