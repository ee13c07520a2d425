"""``research run``, ``research runs`` and ``research compare``.

``research run EXPERIMENT.yaml [--out DIR] [--trials N] [--seed S] [--workers N]
[--scheduler ADDR] [--storage URL] [--new] [--runs-root DIR] [--strict]`` runs the whole
pipeline and writes the run folder (see :mod:`research.run.store`). Rerunning the same command after
a crash resumes the unfinished run. Exit 0 when the run completes (whatever the verdict), 1 with
``--strict`` when no candidate passes every gate, 2 on bad input.

``research run --show-defaults`` prints every key of an experiment spec with its default.
"""

from __future__ import annotations

import argparse
import json

from research.cli._options import add_command, add_json_flag, print_json

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(subparsers, "run", _run)
    p.add_argument("experiment", nargs="?", help="experiment spec (YAML)")
    p.add_argument(
        "--out", metavar="DIR", help="run folder (resumed when it holds an unfinished run)"
    )
    p.add_argument(
        "--trials", type=int, metavar="N", help="trials per fold (overrides budget.n_trials)"
    )
    p.add_argument("--seed", type=int, metavar="S", help="random seed (overrides seed)")
    p.add_argument("--workers", type=int, metavar="N", help="local worker processes")
    p.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler, e.g. tcp://host:8786")
    p.add_argument(
        "--storage", metavar="URL", help="Optuna storage URL (default: study.db in the run folder)"
    )
    p.add_argument(
        "--runs-root", default="runs", metavar="DIR", help="where run folders go (default: runs)"
    )
    p.add_argument(
        "--new", action="store_true", help="start a fresh run even if an unfinished one exists"
    )
    p.add_argument(
        "--strict", action="store_true", help="exit 1 when no candidate passes every gate"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument(
        "--allow-changed-code",
        action="store_true",
        help="resume or reuse studies whose trials were made by an edited strategy file or "
        "other library versions (refused by default)",
    )
    p.add_argument(
        "--show-defaults",
        action="store_true",
        help="print every spec key with its default and exit",
    )

    p = add_command(subparsers, "runs", _runs)
    p.add_argument("--runs-root", default="runs", metavar="DIR")
    p.add_argument("--experiment", metavar="NAME", help="only this experiment")
    p.add_argument("--json", action="store_true", help="one JSON object per run")

    p = add_command(subparsers, "compare", _compare)
    p.add_argument("run_a", metavar="RUN_A")
    p.add_argument("run_b", metavar="RUN_B")
    add_json_flag(p, "the comparison")


def _run(args: argparse.Namespace) -> int:
    """run an experiment: explore, search under walk-forward, rank, report

    Run the whole pipeline of an experiment YAML file and write its run folder (default
    runs/<experiment>/<timestamp>/). Rerunning the same command after a crash resumes the unfinished
    run.
    """
    from data_loaders.errors import ConfigError

    if args.show_defaults:
        import yaml

        from research.experiment import default_experiment_dict

        print(yaml.safe_dump(default_experiment_dict(), sort_keys=False), end="")
        return 0
    if not args.experiment:
        raise ConfigError("research run needs an EXPERIMENT.yaml (or --show-defaults)")
    from research.experiment import load_experiment
    from research.run.pipeline import run_experiment

    spec = load_experiment(args.experiment)
    overrides = {k: getattr(args, k) for k in ("trials", "seed", "workers", "scheduler", "storage")}
    result = run_experiment(
        spec,
        out_dir=args.out,
        progress=not args.no_progress,
        runs_root=args.runs_root,
        new=args.new,
        allow_changed_code=args.allow_changed_code,
        **overrides,  # of the spec's settings
    )
    print(result.summary())
    from data_loaders.lru import enforce_cap

    enforce_cap("numba")  # compiled kernels beyond $QR_CACHE_MAX_NUMBA go, oldest first
    if args.strict and not result.passed:
        return 1
    return 0


def _runs(args: argparse.Namespace) -> int:
    """list run folders

    List run folders, newest first.
    """
    from research.run.compare import format_runs, list_runs

    runs = list_runs(args.runs_root, args.experiment)
    if args.json:
        for r in runs:
            print(json.dumps({**r.__dict__, "path": str(r.path)}))
    else:
        print(format_runs(runs))
    return 0


def _compare(args: argparse.Namespace) -> int:
    """what changed between two runs (parameters, metrics, gates)

    Compare two finished runs: config, data, champion parameters, out-of-sample metrics and gate
    results.
    """
    from research.run.compare import compare_runs, format_comparison

    diff = compare_runs(args.run_a, args.run_b)
    if args.json:
        print_json(diff)
    else:
        print(format_comparison(diff))
    return 0
