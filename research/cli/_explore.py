"""``research explore``: features, data audit and screening of one data source, saved to a folder.

``research explore --data FILE|FOLDER|sample:NAME [--spec FILE.yaml] [--out DIR] [--symbol SYM]
[--train-end DATE] [--cache DIR | --no-cache] [--force] [--quiet] [--json]``

Writes into the output folder (default ``runs/explore/<data-name>/<YYYYmmdd-HHMMSS>/``):

=====================  =========================================================================
``features.parquet``   the screened feature table over all bars (one float64 column per feature)
``selected.parquet``   the selected columns; ``selected.json`` their names, scores and metadata
``findings.json``      tests, audit, screening summary, suggestions, resolved spec, timings
``explore.html``       the "what we found" page with its plots (self-contained: opens offline)
``spec.yaml``          the resolved exploration spec (every default filled in)
``run.json``           command, data source and fingerprint, seed, code version, files
=====================  =========================================================================

An existing non-empty output folder is never written into unless ``--force`` is given. Progress
lines go to stderr (``--quiet`` silences them); the summary goes to stdout. Exit status 0 on
success, 2 on bad input (an invalid spec, unreadable data, too few bars) with one line on stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from research.cli._options import add_command, add_json_flag

__all__ = ["register", "default_out_dir", "data_name"]

#: folder of the default output folders, relative to the working directory
RUNS_ROOT = Path("runs") / "explore"


def register(subparsers: Any) -> None:
    """Add the ``explore`` command."""
    parser = add_command(subparsers, "explore", _run)
    parser.add_argument(
        "--data", required=True, help="a .csv/.parquet file, a folder of them, or sample:NAME"
    )
    parser.add_argument(
        "--spec",
        default=None,
        metavar="FILE.yaml",
        help="exploration spec; only the keys it lists change the defaults "
        "(see research/explore/default_spec.yaml)",
    )
    parser.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="output folder (default runs/explore/<data-name>/<UTC time>/); "
        "must not exist or be empty unless --force",
    )
    parser.add_argument(
        "--symbol",
        default=None,
        help="symbol to explore when the data has several (default: first)",
    )
    parser.add_argument(
        "--train-end",
        default=None,
        metavar="DATE",
        help="last timestamp screening may read (overrides the spec's train window)",
    )
    cache = parser.add_mutually_exclusive_group()
    cache.add_argument(
        "--cache",
        default=None,
        metavar="DIR",
        help="feature cache folder (default <QR_CACHE_DIR or ~/.cache/quant-research>/explore)",
    )
    cache.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    parser.add_argument(
        "--force", action="store_true", help="write into a non-empty --out folder, replacing files"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    add_json_flag(parser, "the summary")


def data_name(source: str) -> str:
    """A folder-safe name of a data source: ``sample:sp500`` -> ``sp500``, ``a/b/x.csv.gz`` -> ``x``."""
    text = str(source)
    if text.startswith("sample:"):
        name = text.split(":", 1)[1]
    elif re.match(r"^[a-z]+:", text) and not Path(text).exists():  # yfinance:AAPL, ccxt:...
        name = text.split("?", 1)[0].replace(":", "-")
    else:
        name = Path(text.rstrip("/")).name
        for suffix in (".gz", ".csv", ".parquet", ".pq"):
            if name.lower().endswith(suffix):
                name = name[: -len(suffix)]
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", name).strip("_") or "data"


def default_out_dir(source: str, now: dt.datetime | None = None) -> Path:
    """``runs/explore/<data-name>/<YYYYmmdd-HHMMSS>`` (UTC); a suffix ``-2``, ``-3``... if taken."""
    now = now or dt.datetime.now(dt.UTC)
    base = RUNS_ROOT / data_name(source) / now.strftime("%Y%m%d-%H%M%S")
    out, k = base, 2
    while out.exists() and any(out.iterdir()):
        out, k = base.with_name(f"{base.name}-{k}"), k + 1
    return out


def _check_out_dir(out: Path, force: bool) -> None:
    from data_loaders.errors import ConfigError

    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ConfigError(
            f"--out {out}: folder exists and is not empty; choose another folder "
            "or pass --force to replace its files"
        )


def _run(args: argparse.Namespace) -> int:
    """compute features, audit the data, screen features against forward returns

    Compute technical and statistical features, audit the bars, test stationarity, screen every
    feature against forward returns on the train window (Benjamini-Hochberg corrected) and save the
    feature table, the selected set, the findings and an HTML page with plots.
    """
    say = (lambda message: None) if args.quiet else _progress
    started = time.perf_counter()

    # fail fast on what the user typed, before the (possibly long) load
    from research.explore.spec import load_spec

    spec = load_spec(args.spec)
    out = Path(args.out) if args.out else default_out_dir(args.data)
    _check_out_dir(out, args.force)

    from data_loaders import default_cache_dir

    bars = _load(args)  # no progress line before it: bad input gives one stderr line
    cache_dir = None if args.no_cache else Path(args.cache or default_cache_dir() / "explore")

    from research.explore import explore, write_exploration

    result = explore(
        bars,
        spec,
        train_end=args.train_end,
        symbol=args.symbol,
        cache_dir=cache_dir,
        progress=say,
    )
    say(f"writing {out}")
    out.mkdir(parents=True, exist_ok=True)
    paths = write_exploration(result, out)
    _write_spec_and_record(args, spec, result, out, paths, started)
    summary = _summary(result, out, paths)
    if args.json:
        print(json.dumps(summary))
    else:
        _print_summary(summary, result)
    say(f"done in {time.perf_counter() - started:.1f} s")
    return 0


def _load(args: argparse.Namespace) -> Any:
    """The bars of ``--data``; ``--symbol`` is checked against a one-symbol source and then
    dropped (set to None) since there is nothing to pick."""
    from data_loaders import load_bars
    from data_loaders.errors import ConfigError, DataValidationError

    bars = load_bars(args.data)
    if isinstance(bars, dict) and args.symbol is None and len(bars) == 0:
        raise DataValidationError(f"--data {args.data}: no symbols")
    if not isinstance(bars, dict) and args.symbol is not None:
        symbol = bars.attrs.get("symbol")
        if args.symbol != symbol:
            raise ConfigError(
                f"--symbol {args.symbol}: --data {args.data} holds one symbol ({symbol})"
            )
        args.symbol = None
    return bars


def _write_spec_and_record(
    args: argparse.Namespace,
    spec: Any,
    result: Any,
    out: Path,
    paths: dict[str, Path],
    started: float,
) -> None:
    """Write ``spec.yaml`` (the resolved spec) and ``run.json`` (command, data, seed, code
    version, files); both are added to ``paths``."""
    import yaml

    from research.explore.spec import spec_to_dict
    from research.runs import atomic_write_json, atomic_write_text, code_version

    paths["spec"] = out / "spec.yaml"
    atomic_write_text(paths["spec"], yaml.safe_dump(spec_to_dict(spec), sort_keys=False))
    paths["run"] = out / "run.json"
    record = {
        "arguments": {k: v for k, v in vars(args).items() if k not in ("handler", "command")},
        "data": args.data,
        "symbol": result.symbol,
        "data_fingerprint": result.findings["data"]["fingerprint"],
        "spec_file": args.spec,
        "seed": spec.seed,
        "train_end": result.train_end.isoformat(),
        "code_version": code_version(),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 2),
        "files": {k: p.name for k, p in paths.items()},
    }
    atomic_write_json(paths["run"], record)


def _summary(result: Any, out: Path, paths: dict[str, Path]) -> dict[str, Any]:
    """What the command prints: counts of bars, features, tests, survivors; the selection."""
    f = result.findings
    return {
        "out": str(out),
        "symbol": result.symbol,
        "n_bars": f["data"]["n_bars"],
        "train_end": result.train_end.isoformat(),
        "n_features": f["features"]["n_computed"],
        "n_screened": f["features"]["n_screened"],
        "n_tests": f["screening"]["n_tests"],
        "n_survivors": f["screening"]["n_survivors"],
        "selected": list(result.selected),
        "audit_counts": result.audit.summary.get("counts", {}),
        "files": {k: str(p) for k, p in paths.items()},
    }


def _progress(message: str) -> None:
    stamp = dt.datetime.now().strftime("%H:%M:%S")
    print(f"[explore {stamp}] {message}", file=sys.stderr, flush=True)


def _print_summary(summary: dict[str, Any], result: Any) -> None:
    w = sys.stdout.write
    w(
        f"{summary['symbol'] or 'data'}: {summary['n_bars']:,} bars, train window to "
        f"{summary['train_end']}\n"
    )
    w(
        f"features: {summary['n_features']} computed, {summary['n_screened']} screened; "
        f"{summary['n_tests']} tests, {summary['n_survivors']} features survive "
        f"Benjamini-Hochberg at fdr={result.spec.screening.fdr}\n"
    )
    scores = result.screening.scores
    if result.selected:
        w(f"selected ({len(result.selected)}), best first:\n")
        for name in result.selected:
            w(
                f"  {name:<32s} -log10 p={scores.at[name, 'score']:6.2f}  "
                f"horizon {int(scores.at[name, 'best_horizon']):>3d}  "
                f"rank IC {scores.at[name, 'rank_ic']:+.4f}\n"
            )
    else:
        w("selected: none (no feature survives the multiple-testing correction)\n")
    counts = summary["audit_counts"]
    audit = ", ".join(f"{k} {v}" for k, v in counts.items()) if counts else "no findings"
    w(f"audit: {audit}\n")
    w(
        f"written to {summary['out']}/: {', '.join(Path(p).name for p in summary['files'].values())}\n"
    )
