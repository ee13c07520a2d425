"""Benchmark: walk-forward hyperparameter search with TPE, CMA-ES, DEAP GA and random search.

Same data (the bundled daily S&P 500 sample, 5,031 bars 1999-2018), same costs (0.1 % fees,
next-open fills), same folds (``WalkForward(train="5Y", test="5Y")``: 3 folds), same budget per
fold and the same seed for every optimizer, one worker, SQLite storage in a temporary run
folder. Strategies (``--strategies``): ``sma_cross`` (2 parameters, fast < slow; its batch path
evaluates a trial in ~0.1-0.4 ms, so it is the worst case for overhead shares) and
``donchian_atr`` (6 parameters; ~2-3 ms per trial, closer to a typical strategy).

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
reduction factor 3 and 2) over several seeds: bars simulated (the cost unit: a promoted trial
continues its saved simulation, so a trial run to the end costs its window once and a trial
pruned at 1/8 costs 1/8 of it), trials run to the full window, best in-sample objective and
stitched OOS Sharpe. "Saved" = 1 - bars simulated / bars of the same trials without pruning;
"to reach" = bars simulated until the running best of every fold first equals the final best of
the no-pruning run with the same seed, as a share of that run's bars (evaluations at equal final
quality; "never" when the pruned run does not get there).

Usage: ``python benchmarks/bench_optimize.py [--trials N] [--prune-trials N] [--seeds K]
[--quick] [--json FILE]`` (``--quick``: 200 trials, 100 pruning trials, 2 seeds).

Last measured (defaults, 2 cores shared with other jobs, load average 1.1-1.6; wall times move
by up to 2x with the load)::

    sma_cross     trials  OOS Sharpe  wall s  eval s  overhead ms/trial  ask  bookkeeping
    tpe             3000       0.514    22.9    0.54               7.46  91%         6.4%
    cmaes           3000       0.536    11.9    0.92               3.66  71%        20.8%
    ga              3000       0.501     1.9    0.33               0.52  13%        69.8%
    random          3000       0.475     3.3    0.42               0.94  35%        52.2%
    donchian_atr
    tpe             3000       0.112    60.2    2.50              19.23  93%         3.2%
    cmaes           3000       0.074    18.7    4.83               4.62  59%        14.9%
    ga              3000       0.106     6.2    4.09               0.69   5%        28.2%
    random          3000       0.031     6.9    2.42               1.49  32%        33.3%

    (before resumable simulations; the pruning rows below are superseded by the next block)
    pruning (TPE, 300 trials/fold, 3 seeds)   bars   to reach no-pruning's best  IS best  OOS
    no pruning                                1.00x  0.75 / 0.66 / 0.74             0.789  0.436
    hyperband rf=3                            0.96x  0.61 / 0.53 / 0.58             0.816  0.519
    hyperband rf=2                            1.07x  never (one fold short)         0.802  0.469

Pruning with resumed simulations (a promoted trial continues its saved state, backtest.resume;
``--skip optimizers --prune-trials 300 --seeds 2``, load average 8.5-10.2; measured after the
study names stopped carrying the defaulted new Costs fields, which moved Hyperband's brackets)::

    config               bars   to reach no-pruning's best  eq.-quality ratio  IS best  OOS  eval s
    no pruning           1.00x  0.75 / 0.66                 1.33x / 1.51x      0.795  0.452    0.8
    hyperband rf=3       0.65x  0.42 / 0.37                 2.39x / 2.73x      0.816  0.526    3.2
    hyperband rf=2       0.74x  never / never               -                  0.815  0.501    3.4

rf=3 (the default since) reaches the no-pruning run's exact final best in every fold with 2.4-2.7x
fewer simulated bars on these two seeds (1.8x fewer than no pruning itself needed to first reach
it), and a higher OOS Sharpe. Over more seeds it is not certain: seeds 100-105 gave 2.39x, 2.73x,
2.53x, never, never, 2.21x (the two misses end 0.001 and 0.011 short of the target in one fold;
with 600 trials one of them reaches it at 1.93x); rf=2 reached it on 1 of 6 seeds, rf=4 and
checks at 1/9 and 1/3 of the window (steps in ninths) on fewer. Which trial lands in which
bracket is Optuna's ``crc32(study name, number)``, so any change of the study name reshuffles
the pruning: read the per-seed figures, not one seed. The eval seconds rise (3.2 vs 0.8 s): the
no-pruning path computes sma_cross's signals inside the simulation pass, while a resumable step
recomputes the positions of its whole prefix (indicator state is not saved); here the TPE
proposal step dominates the wall time either way.

Bookkeeping after batch ask/tell (random search drawn without an Optuna study, the TPE sampler
reseeded instead of rebuilt per ask, the cyclic GC paused during a fold's search, a study's
attributes in one transaction, a new SQLite file created in WAL mode, every optimizer warmed up;
``--skip pruning --strategies sma_cross --trials 1000``, before = c735f17 right after, a quiet
machine: load average 0.8)::

    sma_cross   before: wall s  overhead ms/trial  bookkeeping   after: wall s  ms/trial  bookk.
    tpe                 10.47               3.34         6.3%             9.60      3.12    5.7%
    cmaes                3.90               1.18        18.1%             3.93      1.17   17.1%
    ga                   0.59               0.17        76.2%             0.55      0.15   73.2%
    random               1.27               0.38        54.9%             0.53      0.14   67.8%

Results are unchanged (same OOS Sharpe and IS best per optimizer). Random search's own cost per
trial fell from 0.15 to 0.02 ms (ask) and 0.04 to 0.01 ms (tell), its run from 1.27 to 0.53 s;
under load (load average 4-6) the GA ran 1.60 -> 0.53 s and CMA-ES 11.3 -> 4.0 s, mostly the
paused GC and fewer disk syncs. But the fused batch path evaluates a sma_cross trial in 30-40 us,
so the ~0.1 ms per trial the GA and random search still add is two thirds of their wall time:
writing a trial's 15-20 rows to SQLite alone costs ~50 us, and a run's new database, its studies
and the per-fold trials table ~0.1-0.2 s. Under 10 % would need trials of >= ~1 ms
(donchian_atr's are 2-3 ms) or the records written outside the search loop.

Then (a337e1a): a new SQLite file's tables are created with ``synchronous=NORMAL`` from the first
connection (a connection factory) and the ``trials`` rows go in as raw text: opening a new run's
storage 126-134 -> 33-45 ms, a 1,000-trial batch insert unchanged at 112-116 ms (about a third
of it JSON-encoding each trial's metrics and bookkeeping, then Python building the rows). Two interleaved runs of the command above
(load average 3.5-4.0, so wall times move by up to 1.5x)::

    sma_cross   bookkeeping before (9ea91f1)   after (a337e1a)   wall s before     after
    tpe                       9.1% /  6.0%       5.7% /  5.4%    21.39 / 18.58   11.52 / 21.36
    cmaes                    18.7% / 16.2%      18.5% / 16.9%     4.81 /  9.41    6.06 /  7.15
    ga                       80.4% / 77.5%      70.4% / 72.0%     0.91 /  1.20    1.12 /  0.90
    random                   77.3% / 67.1%      69.3% / 69.0%     1.19 /  1.33    0.71 /  0.82

Writes were already batched (one transaction per ``FLUSH_SECONDS``/``FLUSH_TRIALS``, see
``research.optimize._search``); what is left per trial is Python: ~110 us to insert its rows,
~10 us for its row of the trials table, ~7 us for its seed (``SeedSequence``), plus building,
telling and validating its ``FrozenTrial``, against 30-60 us to evaluate it; under 10 % for the
GA and random search on sma_cross would need the per-trial record itself to shrink (fewer rows,
no per-trial metrics JSON), a storage-format change not made here.

Reading (before the changes above): recording a trial costs ~0.25-0.3 ms (about 18 rows in SQLite), telling it ~0.1 ms.
That meets the < 20 % bookkeeping target when the optimizer's own proposal dominates (TPE,
CMA-ES) or an evaluation takes >= ~2 ms; the GA and random search on these strategies evaluate a
trial in 0.1-1.4 ms through the batch path, so there the fixed per-trial recording is 28-70 %
of a run that takes 2-7 s for 3,000 trials.

Last measured, bookkeeping after trial record format 2 (:mod:`research.optimize.storage`): a
trial's metrics and bookkeeping are one columnar row per written batch (``qr_trial_batches``,
floats in binary) instead of ~15 Optuna attribute rows of JSON; seed, fold, data fingerprint and code version are the study's
attributes only; DEAP and random search build their ``FrozenTrial`` without Optuna's validation
and share one timestamp per batch; Optuna's told trials are not deep-copied (``tell_shallow``);
a new SQLite file is a copy of the process's empty template database; a new study and its
attributes are one Core transaction, and a new study is not read back; the trials table is built
column by column and the pick with numpy; the cyclic GC stays paused until the result is
assembled. Two interleaved before/after pairs of ``--skip pruning --strategies sma_cross
--trials 1000`` (before = main at e50a878, load average 2.0-2.1; same OOS Sharpe and IS best,
``check_leaderboards.py``: 8 of 8 identical)::

    sma_cross   bookkeeping before     after          wall s before     after
    tpe                  5.5% / 5.6%    2.9% / 2.9%    11.11 / 10.23    11.73 / 10.38
    cmaes               17.1% / 16.0%  10.4% / 10.6%    4.64 /  4.78     4.14 /  4.16
    ga                  75.4% / 74.8%  52.5% / 52.3%    0.62 /  0.58     0.36 /  0.36
    random              69.7% / 69.6%  48.4% / 52.1%    0.52 /  0.65     0.44 /  0.32

The GA and random search run in ~60 % of the time, but their bookkeeping is still half of it:
what is left is Python per trial across the driver's layers, each a few microseconds (a GA
trial, 3,000 per run: writing ~20 us, the driver's outcome and bookkeeping ~15 us, the trials
table ~10 us, telling ~8 us) plus ~30-50 ms per run (new database, three studies, the picks'
judgement), against ~35 us to evaluate and ~7 us to ask. Under 10 % needs the batch path to stay
columnar from the kernel's metrics matrix to the record (no per-trial dicts, outcomes or frozen
trials for optimizers that do not need them), not a cheaper row format.
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


def _search(bars: Any, run_dir: str, strategy: str = "sma_cross", **kw: Any) -> tuple[Any, float]:
    from backtest.splitters import WalkForward
    from research.optimize import walk_forward_optimize

    t0 = time.perf_counter()
    res = walk_forward_optimize(
        strategy,
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


def part_optimizers(bars: Any, trials: int, strategy: str, tmp: str) -> list[dict[str, Any]]:
    rows = []
    for name in OPTIMIZERS:
        res, wall = _search(
            bars, f"{tmp}/{strategy}-{name}", strategy, optimizer=name, n_trials=trials, seed=SEED
        )
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
                "strategy": strategy,
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


def _bars_to_reach(res: Any, targets: dict[int, float], window: dict[int, int]) -> float:
    """Bars simulated until every fold's running best reaches its target (inf if never)."""
    total = 0.0
    for fold, target in targets.items():
        t = res.trials[res.trials["fold"] == fold].sort_values("number")
        cost = (t["cost"] * window[fold]).cumsum().to_numpy()
        ok = (t["state"] == "complete") & t["feasible"]
        best = t["value"].where(ok).cummax().to_numpy()
        hit = np.flatnonzero(best >= target - 1e-12)
        if not len(hit):
            return float("inf")
        total += cost[hit[0]]
    return total


