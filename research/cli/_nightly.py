"""``research nightly EXPERIMENT.yaml [--dry-run]``: champion/challenger re-optimization.

Exit status: 0 when the night ran (promoted or kept), 1 when another nightly run of the same
experiment holds the lock (nothing done), 2 on bad input, 3 when the decision was taken and
recorded but the targets or the ``nightly.notify`` command failed (one line on stderr each). See ``docs/nightly.md`` for cron and
systemd set-ups.
"""

from __future__ import annotations

import argparse
import sys

from research.cli._options import add_command, add_json_flag, print_json

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(subparsers, "nightly", _nightly)
    p.add_argument("experiment", metavar="EXPERIMENT.yaml")
    p.add_argument("--dry-run", action="store_true", help="show what would happen; write nothing")
    p.add_argument("--runs-root", default="runs", metavar="DIR", help="default: runs")
    p.add_argument(
        "--trials", type=int, metavar="N", help="trials per fold (overrides nightly.n_trials)"
    )
    add_json_flag(p, "the decision")
    p.add_argument("--progress", action="store_true", help="show progress bars")


def _nightly(args: argparse.Namespace) -> int:
    """re-optimize, compare challenger with champion, promote if better and gated

    Load fresh data, warm-start from the champion and the last study, re-optimize within the nightly
    budget, and promote the challenger only if it passes every gate and beats the champion on the
    most recent out-of-sample window. Exit 1 when another nightly run of the same experiment is in
    progress.
    """
    from research.cli import EXIT_FOLLOW_UP_FAILED
    from research.run.nightly import EXIT_LOCKED, NightlyLocked, run_nightly

    try:
        decision = run_nightly(
            args.experiment,
            runs_root=args.runs_root,
            dry_run=args.dry_run,
            n_trials=args.trials,
            progress=args.progress,
        )
    except NightlyLocked as exc:
        print(f"research nightly: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    if args.json:
        print_json(decision.to_dict())
    else:
        print(decision.summary())
    failed = decision.handoff_failed
    for line in failed:
        print(f"research nightly: {line}", file=sys.stderr)
    return EXIT_FOLLOW_UP_FAILED if failed else 0
