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

    if args.out is not None:
        _check_out(args.out)
    path = build_report(args.run_dir, out=args.out)
    print(f"report written: {path}")
    return 0


def _check_out(out: str) -> None:
    """``--out`` names a file this process can write (checked before the report is built)."""
    import os
    from pathlib import Path

    from data_loaders.errors import ConfigError

    p = Path(out)
    if p.is_dir():
        raise ConfigError(f"--out {out!r} is a folder; pass a file path such as {out}/report.html")
    parent = p.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise ConfigError(f"--out {out!r} is under the file {str(parent)!r}; pass a file path")
    if parent.exists() and not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"--out {out!r}: the folder {str(parent)!r} is not writable")
