"""``research data``: validate a data source, list the bundled samples, keep a local store fresh.

``research data validate FILE|FOLDER|sample:NAME [--tz TZ] [--raw] [--repair sort,dedupe]``
prints the validation summary (rows, range, frequency, calendar and gaps, suspected splits,
repairs) and exits 0; bad data prints one line on stderr and exits 2 (the dispatcher turns the
``DataValidationError`` into that line). ``research data samples`` lists the bundled data sets
with their source package and license.

``research data download SOURCE [--start D] [--end D] --to FOLDER`` downloads online bars
(``yfinance:AAPL,MSFT`` or ``ccxt:EXCHANGE:SYMBOL``, timeframe by ``--timeframe`` or the source's
``?interval=`` / ``?timeframe=``) into a store (see :mod:`data_loaders.store`); ``research data
update FOLDER`` fetches only the bars after the last stored one. Exit 0 when every symbol is
fresh, 1 when a symbol's stored history was revised by the source (reported in one line, nothing
written), 2 when a source failed or the input is bad.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from research.cli._options import add_command, add_json_flag, print_json

__all__ = ["register", "store_spec"]

_REPAIR_NAMES = "sort, dedupe, dropna, fill_gaps, fill_volume"


def register(subparsers: Any) -> None:
    """Add the ``data`` command and its ``validate`` / ``samples`` actions."""
    parser = subparsers.add_parser(
        "data",
        help="validate bar files and list the bundled real data samples",
        description="Validate bars against the bars contract, or list the bundled samples.",
    )
    actions = parser.add_subparsers(dest="data_action", metavar="ACTION")

    validate = add_command(actions, "validate", _validate)
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
    add_json_flag(validate, "the summary")
    samples = add_command(actions, "samples", _samples)
    add_json_flag(samples, "the list")

    _register_store(actions)

    def _usage(args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2

    parser.set_defaults(handler=_usage)


def _validate(args: argparse.Namespace) -> int:
    """check a file, folder or sample and print its summary

    Load SOURCE, check every rule of the bars contract and print a summary (rows, range, frequency,
    gaps against the inferred calendar, suspected splits, repairs). Exit 0 if valid, 2 with a
    one-line reason if not.
    """
    from data_loaders import validate_source

    result = validate_source(args.source, tz=args.tz, adjust=not args.raw, repair=args.repair)
    reports = result if isinstance(result, dict) else {None: result}
    if args.json:
        payload: Any = (
            {sym: r.to_dict() for sym, r in reports.items()}
            if isinstance(result, dict)
            else result.to_dict()
        )
        print_json(payload)
        return 0
    if isinstance(result, dict):
        print(f"{args.source}: OK, {len(result)} symbols ({', '.join(result)})")
    print("\n".join(r.to_text() for r in reports.values()))
    return 0


def _samples(args: argparse.Namespace) -> int:
    """list the bundled data sets with source and license"""
    from data_loaders import list_samples

    infos = list_samples()
    if args.json:
        print_json([i.to_dict() for i in infos])
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


def _register_store(actions: Any) -> None:
    download = add_command(actions, "download", _download)
    download.add_argument("source", help="yfinance:SYMBOL[,SYMBOL...] or ccxt:EXCHANGE:SYMBOL")
    download.add_argument("--to", required=True, metavar="FOLDER", help="the store folder")
    download.add_argument("--start", default=None, help="first date to download")
    download.add_argument("--end", default=None, help="end date, exclusive (default: now)")
    download.add_argument(
        "--timeframe", default=None, help="bar length (default 1d for yfinance, 1h for ccxt)"
    )
    download.add_argument(
        "--raw", action="store_true", help="yfinance: keep raw prices (no dividend adjustment)"
    )
    download.add_argument(
        "--overlap", type=int, default=3, help="stored bars re-fetched and compared on update"
    )
    add_json_flag(download, "the report")

    update = add_command(actions, "update", _update)
    update.add_argument("folder", help="a folder made by `research data download`")
    update.add_argument("--end", default=None, help="end date, exclusive (default: now)")
    update.add_argument(
        "--rewrite",
        action="store_true",
        help="download a symbol's whole history again when the source revised it",
    )
    add_json_flag(update, "the report")


def store_spec(source: str, *, start: Any, timeframe: Any, raw: bool, overlap: int) -> Any:
    """``yfinance:AAPL,MSFT?interval=1h`` / ``ccxt:kraken:EUR/USD?timeframe=1h`` -> StoreSpec."""
    from urllib.parse import parse_qsl

    from data_loaders.errors import ParameterError
    from data_loaders.store import SOURCES, StoreSpec

    scheme, _, rest = source.partition(":")
    target, _, query = rest.partition("?")
    options = dict(parse_qsl(query))
    if scheme not in SOURCES or not target:
        raise ParameterError(
            f"download SOURCE must be yfinance:SYMBOL[,SYMBOL...] or ccxt:EXCHANGE:SYMBOL, got {source!r}"
        )
    exchange = None
    if scheme == "ccxt":
        exchange, _, target = target.partition(":")
    symbols = tuple(s.strip() for s in target.split(",") if s.strip())
    frame = timeframe or options.get("interval") or options.get("timeframe") or SOURCES[scheme]
    return StoreSpec(
        source=scheme,
        symbols=symbols,
        timeframe=frame,
        exchange=exchange,
        start=start or options.get("start"),
        adjust=not raw,
        overlap=overlap,
    )


def _download(args: argparse.Namespace) -> int:
    """download online bars into a store folder (one Parquet file per symbol)

    Download SOURCE (yfinance:AAPL,MSFT or ccxt:EXCHANGE:SYMBOL) into FOLDER with a manifest, so
    that `research data update FOLDER` later fetches only new bars. A killed download is resumed by
    running it again or by `update`.
    """
    from data_loaders.store import download_store

    spec = store_spec(
        args.source, start=args.start, timeframe=args.timeframe, raw=args.raw, overlap=args.overlap
    )
    return _report(download_store(spec, args.to, end=args.end), args.json)


def _update(args: argparse.Namespace) -> int:
    """fetch the bars after the last stored one into a store folder

    For each symbol of the store: re-fetch the last --overlap bars, check they match (a revised
    history is reported and nothing written), append the new bars, validate and replace the file
    atomically.
    """
    from data_loaders.store import update_store

    return _report(update_store(args.folder, end=args.end, rewrite=args.rewrite), args.json)


def _report(report: Any, as_json: bool) -> int:
    """Print the report (problems on stderr); 0 fresh, 1 revised history, 2 a source failed."""
    if as_json:
        print_json(report.to_dict())
    for update in report.updates:
        bad = update.status in ("revised", "failed")
        if not as_json or bad:
            print(update.message, file=sys.stderr if bad else sys.stdout)
    statuses = {u.status for u in report.updates}
    return 2 if "failed" in statuses else (1 if "revised" in statuses else 0)
