"""``research check-lookahead``: prove a strategy's positions never read future bars.

Exit status 0 with "no lookahead ..." when every position computed on data cut at many points
equals the position computed on the full data; 1 with the first offending bar (timestamp) and the
cut that exposed it otherwise; 2 on bad input.

Strategies that learn (``needs_fit``) are fitted once on the first ``--fit-fraction`` of the bars;
the cuts are then placed after that training window.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from research.cli._options import add_command, add_strategy_options

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(subparsers, "check-lookahead", run)
    add_strategy_options(p)
    p.add_argument("--cuts", type=int, default=20, help="number of cut points (default 20)")
    p.add_argument(
        "--min-bars",
        type=int,
        default=None,
        help="fewest bars a cut keeps (default: max(warm-up + 1, 10%% of the bars), after the "
        "training window for strategies that learn)",
    )
    p.add_argument(
        "--symbol",
        action="append",
        default=None,
        metavar="SYMBOL",
        help="symbol(s) to use when --data holds several (repeat, or comma-separate, to give a "
        "multi-asset strategy a subset)",
    )
    p.add_argument(
        "--fit-fraction",
        type=float,
        default=0.5,
        help="share of the bars a learning strategy is fitted on (default 0.5)",
    )


def _select_bars(bars: Any, strategy_cls: Any, symbols: list[str] | None, source: str) -> Any:
    """The bars the strategy takes: one frame, or a dict (restricted to ``symbols`` if given)."""
    from data_loaders.errors import ParameterError, did_you_mean

    label = strategy_cls.label()
    wanted = [s.strip() for item in symbols or [] for s in item.split(",") if s.strip()]
    if not isinstance(bars, Mapping):
        if strategy_cls.multi_asset:
            raise ParameterError(
                f"{label} is multi-asset: --data must hold several symbols (a folder or a "
                f"multi-symbol sample), got one series from {source}"
            )
        return bars
    for sym in wanted:
        if sym not in bars:
            raise ParameterError(f"--symbol {sym!r} is not in {source}{did_you_mean(sym, bars)}")
    if strategy_cls.multi_asset:
        return {sym: bars[sym] for sym in wanted} if wanted else bars
    if len(wanted) == 1:
        return bars[wanted[0]]
    if not wanted and len(bars) == 1:
        return next(iter(bars.values()))
    raise ParameterError(
        f"{label} trades one symbol but {source} holds {len(bars)} ({', '.join(bars)}); "
        f"pick one with --symbol"
    )


def run(args: argparse.Namespace) -> int:
    """check that a strategy's positions never use future bars

    Compute the strategy's positions on the full data and on copies cut at many points; every
    position before a cut must be unchanged. Exit 0 when clean, 1 with the first offending bar when
    not.
    """
    from backtest.lookahead import check_lookahead, truncate_bars
    from data_loaders import load_bars
    from data_loaders.bars import bars_index
    from data_loaders.errors import ParameterError
    from research.cli._backtest import parse_param_values
    from strategies.guard import call_strategy, decisions, strategy_warmup
    from strategies.registry import get_strategy

    strategy_cls = get_strategy(args.strategy)
    params = parse_param_values(strategy_cls, args.param)
    strategy = strategy_cls(**params)
    bars = _select_bars(load_bars(args.data), strategy_cls, args.symbol, args.data)
    index = bars_index(bars)
    n = len(index)

    warmup = strategy_warmup(strategy)
    min_bars = args.min_bars if args.min_bars is not None else max(warmup + 1, n // 10, 2)
    fitted = ""
    if strategy_cls.needs_fit:
        if not 0.0 < args.fit_fraction < 1.0:
            raise ParameterError(f"--fit-fraction must be in (0, 1), got {args.fit_fraction}")
        fit_end = int(n * args.fit_fraction)
        call_strategy(strategy, "fit", truncate_bars(bars, fit_end))
        min_bars = max(min_bars, fit_end)
        fitted = f", fitted on the first {fit_end} bars"

    report = check_lookahead(decisions(strategy), bars, n_cuts=args.cuts, min_bars=min_bars)
    print(f"{strategy!r} on {args.data} ({n} bars{fitted}): {report.message}")
    return 0 if report.ok else 1
