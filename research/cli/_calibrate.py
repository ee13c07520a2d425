"""``research calibrate SPEC [--k N] [--k-edge N] [--workers N] [--out DIR]``.

Runs the spec's whole search-and-judge pipeline on synthetic data sets shaped like its data
(null sets and planted-edge sets) and prints the false-champion rate with its 95 % interval and
the power curve of the spec's gates (see :mod:`research.run.calibration`). Exit 0, or 1 with
``--strict`` when the false-champion rate's upper bound exceeds 5 %.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "calibrate",
        help="measure the gates' false-champion rate and power on synthetic data like the spec's",
        description="Run the spec on K null and K planted-edge synthetic data sets shaped like its "
        "data and report how often the gates crown a champion on noise and on a real edge.",
    )
    p.add_argument("experiment", help="experiment spec (YAML)")
    p.add_argument("--k", type=int, default=10, metavar="N", help="null data sets (default 10)")
    p.add_argument(
        "--k-edge", type=int, metavar="N", help="data sets per edge strength (default: --k)"
    )
    p.add_argument(
        "--targets",
        default="0.5,1,1.5,2",
        metavar="S,S",
        help="edge strengths as the fixed rule's OOS Sharpe (default 0.5,1,1.5,2)",
    )
    p.add_argument("--noise", choices=("gaussian", "bootstrap"), default="gaussian")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="processes (default 1)")
    p.add_argument("--seed", type=int, default=0, metavar="S")
    p.add_argument(
        "--out",
        metavar="DIR",
        help="records and summary folder (default runs/<experiment>/calibration: the reports "
        "of the experiment's runs show it)",
    )
    p.add_argument("--strict", action="store_true", help="exit 1 if false champions may exceed 5%")
    p.set_defaults(handler=_calibrate)


def _calibrate(args: argparse.Namespace) -> int:
    from data_loaders.errors import ConfigError
    from research.run.calibration import calibrate

    try:
        targets = [float(t) for t in str(args.targets).split(",") if t.strip()]
    except ValueError:
        raise ConfigError(
            f"--targets: expected numbers separated by commas, got {args.targets!r}"
        ) from None
    for name in ("k", "workers"):
        if getattr(args, name) < (0 if name == "k" else 1):
            raise ConfigError(
                f"--{name}: must be >= {0 if name == 'k' else 1}, got {getattr(args, name)}"
            )
    summary = calibrate(
        args.experiment,
        k_null=args.k,
        k_edge=args.k if args.k_edge is None else args.k_edge,
        targets=targets,
        workers=args.workers,
        out=args.out,
        seed=args.seed,
        noise=args.noise,
        say=lambda t: print(t, file=sys.stderr, flush=True),
    )
    print("\n".join(summary.lines()))
    print(summary.sentence())
    return 1 if args.strict and summary.false_ci[1] > 0.05 else 0
