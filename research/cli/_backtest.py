"""``research backtest``: one strategy, one parameter set, one data source -> metrics.

``research backtest --data FILE|sample:NAME --strategy NAME|FILE.py:Class --param fast=10
--param slow=30 [--fees 0.001] [--fixed-fees 0] [--slippage-bps 0] [--execution next-open|close]
[--direction both|longonly|shortonly] [--init-cash 100000] [--whole-units]
[--periods-per-year N] [--json]``

Single-symbol strategies run on the fused batch kernel (:func:`backtest.evaluate_batch`, the
same order arithmetic as the vectorbt engine), so the command answers in about a second on daily
data once numba's caches are warm; vectorbt (several seconds to import) is only loaded for
multi-symbol strategies, which run through :func:`backtest.run_backtest`. Strategies that learn
(``needs_fit``) are fitted on the first ``--train-fraction`` of the bars and evaluated on the rest.

Parameter values are parsed by their declared type (int, float, or one of a categorical's
choices); an unknown name or a bad value exits 2 with a one-line reason.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from research.cli._options import add_command, add_json_flag, add_strategy_options

__all__ = ["register", "parse_param_values"]


def __getattr__(name: str) -> Any:
    """``infer_periods_per_year`` and ``backtest_metrics`` moved to the library (one release):
    :func:`data_loaders.bars.bars_per_year` and :func:`backtest.single.backtest_metrics`."""
    if name == "infer_periods_per_year":
        from data_loaders.bars import bars_per_year

        return bars_per_year
    if name == "backtest_metrics":
        from backtest.single import backtest_metrics

        return backtest_metrics
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def register(subparsers: Any) -> None:
    """Add the ``backtest`` command."""
    parser = add_command(subparsers, "backtest", _run)
    add_strategy_options(parser)
    parser.add_argument(
        "--fees", type=float, default=0.001, help="proportional fee per order (default 0.001)"
    )
    parser.add_argument(
        "--fixed-fees", type=float, default=0.0, help="cash fee per order (default 0)"
    )
    parser.add_argument(
        "--slippage-bps",
        type=float,
        default=0.0,
        help="adverse fill-price move in basis points (default 0)",
    )
    parser.add_argument(
        "--execution",
        default="next-open",
        help="next-open (fill at the next bar's open, default) or close (at the signal bar's close)",
    )
    parser.add_argument("--direction", default="both", help="both (default), longonly or shortonly")
    parser.add_argument(
        "--init-cash", type=float, default=100_000.0, help="starting cash (default 100000)"
    )
    parser.add_argument("--whole-units", action="store_true", help="trade whole units only")
    parser.add_argument(
        "--periods-per-year",
        type=float,
        default=None,
        help="annualisation factor (default: inferred; 252 for daily stock bars)",
    )
    parser.add_argument(
        "--train-fraction",
        type=float,
        default=0.5,
        help="for strategies that learn: fraction of bars to fit on; metrics cover the rest (default 0.5)",
    )
    add_json_flag(parser, "the metrics")
    parser.add_argument(
        "--html",
        metavar="FILE",
        default=None,
        help="also write the tearsheet (charts, monthly returns, trades; opens offline) to FILE",
    )


def parse_param_values(strategy_cls: Any, items: list[str]) -> dict[str, Any]:
    """``["fast=10", ...]`` -> ``{"fast": 10, ...}`` parsed by each parameter's declared type.

    Raises:
        ParameterError: not ``NAME=VALUE``, unknown name (did you mean), or a value that does not
            parse as the declared type / is not one of the choices.
    """
    from data_loaders.errors import ParameterError, did_you_mean

    space = strategy_cls.space()
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name, text = name.strip(), text.strip()
        if not sep or not name:
            raise ParameterError(f"--param must be NAME=VALUE, got {item!r}")
        if name not in space:
            raise ParameterError(
                f"unknown parameter {name!r} for {strategy_cls.label()}{did_you_mean(name, space)}"
            )
        out[name] = _parse_value(space[name], name, text)
    return out


def _parse_value(param: Any, name: str, text: str) -> Any:
    from data_loaders.errors import ParameterError

    kind = getattr(param, "kind", "")
    try:
        if kind == "int":
            number = float(text)
            if not number.is_integer():
                raise ValueError
            return int(number)
        if kind == "float":
            return float(text)
    except ValueError:
        raise ParameterError(
            f"`{name}` must be {'an integer' if kind == 'int' else 'a number'}, got {name}={text!r}"
        ) from None
    choices = getattr(param, "choices", None)
    if choices is not None:
        for choice in choices:
            if isinstance(choice, bool):
                if text.lower() in (("true", "1", "yes") if choice else ("false", "0", "no")):
                    return choice
            elif str(choice) == text:
                return choice
        raise ParameterError(f"`{name}` must be one of {list(choices)}, got {name}={text!r}")
    return text


def _run(args: argparse.Namespace) -> int:
    """backtest one strategy and parameter set on one data source, print the metrics

    Compute the strategy's target positions on the bars, simulate them (target decided at a bar's
    close, filled at the next open by default; fees, slippage) and print risk-adjusted metrics.
    """
    from backtest.costs import Costs
    from backtest.execution import check_settings
    from data_loaders.bars import bars_index
    from strategies.guard import call_strategy, checked_positions

    costs = Costs(fees=args.fees, fixed_fees=args.fixed_fees, slippage_bps=args.slippage_bps)
    check_settings(costs, args.execution, args.direction, args.init_cash)
    strategy, bars, multi = _strategy_and_bars(args)
    index = bars_index(bars)
    setup = _execution(args, costs, index)
    start = _fit(args, strategy, bars, len(index))
    positions = checked_positions(strategy, bars)
    orders = {} if multi else call_strategy(strategy, "order_kwargs", bars)
    metrics = _metrics(args, bars, positions, setup, start, multi, orders)
    context = {
        "strategy": strategy.label(),
        "params": strategy.params,
        "data": args.data,
        "start": str(index[start]),
        "end": str(index[-1]),
        "n_bars": int(len(index) - start),
        "execution": args.execution,
        "direction": args.direction,
        "periods_per_year": setup.periods_per_year,
        **costs.to_dict(),
    }
    if args.html:
        _tearsheet(args, bars, positions, strategy, setup, start)
    if args.json:
        from research._json import dumps

        print(dumps({**metrics, **context}))  # NaN/inf as null
        return 0
    _print_table(metrics, context)
    return 0


def _strategy_and_bars(args: argparse.Namespace) -> tuple[Any, Any, bool]:
    """The strategy with ``--param`` values, the bars of ``--data`` and whether they hold
    several symbols (refused when the strategy wants the other kind)."""
    from data_loaders import load_bars
    from data_loaders.bars import is_multi
    from data_loaders.errors import ParameterError
    from strategies.registry import get_strategy

    strategy_cls = get_strategy(args.strategy)
    strategy = strategy_cls(**parse_param_values(strategy_cls, args.param))
    bars = load_bars(args.data)
    multi = is_multi(bars)
    if multi != bool(strategy_cls.multi_asset):
        want = (
            "several symbols (a folder)"
            if strategy_cls.multi_asset
            else "one symbol (a file or sample)"
        )
        raise ParameterError(
            f"strategy {strategy_cls.label()} needs {want}; --data {args.data} has "
            f"{len(bars) if multi else 1} symbol(s)"
        )
    return strategy, bars, multi


def _execution(args: argparse.Namespace, costs: Any, index: Any) -> Any:
    """The :class:`backtest.execution.Execution` of the options (bars per year inferred from
    the bar spacing unless ``--periods-per-year``)."""
    from backtest.execution import Execution
    from data_loaders.bars import bars_per_year

    return Execution(
        costs=costs,
        fill=args.execution,
        direction=args.direction,
        init_cash=args.init_cash,
        periods_per_year=args.periods_per_year or bars_per_year(index),
    )


def _fit(args: argparse.Namespace, strategy: Any, bars: Any, n_bars: int) -> int:
    """Fit a strategy that learns on the first ``--train-fraction`` of the bars; the first bar
    the metrics cover (0 for a strategy that does not learn)."""
    from data_loaders.bars import slice_bars
    from data_loaders.errors import DataTooShortError, ParameterError
    from strategies.guard import call_strategy

    if not type(strategy).needs_fit:
        return 0
    if not 0.0 < args.train_fraction < 1.0:
        raise ParameterError(f"--train-fraction must be in (0, 1), got {args.train_fraction}")
    start = int(n_bars * args.train_fraction)
    if start < 2 or n_bars - start < 2:
        raise DataTooShortError(f"--data {args.data} has {n_bars} bars: too few to fit and test")
    call_strategy(strategy, "fit", slice_bars(bars, 0, start))
    return start


def _metrics(
    args: argparse.Namespace,
    bars: Any,
    positions: Any,
    setup: Any,
    start: int,
    multi: bool,
    orders: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The metrics from bar ``start`` on: the fused batch kernel for one symbol, the vectorbt
    engine (with final equity, order count and fees paid) for several."""
    import numpy as np

    if not multi:
        from backtest.single import backtest_metrics

        positions = np.asarray(positions, dtype=np.float64)
        return backtest_metrics(
            bars, positions, setup, whole_units=args.whole_units, start=start, orders=orders
        )
    from backtest.engine import run_backtest

    result = run_backtest(
        bars, positions, **{**setup.engine_kwargs(), "whole_units": args.whole_units}
    )
    metrics = dict(result.metrics(periods_per_year=setup.periods_per_year))
    metrics["final_equity"] = result.final_equity
    orders = result.portfolio.orders.values
    metrics["n_orders"] = len(orders)
    metrics["fees_paid"] = float(orders["fees"].sum())
    return metrics


