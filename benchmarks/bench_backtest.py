"""Benchmark: one SMA-crossover grid through four backtest paths, daily and 1M minute bars.

Grid: fast 5..50 step 5, slow 20..200 step 20, fast < slow (90 sets), long/flat, 0.1 % fees,
fills at the next bar's open, all equity in fractional units, 100,000 initial cash.

Paths:

* ``batch``   the project's fast path: ``SmaCross.fused_signal`` (the SMAs advanced tile by tile
              inside the simulation pass, no positions matrix) + ``backtest.evaluate_batch``
              (fused numba simulation + metrics kernel);
* ``matrix``  the positions-matrix path of user strategies: ``SmaCross.batch_positions`` (each
              distinct SMA once, a float64 ``(n_bars, 90)`` matrix) + ``evaluate_batch``;
* ``vectorbt`` the project's vectorbt path: the same positions through
              ``backtest.engine.targets_portfolio`` (vectorbt ``Portfolio.from_orders``, the
              configuration of ``run_backtest``) for all 90 columns in one call, then final
              value and Sharpe ratios from ``pf.returns()`` with ``backtest.metrics``;
* ``peer``    backtesting.py ``Backtest.optimize`` (grid, its default process pool); next-open
              fills are its default (``trade_on_close=False``), ``commission=0.001``,
              ``buy(size=0.9999)`` (its largest equity fraction; 1.0 would mean one unit) and
              ``FractionalBacktest`` (fractional units down to 1e-8); on 1M bars a sub-grid is
              run and extrapolated to 90 sets;
* ``fused``   the reference: a hand-written numba loop (``benchmarks/_fused_refs.py``), one
              independent pass per set (threads across sets) keeping both SMAs as running sums,
              with the signal, the fill, fees, equity and Sharpe/drawdown sums in that pass: the
              practical limit.

Every path runs in its own subprocess. Cold = an empty ``NUMBA_CACHE_DIR`` (every kernel
compiles, vectorbt's too); cached = the first call of a new process on the filled cache; warm =
the best of further calls in the same process (10 on daily data, 3 on minute bars, 2 for
vectorbt on daily data and none for vectorbt on minute bars).
Times are wall-clock seconds; "cpu s" is the process CPU time of the call (all threads), a
steadier measure when other jobs share the machine (the 1-minute load average is printed at the
start and the end). Peak memory is the subprocess's peak RSS (``resource.getrusage``), with the
RSS before the timed call for reference. Also measured: a 1,000-set batch on 1M bars with
positions produced in column chunks on demand, and ``research backtest`` on daily data (cold =
empty numba cache, then warm).

Usage: ``python benchmarks/bench_backtest.py [--quick] [--no-peer] [--json FILE]``;
``--kernel [--quick]`` runs only fused, batch and matrix on 300,000 minute bars for every
built-in with a fused kernel (sma_cross, rsi_reversion, bollinger, macd_momentum, donchian_atr;
a 90-set long/flat grid each, its own honest reference in ``benchmarks/_fused_refs.py``), and
vectorbt for sma_cross; prints batch/fused per strategy and vectorbt/batch (about 3 minutes);
``--exits [--quick]`` measures the exit layer instead (see ``benchmarks/bench_exits.py``).
(``--quick``: 100,000 minute bars, 200 sets for the big batch, a 1-set peer sub-grid; about
3 minutes on 2 cores. The full run takes about 10 minutes, most of it backtesting.py and
vectorbt on 1M bars).

Last measured, ``--kernel`` (2026-12-02, 2 cores shared with other jobs, load average 1.1 at
the start and 2.2 at the end; wall = the best of 3 warm calls, cpu = its process CPU time)::

    90-set grids on 300,000 synthetic minute bars, 0.1 % fee, next-open fills, long/flat; 2 cores; load average 1.1
      strategy        fused s  batch s  matrix s  batch/fused    cpu matrix/fused  final equity batch vs matrix, vs fused
      sma_cross        0.0623   0.0899    0.1931        1.44x  1.32x        3.10x  0.0e+00, 0.0e+00
      rsi_reversion    0.1238   0.1842    0.5182        1.49x  1.49x        4.19x  0.0e+00, 0.0e+00
      bollinger        0.2398   0.2561    0.5910        1.07x  1.07x        2.46x  0.0e+00, 0.0e+00
      macd_momentum    0.2154   0.1461    0.4572        0.68x  1.22x        2.12x  0.0e+00, 0.0e+00
      donchian_atr     0.8979   0.2384    2.6465        0.27x  0.26x        2.95x  0.0e+00, 0.0e+00
    vectorbt/batch (sma_cross): 204.6x (vectorbt 18.39 s), final equity batch vs vectorbt 0.0e+00

The code before the kernel changes read below (6315e35), run just before it (load average 1.9,
then 1.1), gave cpu ratios sma_cross 1.57x, rsi_reversion 1.31x, bollinger 1.38x, macd_momentum 2.52x,
donchian_atr 0.31x (wall 1.66x, 1.40x, 1.60x, 2.68x, 0.42x).

Reading: the batch path (signals inside the simulation pass) is within 1.5x of the honest
reference for every built-in in CPU time (1.1-1.5x, rsi_reversion at 1.4-1.5x over three runs;
donchian_atr 0.26x, its reference keeping four monotonic deques per set). Wall ratios of these ~0.1 s calls follow whichever process gets
both cores: two runs a few minutes apart gave sma_cross 1.52x / 0.67x, macd_momentum 1.53x /
1.00x, bollinger 2.06x / 0.91x, while the cpu ratios moved by less than 0.15. Single-threaded
(the same 90 sets one after another, best of 5, paired runs of both versions), the batch kernel
went from 1.72x to 1.35x of the sma_cross reference and from 2.6x to 1.2x of macd_momentum's
(rsi_reversion 1.74x -> 1.53x). What made the difference: the tile loop keeps the order
bookkeeping (open trade, trade counters, exposure, orders, fees) in registers and calls
``order_nb`` itself, instead of three call levels with the state arrays per order (macd trades
every ~12 bars); without an exit layer the loop is compiled with the exit branches pruned; the
EMA step skips its division by exactly 1.0 (macd's signal EMA); the blocks of a batch have
equal sizes so both threads finish together. What is left: the kernel's vectorbt-exact order
arithmetic (``order_nb``, one call per order) and its 17 metrics, and for sma_cross each block
advancing its own ~10 distinct SMAs. The matrix path of the four rule strategies is the generic
per-set ``positions()`` loop (pandas), 2-5x the reference.

Earlier full run (before the fused signals and the one-pass reference, 2 cores shared with four other jobs, load average 1.5-2.0; wall times
move by up to 2x, and by more for millisecond calls, with the load)::

    path      data   cold 1st s cached 1st s   warm s sim-only s    cpu s      bt/s  x fused x fused cpu  peak MB
    fused     daily        3.01        0.742   0.0078     0.0076    0.008   11592.8     1.00        1.00      260
    batch     daily        7.12        0.517   0.0049     0.0035    0.005   18383.1     0.63        0.63      266
    vectorbt  daily       23.14        0.429   0.1361     0.1345    0.136     661.3    17.53       17.45      518
    fused     minute                   0.479   0.4890     0.3737    0.548     184.1     1.00        1.00      453
    batch     minute                   1.761   0.7538     0.6032    0.724     119.4     1.54        1.32     1029
    vectorbt  minute                  68.551  68.5509    67.8829   67.591       1.3   140.20      123.32    10167
    peer      daily                     8.22                                   10.9     1059                  206
    peer      minute                  1326.9                                  0.068     2714                  641   (extrapolated from 2 set(s))

    batch, 1000 sets x 1,000,000 bars, chunks on demand: 11.64 s (86 backtests/s), peak RSS 467 MB
    batch vs fused on minute bars: wall 1.54x, cpu 1.32x (target <= 2x)
    research backtest (daily): cold (empty numba cache) 14.84 s, warm 2.28 s (target < 5 s)
    final equity, batch vs vectorbt and vs fused: 0.0 (daily and minute); Sharpe 1e-13

Reading: on 1M bars the batch path (positions of all 90 sets as a float64 matrix, then the
fused simulation + 17 metrics + exit-trade statistics with vectorbt's exact order arithmetic)
runs within 1.3-1.6x of the hand-written loop (which computes final equity, Sharpe and drawdown
only), ~110x faster than vectorbt's ``from_orders`` on the same 90 columns (10 GB for that
call; ~28x on daily data) and ~1,700-2,200x faster than backtesting.py's ``optimize``. On daily data both take
milliseconds: the fused row is the parallel loop waiting for the second, busy core (it measures
~1 ms when the machine is idle), the batch call runs on one thread below
``backtest.batch.PARALLEL_CELLS``. The 1,000-set batch spends most of its time computing the SMAs
of ~30 distinct windows per 16-set chunk (random sets share few windows); its memory is one
reused 128 MB chunk of positions plus the bars. backtesting.py differs by 1e-2 (daily) because it
cannot buy with all equity (``size=0.9999``) and rounds differently.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

FEES = 0.001
INIT_CASH = 100_000.0
HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))
from _fused_refs import GRIDS, REFERENCES, params  # noqa: E402


def grid(strategy: str = "sma_cross") -> list[dict[str, Any]]:
    """The 90-set grid of a built-in (``benchmarks/_fused_refs.py``)."""
    return GRIDS[strategy]


def big_grid(n_sets: int) -> list[dict[str, int]]:
    """``n_sets`` distinct feasible sets of sma_cross's declared space (fast 2..100, slow 5..400,
    fast < slow), drawn with a fixed seed: the kind of batch an optimizer sends."""
    pairs = [(f, s) for f in range(2, 101) for s in range(5, 401) if f < s]
    pick = np.random.default_rng(0).choice(len(pairs), size=n_sets, replace=False)
    return [{"fast": pairs[k][0], "slow": pairs[k][1]} for k in pick]


def load(dataset: str, n_bars: int) -> Any:
    from data_loaders import load_bars, synthetic_bars

    if dataset == "daily":
        return load_bars("sample:sp500")
    return synthetic_bars(n_bars, freq="1min", seed=0)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# --- the peer's strategy (module level: backtesting.py pickles it to its worker processes) ---------
try:
    from backtesting import Strategy as _PeerStrategy
except ImportError:  # the peer is optional; --no-peer skips it
    _PeerStrategy = object


def _peer_sma(values: Any, n: int) -> np.ndarray:
    import pandas as pd

    return pd.Series(values).rolling(n).mean().to_numpy()


class SmaCrossPeer(_PeerStrategy):  # type: ignore[misc, valid-type]
    """Long while SMA(fast) > SMA(slow), else flat; orders fill at the next open."""

    fast = 10
    slow = 30

    def init(self) -> None:
        self.ma_fast = self.I(_peer_sma, self.data.Close, self.fast)
        self.ma_slow = self.I(_peer_sma, self.data.Close, self.slow)

    def next(self) -> None:
        if self.ma_fast[-1] > self.ma_slow[-1]:
            if not self.position:
                self.buy(size=0.9999)
        elif self.position:
            self.position.close()


# --- workers (each runs in its own subprocess and prints one JSON line) ----------------------------
def _timed(fn) -> tuple[Any, float]:
    t0 = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t0


def warm_calls(bars: Any) -> int:
    """Warm calls to take the best of: more on daily data, whose calls last milliseconds and
    suffer most from other jobs sharing the machine."""
    return 10 if len(bars) < 200_000 else 3


def _calls(run, n_warm: int) -> dict:
    """``run() -> (result, {"signals_s", "simulate_s"})``: a first call, then ``n_warm`` more.

    Returns ``first`` and ``warm`` (the warm call with the least total wall time) with wall
    seconds, process CPU seconds and the RSS before the call, and the last result.
    """
    records = []
    result = None
    for _ in range(1 + n_warm):
        rss0 = current_rss_mb()
        cpu0 = time.process_time()
        result, parts = run()
        cpu = time.process_time() - cpu0
        records.append(
            {**parts, "total_s": parts["signals_s"] + parts["simulate_s"], "cpu_s": cpu,
             "rss0_mb": rss0}
        )  # fmt: skip
    warm = min(records[1:], key=lambda r: r["total_s"]) if n_warm else records[0]
    return {"first": records[0], "warm": warm, "result": result}


def worker_batch(
    bars: Any, sets: list[dict], ppy: float, fused: bool = True, strategy: str = "sma_cross"
) -> dict:
    """The project's batch path: the strategy's ``fused_signal`` (signals inside the simulation
    pass) through ``evaluate_batch``; with ``fused=False`` the positions-matrix path
    (``batch_positions`` then ``evaluate_batch``), the path of user strategies."""
    from backtest.batch import evaluate_batch
    from backtest.costs import Costs
    from strategies.registry import get_strategy

    cls = get_strategy(strategy)
    open_ = bars["open"].to_numpy(np.float64)
    close = bars["close"].to_numpy(np.float64)
    make = cls.fused_signal if fused else cls.batch_positions

    def run():
        pos, t_sig = _timed(lambda: make(bars, sets))
        res, t_sim = _timed(
            lambda: evaluate_batch(
                open_, close, pos, costs=Costs(fees=FEES), init_cash=INIT_CASH, periods_per_year=ppy
            )
        )
        return res, {"signals_s": t_sig, "simulate_s": t_sim}

    out = _calls(run, n_warm=warm_calls(bars))
    res = out.pop("result")
    out["final_equity"] = res.metrics["final_equity"].tolist()
    out["sharpe"] = res.metrics["sharpe_ratio"].tolist()
    return out


def worker_matrix(bars: Any, sets: list[dict], ppy: float, strategy: str = "sma_cross") -> dict:
    return worker_batch(bars, sets, ppy, fused=False, strategy=strategy)


def worker_vectorbt(bars: Any, sets: list[dict], ppy: float) -> dict:
    import pandas as pd

    from backtest.costs import Costs
    from backtest.engine import targets_portfolio
    from backtest.metrics import sharpe_ratio
    from strategies.registry import get_strategy

    cls = get_strategy("sma_cross")
    (_, t_import) = _timed(lambda: __import__("vectorbt"))

    def run():
        pos, t_sig = _timed(lambda: cls.batch_positions(bars, sets))

        def simulate():
            targets = pd.DataFrame(pos, index=bars.index, columns=pd.RangeIndex(len(sets)))
            # one price Series, broadcast by vectorbt across the 90 target columns
            pf = targets_portfolio(
                bars["open"], bars["close"], targets, costs=Costs(fees=FEES), init_cash=INIT_CASH
            )
            final = pf.value().iloc[-1].to_numpy()
            sharpe = sharpe_ratio(pf.returns().to_numpy(), periods_per_year=ppy)
            return final, sharpe

        result, t_sim = _timed(simulate)
        return result, {"signals_s": t_sig, "simulate_s": t_sim}

    # one 90-column call on 1M bars is several GB and ~half a minute: once is enough there
    # (the first call compiles vectorbt on an empty cache: one warm call on 300k bars)
    out = _calls(run, n_warm=0 if len(bars) > 400_000 else (1 if len(bars) > 200_000 else 2))
    final, sharpe = out.pop("result")
    out["import_s"] = t_import
    out["final_equity"] = np.asarray(final).tolist()
    out["sharpe"] = np.asarray(sharpe).tolist()
    return out


def worker_fused(bars: Any, sets: list[dict], ppy: float, strategy: str = "sma_cross") -> dict:
    """The honest fused reference of ``strategy`` (``benchmarks/_fused_refs.py``)."""
    ref = REFERENCES[strategy]
    o, h, lo, c = (bars[k].to_numpy(np.float64) for k in ("open", "high", "low", "close"))
    ip, fp = params(strategy, sets)

    def run():
        res, t_sim = _timed(lambda: ref(o, h, lo, c, ip, fp, FEES, INIT_CASH, ppy))
        return res, {"signals_s": 0.0, "simulate_s": t_sim}

    out = _calls(run, n_warm=warm_calls(bars))
    res = out.pop("result")
    out["final_equity"] = res[:, 0].tolist()
    out["sharpe"] = res[:, 1].tolist()
    return out


def worker_peer(bars: Any, sets: list[dict], ppy: float) -> dict:
    import warnings

    from backtesting.lib import FractionalBacktest

    data = bars.rename(columns=str.capitalize)[["Open", "High", "Low", "Close", "Volume"]]
    data.index = data.index.tz_localize(None)
    fasts = sorted({p["fast"] for p in sets})
    slows = sorted({p["slow"] for p in sets})
    wanted = {(p["fast"], p["slow"]) for p in sets}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = FractionalBacktest(
            data, SmaCrossPeer, cash=INIT_CASH, commission=FEES, trade_on_close=False,
            exclusive_orders=False, finalize_trades=False, fractional_unit=1e-8,
        )  # fmt: skip
        _, t = _timed(
            lambda: bt.optimize(
                fast=fasts,
                slow=slows,
                maximize="Equity Final [$]",
                return_heatmap=True,
                constraint=lambda p: (p.fast, p.slow) in wanted,
            )  # fmt: skip
        )
        # final equities of a few sets, for the agreement check (single runs)
        check = sets[: min(3, len(sets))]
        finals = [float(bt.run(**p)["Equity Final [$]"]) for p in check]
    return {
        "first": {"total_s": t, "simulate_s": t},
        "n_sets": len(sets),
        "final_equity_first": finals,
    }


def worker_batch1000(bars: Any, sets: list[dict], ppy: float) -> dict:
    from backtest.batch import default_chunk_size, evaluate_batch
    from backtest.costs import Costs
    from strategies.registry import get_strategy

    cls = get_strategy("sma_cross")
    open_ = bars["open"].to_numpy(np.float64)
    close = bars["close"].to_numpy(np.float64)
    size = default_chunk_size(len(bars))  # ~128 MB of float64 positions per chunk
    buffer = np.empty((len(bars), size), order="F")  # reused: no fresh pages per chunk

    def chunk(c0: int, c1: int) -> np.ndarray:
        return cls.batch_positions(bars, sets[c0:c1], out=buffer[:, : c1 - c0])

    rss0 = current_rss_mb()
    cpu0 = time.process_time()
    res, t = _timed(
        lambda: evaluate_batch(
            open_,
            close,
            chunk,
            n_sets=len(sets),
            chunk_size=size,
            costs=Costs(fees=FEES),
            init_cash=INIT_CASH,
            periods_per_year=ppy,
        )  # fmt: skip
    )
    return {
        "first": {"total_s": t, "cpu_s": time.process_time() - cpu0, "rss0_mb": rss0},
        "n_sets": len(sets),
        "chunk_size": size,
        "final_equity_head": res.metrics["final_equity"].head(3).tolist(),
    }


WORKERS = {
    "batch": worker_batch,
    "matrix": worker_matrix,
    "vectorbt": worker_vectorbt,
    "fused": worker_fused,
    "peer": worker_peer,
    "batch1000": worker_batch1000,
}


def run_worker(args: argparse.Namespace) -> None:
    bars = load(args.dataset, args.n_bars)
    ppy = 252.0 if args.dataset == "daily" else 252.0 * 390.0
    if args.worker == "batch1000":
        sets = big_grid(args.n_sets)
    else:
        sets = grid(args.strategy)
        if args.n_sets:
            sets = sets[: args.n_sets]
    rss_data = current_rss_mb()
    kw = {"strategy": args.strategy} if args.worker in ("batch", "matrix", "fused") else {}
    result = WORKERS[args.worker](bars, sets, ppy, **kw)
    result.update(peak_rss_mb=peak_rss_mb(), rss_after_data_mb=rss_data, n_bars=len(bars))
    print("RESULT " + json.dumps(result))


# --- orchestration -------------------------------------------------------------------------------
def spawn(worker: str, dataset: str, n_bars: int, cache_dir: str, n_sets: int = 0, strategy: str = "sma_cross") -> dict:  # fmt: skip
    """Run one worker in a fresh process on ``cache_dir`` (its numba cache); its RESULT."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    cmd = [sys.executable, str(HERE), "--worker", worker, "--dataset", dataset,
           "--n-bars", str(n_bars), "--strategy", strategy]  # fmt: skip
    if n_sets:
        cmd += ["--n-sets", str(n_sets)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - t0
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(
            f"worker {worker}/{dataset} failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
        )
    out = json.loads(lines[-1][len("RESULT ") :])
    out["process_wall_s"] = wall
    return out


def time_cli() -> dict:
    """``research backtest`` on daily data: once with an empty numba cache, then twice warm."""
    cmd = [sys.executable, "-m", "research", "backtest", "--data", "sample:sp500", "--strategy", "sma_cross",
           "--param", "fast=10", "--param", "slow=30", "--json"]  # fmt: skip
    times = []
    with tempfile.TemporaryDirectory(prefix="bench-numba-cli-") as cache_dir:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run(cmd, env=env, capture_output=True, check=True)
            times.append(time.perf_counter() - t0)
    return {"first_s": times[0], "warm_s": min(times[1:])}


def rel_diff(a: list[float], b: list[float]) -> float:
    """Largest ``|a - b| / |b|``; equal values (NaN with NaN, inf with inf) count as 0."""
    x, y = np.asarray(a, float), np.asarray(b, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.abs(x - y) / np.abs(y)
    d[(x == y) | (np.isnan(x) & np.isnan(y))] = 0.0
    return float(np.nanmax(d)) if d.size else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller run (100k minute bars)")
    parser.add_argument("--no-peer", action="store_true", help="skip backtesting.py")
    parser.add_argument("--json", default=None, help="also write the raw results to this file")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--dataset", default="daily", help=argparse.SUPPRESS)
    parser.add_argument("--n-bars", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--n-sets", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--strategy", default="sma_cross", help=argparse.SUPPRESS)
    parser.add_argument(
        "--kernel",
        action="store_true",
        help="only batch vs the fused reference vs vectorbt on 300,000 minute bars",
    )
    parser.add_argument(
        "--exits", action="store_true", help="only the exit layer (benchmarks/bench_exits.py)"
    )
    args = parser.parse_args(argv)
    if args.worker:
        run_worker(args)
        return 0
    if args.exits:  # stops in the batch path vs the plain batch path and vectorbt's stops
        sys.path.insert(0, str(HERE.parent))
        from bench_exits import main as exits_main

        return exits_main(["--minute-bars", str(100_000 if args.quick else 300_000)])

    if args.kernel:
        return kernel_ratios(100_000 if args.quick else 300_000)

    n_minute = 100_000 if args.quick else 1_000_000
    n_big = 200 if args.quick else 1000
    peer_sub = 1 if args.quick else 2
    n_grid = len(grid())
    results: dict[str, Any] = {"n_sets": n_grid, "minute_bars": n_minute}
    load0 = os.getloadavg()[0]
    results["load_start"] = load0
    print(f"SMA-cross grid: {n_grid} sets; daily = sample:sp500; minute = {n_minute:,} synthetic bars; "
          f"{os.cpu_count()} cores; load average at start {load0:.1f}", flush=True)  # fmt: skip
    steps: list[tuple[str, str, Any]] = []
    for path in ("fused", "batch", "vectorbt"):
        steps.append(
            (f"{path}/daily/cold", f"{path}: cold (empty numba cache)", (path, "daily", 0))
        )
        steps.append((f"{path}/daily/cached", f"{path}: cached", (path, "daily", 0)))
    for path in ("fused", "batch", "matrix", "vectorbt"):
        steps.append(
            (f"{path}/minute", f"{path}: {n_minute:,} minute bars", (path, "minute", n_minute))
        )
    if not args.no_peer:
        steps.append(("peer/daily", "backtesting.py: daily grid", ("peer", "daily", 0)))
        steps.append(("peer/minute", f"backtesting.py: {peer_sub}-set sub-grid on minute bars",
                      ("peer", "minute", n_minute, peer_sub)))  # fmt: skip
    steps.append(("batch1000/minute", f"batch: {n_big} sets on {n_minute:,} minute bars (chunked)",
                  ("batch1000", "minute", n_minute, n_big)))  # fmt: skip

    def save() -> None:
        if args.json:  # after every step, so a failure late in a long run loses nothing
            Path(args.json).write_text(json.dumps(results, indent=1))

    with tempfile.TemporaryDirectory(prefix="bench-numba-") as cache:
        for key, label, (worker, dataset, n_bars, *n_sets) in steps:
            print(f"  {label} ...", flush=True)
            try:
                results[key] = spawn(worker, dataset, n_bars, cache, n_sets=(n_sets or [0])[0])
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                results[key] = {"error": str(exc).strip().splitlines()[-1]}
                print(f"    FAILED: {results[key]['error']}", flush=True)
            save()
    print("  research backtest CLI ...", flush=True)
    results["cli"] = time_cli()
    results["load_end"] = os.getloadavg()[0]
    save()

    failed = {k: v["error"] for k, v in results.items() if isinstance(v, dict) and "error" in v}
    if failed:
        print("\nfailed steps (no table):")
        for key, err in failed.items():
            print(f"  {key}: {err}")
        return 1
    report(results, n_grid, n_minute, n_big, args.no_peer)
    return 0


def kernel_ratios(n_bars: int) -> int:
    """For every built-in with a fused kernel: its batch path (fused signals), its
    positions-matrix path and its honest fused reference (``benchmarks/_fused_refs.py``), and
    vectorbt for sma_cross, on ``n_bars`` minute bars, each in its own process on one shared
    numba cache (the first call compiles; the best warm call counts). Prints batch/fused per
    strategy and vectorbt/batch."""
    print(f"90-set grids on {n_bars:,} synthetic minute bars, 0.1 % fee, next-open fills, "
          f"long/flat; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"  {'strategy':<14} {'fused s':>8} {'batch s':>8} {'matrix s':>9} {'batch/fused':>12} "
          f"{'cpu':>6} {'matrix/fused':>12}  final equity batch vs matrix, vs fused")  # fmt: skip
    vbt: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-numba-") as cache:
        for strategy in GRIDS:
            r = {p: spawn(p, "minute", n_bars, cache, strategy=strategy)
                 for p in ("fused", "batch", "matrix")}  # fmt: skip
            t = {k: v["warm"]["total_s"] for k, v in r.items()}
            c = {k: v["warm"]["cpu_s"] for k, v in r.items()}
            eq = {k: v["final_equity"] for k, v in r.items()}
            print(f"  {strategy:<14} {t['fused']:>8.4f} {t['batch']:>8.4f} {t['matrix']:>9.4f} "
                  f"{t['batch'] / t['fused']:>11.2f}x {c['batch'] / c['fused']:>5.2f}x "
                  f"{t['matrix'] / t['fused']:>11.2f}x  {rel_diff(eq['batch'], eq['matrix']):.1e}, "
                  f"{rel_diff(eq['batch'], eq['fused']):.1e}", flush=True)  # fmt: skip
            if strategy == "sma_cross":
                vbt = {"batch": r["batch"], "vectorbt": spawn("vectorbt", "minute", n_bars, cache)}
    t_vbt, t_batch = vbt["vectorbt"]["warm"]["total_s"], vbt["batch"]["warm"]["total_s"]
    diff = rel_diff(vbt["batch"]["final_equity"], vbt["vectorbt"]["final_equity"])
    print(f"vectorbt/batch (sma_cross): {t_vbt / t_batch:.1f}x (vectorbt {t_vbt:.2f} s), "
          f"final equity batch vs vectorbt {diff:.1e}")  # fmt: skip
    print(f"load average at end {os.getloadavg()[0]:.1f}")
    return 0


def report(r: dict, n_grid: int, n_minute: int, n_big: int, no_peer: bool) -> None:
    print()
    header = (f"{'path':<9} {'data':<6} {'cold 1st s':>10} {'cached 1st s':>12} {'warm s':>8} "
              f"{'sim-only s':>10} {'cpu s':>8} {'bt/s':>9} {'x fused':>8} {'x fused cpu':>11} {'peak MB':>8}")  # fmt: skip
    print(header)
    print("-" * len(header))

    def row(path: str, data: str, cold: str, entry: dict, base: dict) -> None:
        first, warm = entry["first"], entry["warm"]
        print(f"{path:<9} {data:<6} {cold:>10} {first['total_s']:>12.3f} {warm['total_s']:>8.4f} "
              f"{warm['simulate_s']:>10.4f} {warm['cpu_s']:>8.3f} {n_grid / warm['total_s']:>9.1f} "
              f"{warm['total_s'] / base['total_s']:>8.2f} {warm['cpu_s'] / base['cpu_s']:>11.2f} "
              f"{entry['peak_rss_mb']:>8.0f}")  # fmt: skip

    fused_daily = r["fused/daily/cached"]["warm"]
    fused_minute = r["fused/minute"]["warm"]
    for path in ("fused", "batch", "vectorbt"):
        cold = f"{r[f'{path}/daily/cold']['first']['total_s']:.2f}"
        row(path, "daily", cold, r[f"{path}/daily/cached"], fused_daily)
    for path in ("fused", "batch", "matrix", "vectorbt"):
        row(path, "minute", "", r[f"{path}/minute"], fused_minute)
    if not no_peer:
        d = r["peer/daily"]
        t = d["first"]["total_s"]
        print(f"{'peer':<9} {'daily':<6} {'':>10} {t:>12.2f} {'':>8} {'':>10} {'':>8} {n_grid / t:>9.1f} "
              f"{t / fused_daily['total_s']:>8.0f} {'':>11} {d['peak_rss_mb']:>8.0f}")  # fmt: skip
        m = r["peer/minute"]
        t_set = m["first"]["total_s"] / m["n_sets"]
        t90 = t_set * n_grid
        print(f"{'peer':<9} {'minute':<6} {'':>10} {t90:>12.1f} {'':>8} {'':>10} {'':>8} {1 / t_set:>9.3f} "
              f"{t90 / fused_minute['total_s']:>8.0f} {'':>11} {m['peak_rss_mb']:>8.0f}"
              f"   (extrapolated from {m['n_sets']} set(s))")  # fmt: skip
    print(
        "(peer rows: one Backtest.optimize call in a fresh process, its process pool included; "
        "vectorbt minute: one call)"
    )
    big = r["batch1000/minute"]
    print(f"\nbatch, {n_big} sets x {n_minute:,} bars, positions made in chunks on demand: "
          f"{big['first']['total_s']:.2f} s ({n_big / big['first']['total_s']:.0f} backtests/s, "
          f"cpu {big['first']['cpu_s']:.2f} s), peak RSS {big['peak_rss_mb']:.0f} MB "
          f"(target < 2048 MB)")  # fmt: skip
    b = r["batch/minute"]["warm"]
    f = fused_minute
    print(
        f"batch vs fused on minute bars: wall {b['total_s'] / f['total_s']:.2f}x, "
        f"cpu {b['cpu_s'] / f['cpu_s']:.2f}x (simulate+metrics only, wall "
        f"{b['simulate_s'] / f['simulate_s']:.2f}x); target <= 2x"
    )
    print(
        f"research backtest (daily, sample:sp500): cold (empty numba cache) {r['cli']['first_s']:.2f} s, "
        f"warm {r['cli']['warm_s']:.2f} s (target < 5 s)"
    )
    print(f"load average: {r['load_start']:.1f} at start, {r['load_end']:.1f} at end")
    print("\nagreement over the 90 sets (max relative difference):")
    for data in ("daily", "minute"):
        key = "daily/cached" if data == "daily" else "minute"
        batch = r[f"batch/{key}"]
        vbt, fused = r[f"vectorbt/{key}"], r[f"fused/{key}"]
        print(f"  {data:<7} final equity: batch vs vectorbt {rel_diff(batch['final_equity'], vbt['final_equity']):.1e}, "
              f"batch vs fused {rel_diff(batch['final_equity'], fused['final_equity']):.1e}; "
              f"Sharpe: batch vs vectorbt {rel_diff(batch['sharpe'], vbt['sharpe']):.1e}, "
              f"batch vs fused {rel_diff(batch['sharpe'], fused['sharpe']):.1e}")  # fmt: skip
        if not no_peer:
            peer = r[f"peer/{data}"]["final_equity_first"]
            print(f"          final equity: batch vs backtesting.py (first {len(peer)} sets, 0.9999 sizing) "
                  f"{rel_diff(batch['final_equity'][: len(peer)], peer):.1e}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
