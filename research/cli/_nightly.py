"""``research nightly EXPERIMENT.yaml [--dry-run]``: champion/challenger re-optimization.

Exit status: 0 when the night ran (promoted or kept), 75 (``EXIT_LOCKED``) when another nightly
run of the same experiment holds the lock (nothing done), 124 when it was stopped by its time
limit (``nightly.timeout`` / ``--timeout``), 2 on bad input, 3 when the decision was taken and
recorded but the targets or the ``nightly.notify`` command failed (one line on stderr each), 70
on an internal error (see the table in :mod:`research.cli`). See ``docs/nightly.md`` for cron
and systemd set-ups.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Iterator
from typing import Any

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
    p.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="stop the night after this long, exit 124 (overrides nightly.timeout)",
    )


class NightlyTimeout(BaseException):
    """Raised by the alarm when the night passes its time limit.

    A ``BaseException`` (like ``KeyboardInterrupt``) so that no ``except Exception`` on the way
    (a trial's error capture) mistakes it for a failure of one step: the run stops, its folder
    stays unfinished, the lock goes with the process.
    """


#: seconds between repeats of the alarm after the limit: an exception raised while Python code
#: runs inside a C callback (numba compiling a kernel calls back into Python through ctypes) is
#: printed and dropped by ctypes, so the alarm fires again until one reaches the run
ALARM_REPEAT = 0.5


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`NightlyTimeout` in the main thread after ``seconds`` (None: no limit),
    and again every :data:`ALARM_REPEAT` seconds until the block is left."""
    if not seconds:
        yield
        return

    def alarm(signum: int, frame: Any) -> None:
        raise NightlyTimeout(seconds)

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, float(seconds), ALARM_REPEAT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _timeout_of(args: argparse.Namespace) -> float | None:
    from data_loaders.errors import ConfigError

    if args.timeout is not None:
        if not args.timeout > 0:
            raise ConfigError(f"--timeout must be a number of seconds > 0, got {args.timeout:g}")
        return float(args.timeout)
    from research.spec import load_experiment

    return load_experiment(args.experiment).nightly.timeout


def _nightly(args: argparse.Namespace) -> int:
    """re-optimize, compare challenger with champion, promote if better and gated

    Load fresh data, warm-start from the champion and the last study, re-optimize within the nightly
    budget, and promote the challenger only if it passes every gate and beats the champion on the
    most recent out-of-sample window. Exit 75 when another nightly run of the same experiment is
    in progress, 124 past nightly.timeout / --timeout.
    """
    from research.cli import EXIT_FOLLOW_UP_FAILED, EXIT_LOCKED, EXIT_TIMEOUT
    from research.run.nightly import NightlyLocked, run_nightly

    limit = _timeout_of(args)
    try:
        with time_limit(limit):
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
    except NightlyTimeout:
        print(
            f"research nightly: error: stopped after {limit:g} s (nightly.timeout / --timeout); "
            "the champion is unchanged",
            file=sys.stderr,
        )
        return EXIT_TIMEOUT
    if args.json:
        print_json(decision.to_dict())
    else:
        print(decision.summary())
    failed = decision.handoff_failed
    for line in failed:
        print(f"research nightly: {line}", file=sys.stderr)
    return EXIT_FOLLOW_UP_FAILED if failed else 0
