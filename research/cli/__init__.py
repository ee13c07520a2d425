"""The ``research`` command (also ``python -m research``).

Each sub-command lives in its own module ``research/cli/_<name>.py`` exposing
``register(subparsers)``; the module list below is the only place that names them. Heavy
libraries are imported inside the command handlers, so ``research --help`` and light commands
start fast.

Exit status: 0 on success, 1 on a failed check, 2 on bad input or usage, 3 when the work was
done and recorded but a follow-up step failed (``research nightly``: the targets or the notify
command; one line on stderr each). Any :class:`~data_loaders.errors.ResearchError` becomes one
line on stderr, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

__all__ = [
    "main",
    "build_parser",
    "EXIT_OK",
    "EXIT_CHECK_FAILED",
    "EXIT_USAGE",
    "EXIT_FOLLOW_UP_FAILED",
]

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE = 0, 1, 2
#: the work was done and recorded, a follow-up failed (nightly targets or notify command)
EXIT_FOLLOW_UP_FAILED = 3
#: 128 + SIGPIPE, what shell tools return when the reader of their output goes away
EXIT_BROKEN_PIPE = 141

#: sub-command modules, in the order ``research --help`` lists them
COMMAND_MODULES = (
    "_run",
    "_explore",
    "_backtest",
    "_lookahead",
    "_data",
    "_report",
    "_nightly",
    "_calibrate",
    "_cache",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="research",
        description="Strategy research: explore data, search hyperparameters under walk-forward, "
        "rank with overfitting checks, report, and re-optimize nightly.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"research.cli.{name}")
        except ModuleNotFoundError as exc:  # a command not built yet
            if exc.name == f"research.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``research`` console script; returns the exit status."""
    from data_loaders.errors import ResearchError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.handler(args) or 0)
    except ResearchError as exc:
        print(f"research {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except FileNotFoundError as exc:
        print(
            f"research {args.command}: error: file not found: {exc.filename or exc}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"research {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `research ... | head`: the reader left; stop quietly like Unix tools
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush cannot fail
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