def _tearsheet(
    args: argparse.Namespace, bars: Any, positions: Any, strategy: Any, setup: Any, start: int
) -> None:
    """Write the ``--html`` tearsheet."""
    from backtest.tearsheet import backtest_tearsheet
    from data_loaders.bars import is_multi

    backtest_tearsheet(
        args.html,
        bars,
        positions,
        start=0 if is_multi(bars) else start,
        periods_per_year=setup.periods_per_year,
        title=f"{strategy.label()} on {args.data}",
        context={"params": strategy.params},
        costs=setup.costs,
        execution=args.execution,
        direction=args.direction,
        init_cash=args.init_cash,
        whole_units=args.whole_units,
    )


def _print_table(metrics: dict[str, Any], context: dict[str, Any]) -> None:
    params = ", ".join(f"{k}={v}" for k, v in context["params"].items())
    out = sys.stdout
    out.write(
        f"{context['strategy']}({params}) on {context['data']}: {context['n_bars']} bars "
        f"{context['start']} .. {context['end']}\n"
    )
    out.write(
        f"execution={context['execution']} direction={context['direction']} "
        f"fees={context['fees']:g} fixed_fees={context['fixed_fees']:g} "
        f"slippage_bps={context['slippage_bps']:g} periods_per_year={context['periods_per_year']:g}\n"
    )
    from backtest.metric_table import HEADLINE

    keys = list(HEADLINE) + [k for k in metrics if k not in HEADLINE]
    width = max(len(k) for k in keys)
    for key in keys:
        value = metrics[key]
        if isinstance(value, float) and not value.is_integer():
            text = f"{value:.6g}"
        elif isinstance(value, float) and math.isfinite(value):
            text = f"{value:.0f}" if abs(value) >= 1 or value == 0 else f"{value:.6g}"
        else:
            text = str(value)
        out.write(f"  {key:<{width}}  {text}\n")
