"""``research data``: validate a data source and list the bundled samples.

``research data validate FILE|FOLDER|sample:NAME [--tz TZ] [--raw] [--repair sort,dedupe]``
prints the validation summary (rows, range, frequency, calendar and gaps, suspected splits,
repairs) and exits 0; bad data prints one line on stderr and exits 2 (the dispatcher turns the
``DataValidationError`` into that line). ``research data samples`` lists the bundled data sets
with their source package and license.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["register"]

_REPAIR_NAMES = "sort, dedupe, dropna, fill_gaps, fill_volume"


def register(subparsers: Any) -> None:
    """Add the ``data`` command and its ``validate`` / ``samples`` actions."""
    parser = subparsers.add_parser(
        "data",
        help="validate bar files and list the bundled real data samples",
        description="Validate bars against the bars contract, or list the bundled samples.",
    )
    actions = parser.add_subparsers(dest="data_action", metavar="ACTION")

    validate = actions.add_parser(
        "validate",
        help="check a file, folder or sample and print its summary",
        description="Load SOURCE, check every rule of the bars contract and print a summary "
        "(rows, range, frequency, gaps against the inferred calendar, suspected splits, repairs). "
        "Exit 0 if valid, 2 with a one-line reason if not.",
    )
    validate.add_argument(
        "source", help="a .csv/.csv.gz/.parquet file, a folder of them, or sample:NAME"
    )
    validate.add_argument(
        "--tz",
        default=None,
        help="IANA time zone of naive timestamps (default: UTC), e.g. America/New_York",
    )
    validate.add_argument(
        "--raw", action="store_true", help="keep raw prices: do not scale OHLC by an adjusted close"
    )
    validate.add_argument(
        "--repair",
        default="",
        metavar="LIST",
        help=f"comma-separated repairs to make and report ({_REPAIR_NAMES}); default none",
    )
    validate.add_argument("--json", action="store_true", help="print the summary as JSON")
    validate.set_defaults(handler=_validate)

    samples = actions.add_parser(
        "samples", help="list the bundled data sets with source and license"
    )
    samples.add_argument("--json", action="store_true", help="print the list as JSON")
    samples.set_defaults(handler=_samples)

    def _usage(args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2

    parser.set_defaults(handler=_usage)


def _validate(args: argparse.Namespace) -> int:
    from data_loaders import validate_source

    result = validate_source(args.source, tz=args.tz, adjust=not args.raw, repair=args.repair)
    reports = result if isinstance(result, dict) else {None: result}
    if args.json:
        payload: Any = (
            {sym: r.to_dict() for sym, r in reports.items()}
            if isinstance(result, dict)
            else result.to_dict()
        )
        print(json.dumps(payload, indent=2))
        return 0
    if isinstance(result, dict):
        print(f"{args.source}: OK, {len(result)} symbols ({', '.join(result)})")
    print("\n".join(r.to_text() for r in reports.values()))
    return 0


def _samples(args: argparse.Namespace) -> int:
    from data_loaders import list_samples

    infos = list_samples()
    if args.json:
        print(json.dumps([i.to_dict() for i in infos], indent=2))
        return 0
    for info in infos:
        where = "core dependency" if info.extra is None else f"extra [{info.extra}]"
        status = (
            "installed"
            if info.available
            else f"not installed: pip install 'quant-research[{info.extra}]'"
        )
        print(f"sample:{info.name}")
        print(f"  {info.description}")
        print(
            f"  symbols: {', '.join(info.symbols)}; frequency {info.frequency}; "
            f"{info.start} -> {info.end}; {info.rows:,} rows"
        )
        print(f"  source: {info.origin}; package {info.package} ({where}, {status})")
        print(f"  license: {info.license}")
    return 0
