"""What the sub-command modules share: a sub-parser bound to its handler (whose docstring is the
command's help), the bars and strategy options, the ``--json`` flag and the JSON it prints."""

from __future__ import annotations

import argparse
import inspect
import json
from collections.abc import Callable
from typing import Any

__all__ = ["add_command", "add_json_flag", "add_strategy_options", "print_json"]


def add_command(
    subparsers: Any, name: str, handler: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    """Add the sub-command ``name``; ``handler(args)`` runs it and returns the exit status.

    The handler's docstring is the command's text: its first line the one-line ``help`` that
    ``research --help`` lists, the paragraphs after it the ``description`` of ``research NAME
    --help`` (argparse re-wraps them).
    """
    doc = inspect.getdoc(handler) or ""
    summary, _, rest = doc.partition("\n\n")
    parser = subparsers.add_parser(
        name, help=" ".join(summary.split()), description=" ".join(rest.split()) or None
    )
    parser.set_defaults(handler=handler)
    return parser


def add_json_flag(parser: argparse.ArgumentParser, what: str) -> None:
    """``--json``: print ``what`` (e.g. "the summary") as JSON instead of text."""
    parser.add_argument("--json", action="store_true", help=f"print {what} as JSON")


def add_strategy_options(parser: argparse.ArgumentParser) -> None:
    """``--data`` (bars), ``--strategy`` and the repeatable ``--param NAME=VALUE``."""
    parser.add_argument(
        "--data", required=True, help="bars: a .csv/.parquet file, a folder, or sample:NAME"
    )
    parser.add_argument(
        "--strategy", required=True, help="a built-in name (e.g. sma_cross) or FILE.py:ClassName"
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a strategy parameter (repeat for several); others keep their defaults",
    )


def print_json(payload: Any) -> None:
    """``payload`` as indented JSON on stdout (values JSON does not know as their text)."""
    print(json.dumps(payload, indent=2, default=str))