def part_pruning(bars: Any, trials: int, seeds: int, tmp: str) -> list[dict[str, Any]]:
    configs = [
        ("tpe", {}),
        ("tpe+hyperband rf=3", {"pruner": "hyperband", "reduction_factor": 3}),
        ("tpe+hyperband rf=2", {"pruner": "hyperband", "reduction_factor": 2}),
    ]
    rows = []
    baseline: dict[int, tuple[dict[int, float], float]] = {}
    for label, kw in configs:
        stats = []
        for s in range(seeds):
            res, wall = _search(
                bars, f"{tmp}/p-{label}-{s}".replace(" ", "_"), optimizer="tpe",
                n_trials=trials, seed=100 + s, **kw,
            )  # fmt: skip
            t = res.trials
            window = {f.fold: len(f.train_range) for f in res.folds}
            bars_used = sum(f.evaluated_bars for f in res.folds)
            if not kw:  # the baseline: its final best per fold, and what it cost
                best = t[t["feasible"]].groupby("fold")["value"].max().to_dict()
                baseline[s] = (best, bars_used)
            targets, base_bars = baseline[s]
            stats.append(
                {
                    "bars": bars_used,
                    "full_bars": sum(f.full_bars for f in res.folds),
                    "bars_to_baseline_best": _bars_to_reach(res, targets, window) / base_bars,
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
        agg["bars_to_baseline_best_each"] = [s["bars_to_baseline_best"] for s in stats]
        rows.append({"config": label, "seeds": seeds, **agg})
    base = rows[0]
    for row in rows:
        row["bars_vs_no_pruning"] = row["bars"] / base["bars"]
        row["saved"] = 1.0 - row["bars"] / row["full_bars"]
        # simulated-bars ratio at equal quality, per seed: the no-pruning run's bars over the
        # bars this run needed to reach the no-pruning run's final best (each fold); and the
        # stricter one against the bars no-pruning itself needed to first reach that best
        own = base["bars_to_baseline_best_each"]
        row["equal_quality_ratio_each"] = [
            1.0 / x if x > 0 else float("inf") for x in row["bars_to_baseline_best_each"]
        ]
        row["equal_quality_strict_each"] = [
            b / x if x > 0 else float("inf") for b, x in zip(own, row["bars_to_baseline_best_each"])
        ]
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


def _ratios(values: list[float]) -> str:
    """``1.23x`` per seed, ``never`` where the run did not reach the target."""
    return ", ".join(f"{x:.2f}x" if x > 0 else "never" for x in values)


def _fmt_prune(r: dict[str, Any]) -> str:
    reach = ", ".join(
        "never" if not np.isfinite(x) else f"{x:.2f}" for x in r["bars_to_baseline_best_each"]
    )
    return (
        f"{r['config']:<20} bars simulated {r['bars']:>11,.0f} ({r['bars_vs_no_pruning']:.2f}x "
        f"no pruning; saved {r['saved']:5.1%} of its trials' full cost)  bars to reach the "
        f"no-pruning final best, per seed, as a share of no-pruning's bars: {reach}  "
        f"full evaluations {r['full_evals']:4.0f}/{r['evaluated']:.0f}  pruned "
        f"{r['pruned']:4.0f}  IS best {r['is_best']:.3f}  OOS Sharpe {r['oos_sharpe']:.3f}  "
        f"wall {r['wall_s']:.1f} s (eval {r['eval_s']:.1f} s)\n"
        f"    simulated-bars ratio at equal quality (no-pruning bars / bars to reach its final "
        f"best), per seed: {_ratios(r['equal_quality_ratio_each'])} (>= 2x on "
        f"{sum(x >= 2 for x in r['equal_quality_ratio_each'])} of {r['seeds']} seeds); "
        f"against the bars no-pruning itself needed to reach it: "
        f"{_ratios(r['equal_quality_strict_each'])}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=1000, help="trials per fold, part 1")
    ap.add_argument("--prune-trials", type=int, default=300, help="trials per fold, part 2")
    ap.add_argument("--seeds", type=int, default=3, help="seeds averaged in part 2")
    ap.add_argument("--strategies", default="sma_cross,donchian_atr", help="part 1 strategies")
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
        for strategy in args.strategies.split(","):  # imports (each optimizer's), numba caches
            for name in OPTIMIZERS:
                _search(bars, f"{tmp}/warmup-{strategy}-{name}", strategy, optimizer=name,
                        n_trials=8)  # fmt: skip
        out: dict[str, Any] = {"cpu_count": os.cpu_count(), "loadavg_start": load0}
        if args.skip != "optimizers":
            out["optimizers"] = []
            for strategy in args.strategies.split(","):
                print(
                    f"\n== optimizers on {strategy}: {args.trials} trials per fold, seed {SEED}, "
                    "1 worker =="
                )
                out["optimizers"] += part_optimizers(bars, args.trials, strategy, tmp)
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
