"""Calibration of the gates on the quickstart-size search (issue 12).

Runs the quickstart spec reduced to two strategies (sma_cross, rsi_reversion; TPE and GA, 48
trials per fold, 8 yearly out-of-sample folds of daily bars) on K null and K planted-edge
synthetic data sets shaped like its S&P 500 bars, then evaluates gate sets offline on the same
records and prints, for each, the false-champion rate (exact 95 % interval) against the 5 %
target and the power curve against the 80 % target at a fixed-rule OOS Sharpe of about 1.5.

    python benchmarks/bench_gates.py --k 10 --k-edge 8 --workers 2 --out runs/calibration/qs
    python benchmarks/bench_gates.py --records runs/calibration/qs/records.jsonl   # offline

Records are appended and reused: rerunning with a larger K only runs the new data sets.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: the quickstart's gates before the calibration (every gate on), the reference of each set
BEFORE = {
    "min_dsr": 0.95,
    "max_pbo": 0.5,
    "min_stability": 0.5,
    "min_trades": 10,
    "max_drawdown": 0.5,
    "min_wfe": 0.2,
    "max_spa_pvalue": 0.2,
    "dsr_variance": "auto",
    "spa_benchmark": "buy_and_hold",
}
#: changes to BEFORE: each DSR count, the recommended set (docs/gates.md) and its variants
GATE_SETS = {
    "quickstart gates, dsr_trials=all_trials (before)": {"dsr_trials": "all_trials"},
    "quickstart gates, dsr_trials=effective": {"dsr_trials": "effective"},
    "quickstart gates, dsr_trials=candidates": {"dsr_trials": "candidates"},
    "quickstart gates, candidates, observed variance": {
        "dsr_trials": "candidates",
        "dsr_variance": "observed",
    },
    "quickstart gates, candidates, no PBO gate": {"dsr_trials": "candidates", "max_pbo": None},
    "recommended: candidates, no PBO gate, no SPA gate": {
        "dsr_trials": "candidates",
        "max_pbo": None,
        "max_spa_pvalue": None,
    },
    "recommended, with PBO <= 0.8": {
        "dsr_trials": "candidates",
        "max_pbo": 0.8,
        "max_spa_pvalue": None,
    },
    "recommended, without WFE": {
        "dsr_trials": "candidates",
        "max_pbo": None,
        "max_spa_pvalue": None,
        "min_wfe": None,
    },
    "candidates, no PBO gate, SPA against cash": {
        "dsr_trials": "candidates",
        "max_pbo": None,
        "spa_benchmark": "cash",
    },
    "DSR (candidates) alone": {
        "dsr_trials": "candidates",
        **dict.fromkeys(
            ("max_pbo", "min_stability", "min_trades", "max_drawdown", "min_wfe", "max_spa_pvalue")
        ),
    },
    "DSR (effective) alone": {
        "dsr_trials": "effective",
        **dict.fromkeys(
            ("max_pbo", "min_stability", "min_trades", "max_drawdown", "min_wfe", "max_spa_pvalue")
        ),
    },
    "DSR gate off (other quickstart gates only)": {"min_dsr": None},
    "DSR gate off, recommended others": {"min_dsr": None, "max_pbo": None, "max_spa_pvalue": None},
}


def quickstart_size_spec():
    from research.spec import load_experiment

    exp = load_experiment(ROOT / "experiments" / "quickstart.yaml")
    keep = tuple(s for s in exp.strategies if s.name in ("sma_cross", "rsi_reversion"))
    return replace(exp, strategies=keep)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--k", type=int, default=10, help="null data sets")
    p.add_argument("--k-edge", type=int, default=8, help="data sets per edge strength")
    p.add_argument("--targets", default="0.5,1,1.5,2")
    p.add_argument("--noise", default="gaussian", choices=("gaussian", "bootstrap"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", default="runs/calibration/quickstart-size")
    p.add_argument("--records", help="only evaluate these records (no runs)")
    p.add_argument("--noise-only", choices=("gaussian", "bootstrap"), help="evaluate one noise")
    args = p.parse_args(argv)

    from research.run.calibration import calibrate, read_records, summarise

    exp = quickstart_size_spec()
    if args.records:
        records = read_records(args.records)
    else:
        calibrate(
            exp,
            k_null=args.k,
            k_edge=args.k_edge,
            targets=[float(t) for t in args.targets.split(",")],
            workers=args.workers,
            out=args.out,
            seed=args.seed,
            noise=args.noise,
            say=lambda t: print(t, file=sys.stderr, flush=True),
        )
        records = read_records(Path(args.out) / "records.jsonl")
    ok = [r for r in records if "error" not in r]
    if args.noise_only:
        ok = [r for r in ok if r["dataset"]["noise"] == args.noise_only]
    print(f"{len(ok)} records ({len(records) - len(ok)} failed)")
    for name, change in GATE_SETS.items():
        recs = ok
        if change.get("spa_benchmark") == "cash":  # records written before it was recorded
            recs = [r for r in ok if all("spa_cash_pvalue" in c for c in r["candidates"])]
            name += f" ({len(recs)} records that have it)"
        s = summarise(recs, {**BEFORE, **change})
        ratio = s.false_ci[1] / 0.05
        print(f"\n== {name}")
        print("\n".join(s.lines()))
        print(f"  false-champion upper bound / 5% target: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
