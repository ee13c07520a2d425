"""Benchmark: walk-forward hyperparameter search with TPE, CMA-ES, DEAP GA and random search.

Same data (the bundled daily S&P 500 sample, 5,031 bars 1999-2018), same strategy
(``sma_cross``: fast 2..100, slow 5..400, fast < slow), same costs (0.1 % fees, next-open
fills), same folds (``WalkForward(train="5Y", test="5Y")``: 3 folds), same budget per fold and
the same seed for every optimizer, one worker, SQLite storage in a temporary run folder.

Part 1, **optimizers** (``--trials``, default 1,000 per fold): per optimizer

* ``oos_sharpe``  annualised Sharpe ratio of the stitched out-of-sample returns;
* ``is_best``     mean over folds of the best in-sample objective found;
* ``wall``        seconds of the whole ``walk_forward_optimize`` call;
* ``eval``        seconds spent evaluating trials (batch path: positions + fused simulation);
* ``overhead/trial`` milliseconds per trial outside evaluation (everything the optimizer and the
  driver add: proposing, telling, recording, bookkeeping);
* ``ask``         share of wall time in the optimizer's own proposal step (Optuna sampler and
  ``suggest``; DEAP breeding and decoding) - the algorithm's cost, which grows with the trials
  seen for TPE;
* ``bookkeeping`` share of wall time in the driver around it: telling outcomes, writing every
  trial to the RDB, batching, progress, and the fold's judgement (target: < 20 %).

Part 2, **pruning** (``--prune-trials``, default 300 per fold, ``--seeds``): TPE without pruning
vs TPE + Hyperband over growing data fractions (1/8, 1/4, 1/2, all of each train window,
reduction factor 3 and 2) over several seeds: bars simulated (the cost unit: every step of a
trial re-simulates its prefix), trials run to the full window, best in-sample objective and
stitched OOS Sharpe. "Saved" = 1 - bars simulated / bars of the same trials without pruning.

Usage: ``python benchmarks/bench_optimize.py [--trials N] [--prune-trials N] [--seeds K]
[--quick] [--json FILE]`` (``--quick``: 200 trials, 100 pruning trials, 2 seeds).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from typing import Any

import numpy as np

OPTIMIZERS = ("tpe", "cmaes", "ga", "random")
SEED = 7


def _search(bars: Any, run_dir: str, **kw: Any) -> tuple[Any, float]:
    from backtest.splitters import WalkForward
    from research.optimize import walk_forward_optimize

    t0 = time.perf_counter()
    res = walk_forward_optimize(
        "sma_cross",
        bars,
        splitter=WalkForward(train="5Y", test="5Y"),
        run_dir=run_dir,
        progress=False,
        **kw,
    )
    return res, time.perf_counter() - t0


def _best_is(res: Any) -> float:
    t = res.trials[res.trials["feasible"]]
    return float(t.groupby("fold")["value"].max().mean())


def _oos_sharpe(res: Any) -> float:
    return float(res.oos_metrics().get("sharpe_ratio", np.nan))


def part_optimizers(bars: Any, trials: int, tmp: str) -> list[dict[str, Any]]:
    rows = []
    for name in OPTIMIZERS:
        res, wall = _search(bars, f"{tmp}/{name}", optimizer=name, n_trials=trials, seed=SEED)
        n = res.n_trials
        parts = {
            k: sum(f.timings[k] for f in res.folds)
            for k in ("ask", "eval", "tell", "store", "other")
        }
        search = sum(f.seconds for f in res.folds)
        judge = wall - search  # setup, the picks' IS/OOS judgement, stitching
        bookkeeping = parts["tell"] + parts["store"] + parts["other"] + judge
        rows.append(
            {
                "optimizer": name,
                "trials": n,
                "oos_sharpe": _oos_sharpe(res),
                "is_best": _best_is(res),
                "wall_s": wall,
                "eval_s": parts["eval"],
                "overhead_ms_per_trial": 1e3 * (wall - parts["eval"]) / n,
                "ask_share": parts["ask"] / wall,
                "eval_share": parts["eval"] / wall,
                "bookkeeping_share": bookkeeping / wall,
                "store_ms_per_trial": 1e3 * parts["store"] / n,
                "tell_ms_per_trial": 1e3 * parts["tell"] / n,
                "ask_ms_per_trial": 1e3 * parts["ask"] / n,
                "eval_ms_per_trial": 1e3 * parts["eval"] / n,
            }
        )
        print(_fmt_opt(rows[-1]), flush=True)
    return rows


def part_pruning(bars: Any, trials: int, seeds: int, tmp: str) -> list[dict[str, Any]]:
    configs = [
        ("tpe", {}),
        ("tpe+hyperband rf=3", {"pruner": "hyperband", "reduction_factor": 3}),
        ("tpe+hyperband rf=2", {"pruner": "hyperband", "reduction_factor": 2}),
    ]
    rows = []
    for label, kw in configs:
        stats = []
        for s in range(seeds):
            res, wall = _search(
                bars, f"{tmp}/p-{label}-{s}".replace(" ", "_"), optimizer="tpe",
                n_trials=trials, seed=100 + s, **kw,
            )  # fmt: skip
            t = res.trials
            stats.append(
                {
                    "bars": sum(f.evaluated_bars for f in res.folds),
                    "full_bars": sum(f.full_bars for f in res.folds),
                    "full_evals": int(((t["state"] == "complete") & (t["step"] > 0)).sum()),
                    "evaluated": int((t["step"] > 0).sum()),
                    "pruned": int((t["state"] == "pruned").sum()),
                    "is_best": _best_is(res),
                    "oos_sharpe": _oos_sharpe(res),
                    "wall_s": wall,
                    "eval_s": sum(f.eval_seconds for f in res.folds),
                }
            )
        agg = {k: float(np.mean([s[k] for s in stats])) for k in stats[0]}
        rows.append({"config": label, "seeds": seeds, **agg})
    base = rows[0]
    for row in rows:
        row["bars_vs_no_pruning"] = row["bars"] / base["bars"]
        row["saved"] = 1.0 - row["bars"] / row["full_bars"]
        print(_fmt_prune(row), flush=True)
    return rows


def _fmt_opt(r: dict[str, Any]) -> str:
    return (
        f"{r['optimizer']:<7} trials {r['trials']:>5}  OOS Sharpe {r['oos_sharpe']:6.3f}  "
        f"IS best {r['is_best']:6.3f}  wall {r['wall_s']:7.2f} s  eval {r['eval_s']:6.2f} s  "
        f"overhead {r['overhead_ms_per_trial']:6.2f} ms/trial (ask {r['ask_ms_per_trial']:.2f}, "
        f"tell {r['tell_ms_per_trial']:.2f}, store {r['store_ms_per_trial']:.2f})  "
        f"shares: ask {r['ask_share']:5.1%} eval {r['eval_share']:5.1%} "
        f"bookkeeping {r['bookkeeping_share']:5.1%}"
    )


def _fmt_prune(r: dict[str, Any]) -> str:
    return (
        f"{r['config']:<20} bars simulated {r['bars']:>11,.0f} ({r['bars_vs_no_pruning']:.2f}x "
        f"no pruning; saved {r['saved']:5.1%} of its trials' full cost)  full evaluations "
        f"{r['full_evals']:6.0f}/{r['evaluated']:.0f}  pruned {r['pruned']:5.0f}  "
        f"IS best {r['is_best']:.3f}  OOS Sharpe {r['oos_sharpe']:.3f}  wall {r['wall_s']:.1f} s "
        f"(eval {r['eval_s']:.1f} s)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=1000, help="trials per fold, part 1")
    ap.add_argument("--prune-trials", type=int, default=300, help="trials per fold, part 2")
    ap.add_argument("--seeds", type=int, default=3, help="seeds averaged in part 2")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--skip", choices=("optimizers", "pruning"), default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if args.quick:
        args.trials, args.prune_trials, args.seeds = 200, 100, 2

    import data_loaders

    bars = data_loaders.load_bars("sample:sp500")
    tmp = tempfile.mkdtemp(prefix="bench-optimize-")
    load0 = os.getloadavg()
    print(
        f"data: sample:sp500, {len(bars)} daily bars; folds WalkForward(5Y, 5Y); "
        f"{os.cpu_count()} cores, load average {load0[0]:.1f} at start"
    )
    try:
        _search(bars, f"{tmp}/warmup", optimizer="tpe", n_trials=8)  # imports, numba caches
        out: dict[str, Any] = {"cpu_count": os.cpu_count(), "loadavg_start": load0}
        if args.skip != "optimizers":
            print(f"\n== optimizers: {args.trials} trials per fold, seed {SEED}, 1 worker ==")
            out["optimizers"] = part_optimizers(bars, args.trials, tmp)
        if args.skip != "pruning":
            print(
                f"\n== pruning: TPE, {args.prune_trials} trials per fold, mean of "
                f"{args.seeds} seeds =="
            )
            out["pruning"] = part_pruning(bars, args.prune_trials, args.seeds, tmp)
        out["loadavg_end"] = os.getloadavg()
        print(f"\nload average at end: {out['loadavg_end'][0]:.1f} (the machine is shared)")
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(out, fh, indent=2, default=float)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
