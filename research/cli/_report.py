"""``research report RUN_DIR [--out FILE]``: rebuild the HTML report of a saved run."""

from __future__ import annotations

import argparse

from research.cli._options import add_command

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(subparsers, "report", _report)
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--out", metavar="FILE", help="where to write it (default: RUN_DIR/report.html)")


def _report(args: argparse.Namespace) -> int:
    """rebuild report.html of a run folder

    Rebuild the self-contained HTML report of a finished run from its results.json and saved series.
    """
    from research.report import build_report

    path = build_report(args.run_dir, out=args.out)
    print(f"report written: {path}")
    return 0
