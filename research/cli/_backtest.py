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
import json
import math
import sys
from typing import Any

__all__ = ["register", "parse_param_values", "infer_periods_per_year", "backtest_metrics"]

#: metrics shown first in the text table
_HEADLINE = (
    "total_return",
    "cagr",
    "annual_volatility",
    "sharpe_ratio",
    "sortino_ratio",
    "max_drawdown",
    "calmar_ratio",
    "n_trades",
    "win_rate",
)


def register(subparsers: Any) -> None:
    """Add the ``backtest`` command."""
    parser = subparsers.add_parser(
        "backtest",
        help="backtest one strategy and parameter set on one data source, print the metrics",
        description="Compute the strategy's target positions on the bars, simulate them "
        "(target decided at a bar's close, filled at the next open by default; fees, slippage) "
        "and print risk-adjusted metrics.",
    )
    parser.add_argument(
        "--data", required=True, help="a .csv/.parquet file, a folder, or sample:NAME"
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
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--html",
        metavar="FILE",
        default=None,
        help="also write the tearsheet (charts, monthly returns, trades; opens offline) to FILE",
    )
    parser.set_defaults(handler=_run)


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


def infer_periods_per_year(index: Any) -> float:
    """Bars per year of a DatetimeIndex: 252 for daily weekday bars, 365 for daily bars with
    weekends, 52 weekly, 12 monthly; intraday: the observed bars per year of the data's span."""
    import numpy as np

    if len(index) < 2:
        return 252.0
    seconds = np.diff(index.to_numpy()).astype("timedelta64[ns]").astype(np.int64) / 1e9
    median = float(np.median(seconds))
    day = 86_400.0
    if 0.5 * day <= median <= 1.5 * day:
        has_weekend = bool((index.dayofweek >= 5).any())
        return 365.0 if has_weekend else 252.0
    if 5 * day <= median <= 8 * day:
        return 52.0
    if 27 * day <= median <= 32 * day:
        return 12.0
    if 85 * day <= median <= 95 * day:
        return 4.0
    span_years = (index[-1] - index[0]).total_seconds() / (365.25 * day)
    return float((len(index) - 1) / span_years) if span_years > 0 else 252.0


def backtest_metrics(
    bars: Any,
    positions: Any,
    *,
    costs: Any,
    execution: str,
    direction: str,
    init_cash: float,
    whole_units: bool,
    periods_per_year: float,
    start: int = 0,
) -> dict[str, Any]:
    """Metrics of one single-symbol backtest through the fused kernel (no vectorbt import).

    Keys and order are those of :func:`backtest.metrics.compute_metrics` (plus ``final_equity,
    n_orders, fees_paid``). The kernel gives the running-sum metrics (total return ... Omega,
    equal to ``compute_metrics`` on its returns to ~1e-13), the trade statistics (vectorbt exit
    trades), exposure and turnover; the quantile and moment metrics (tail ratio, VaR, CVaR,
    skew, kurtosis) are computed on the simulated returns. Only those kernels are loaded, which
    keeps a cold start (numba compiling into an empty cache) shorter.
    """
    import numpy as np

    from backtest import metrics as m
    from backtest.batch import evaluate_batch

    pos = np.asarray(positions, dtype=np.float64).reshape(-1, 1)
    result = evaluate_batch(
        bars["open"].to_numpy(np.float64),
        bars["close"].to_numpy(np.float64),
        pos,
        costs=costs,
        execution=execution,
        direction=direction,
        init_cash=init_cash,
        start=start,
        periods_per_year=periods_per_year,
        whole_units=whole_units,
        return_returns=True,
    )
    row = {k: result.metrics[k].iloc[0] for k in result.metrics.columns}
    returns = result.returns[:, 0]
    row["tail_ratio"] = m.tail_ratio(returns)
    row["value_at_risk"] = m.value_at_risk(returns)
    row["conditional_value_at_risk"] = m.conditional_value_at_risk(returns)
    row["skew"] = m.skew(returns)
    row["kurtosis"] = m.kurtosis(returns)
    row["n_periods"] = int(returns.shape[0])
    keys = [*m.METRIC_NAMES, "final_equity", "n_orders", "fees_paid"]
    return {k: _plain(row[k]) for k in keys}


def _plain(value: Any) -> Any:
    """numpy scalars -> Python numbers (JSON-ready)."""
    return value.item() if hasattr(value, "item") else value


def _run(args: argparse.Namespace) -> int:
    import numpy as np

    from backtest.costs import Costs
    from backtest.engine import EXECUTIONS, check_choice, direction_bounds
    from data_loaders import load_bars
    from data_loaders.errors import DataTooShortError, ParameterError
    from strategies.registry import get_strategy

    costs = Costs(fees=args.fees, fixed_fees=args.fixed_fees, slippage_bps=args.slippage_bps)
    check_choice("execution", args.execution, EXECUTIONS)
    direction_bounds(args.direction)
    strategy_cls = get_strategy(args.strategy)
    params = parse_param_values(strategy_cls, args.param)
    strategy = strategy_cls(**params)
    bars = load_bars(args.data)
    is_multi = isinstance(bars, dict)
    if is_multi != bool(strategy_cls.multi_asset):
        want = (
            "several symbols (a folder)"
            if strategy_cls.multi_asset
            else "one symbol (a file or sample)"
        )
        raise ParameterError(
            f"strategy {strategy_cls.label()} needs {want}; --data {args.data} has "
            f"{len(bars) if is_multi else 1} symbol(s)"
        )
    index = next(iter(bars.values())).index if is_multi else bars.index
    ppy = args.periods_per_year or infer_periods_per_year(index)
    start = 0
    if strategy_cls.needs_fit:
        if not 0.0 < args.train_fraction < 1.0:
            raise ParameterError(f"--train-fraction must be in (0, 1), got {args.train_fraction}")
        start = int(len(index) * args.train_fraction)
        if start < 2 or len(index) - start < 2:
            raise DataTooShortError(
                f"--data {args.data} has {len(index)} bars: too few to fit and test"
            )
        train = {s: b.iloc[:start] for s, b in bars.items()} if is_multi else bars.iloc[:start]
        strategy.fit(train)
    positions = strategy.positions(bars)

    if is_multi:
        from backtest.engine import run_backtest

        result = run_backtest(
            bars,
            positions,
            costs=costs,
            execution=args.execution,
            direction=args.direction,
            init_cash=args.init_cash,
            whole_units=args.whole_units,
        )
        metrics = {k: _plain(v) for k, v in result.metrics(periods_per_year=ppy).items()}
        metrics["final_equity"] = result.final_equity
        orders = result.portfolio.orders.values
        metrics["n_orders"] = len(orders)
        metrics["fees_paid"] = float(orders["fees"].sum())
    else:
        metrics = backtest_metrics(
            bars,
            np.asarray(positions, dtype=np.float64),
            costs=costs,
            execution=args.execution,
            direction=args.direction,
            init_cash=args.init_cash,
            whole_units=args.whole_units,
            periods_per_year=ppy,
            start=start,
        )
    context = {
        "strategy": strategy_cls.label(),
        "params": strategy.params,
        "data": args.data,
        "start": str(index[start]),
        "end": str(index[-1]),
        "n_bars": int(len(index) - start),
        "execution": args.execution,
        "direction": args.direction,
        "periods_per_year": ppy,
        **costs.to_dict(),
    }
    if args.html:
        from backtest.tearsheet import backtest_tearsheet

        backtest_tearsheet(
            args.html,
            bars,
            positions,
            start=0 if is_multi else start,
            periods_per_year=ppy,
            title=f"{strategy_cls.label()} on {args.data}",
            context={"params": strategy.params},
            costs=costs,
            execution=args.execution,
            direction=args.direction,
            init_cash=args.init_cash,
            whole_units=args.whole_units,
        )
    if args.json:
        payload = {**metrics, **context}
        print(json.dumps(payload, default=_json_default, allow_nan=True))
        return 0
    _print_table(metrics, context)
    return 0


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


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
    keys = list(_HEADLINE) + [k for k in metrics if k not in _HEADLINE]
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
