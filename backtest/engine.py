"""The reference engine: target positions -> portfolio through vectorbt 1.2 ``Portfolio.from_orders``.

Semantics (the contract every consumer relies on):

* ``positions`` is the **target exposure** decided at each bar's close, a fraction of current
  equity in ``[-1, 1]`` (negative = short). An order is placed only when the target **changes**
  (the series starts from a flat target of 0); an unchanged target is never rebalanced.
* ``execution="next-open"`` (default): the target decided at bar ``t``'s close fills at bar
  ``t+1``'s open, valued at that open. ``execution="close"``: it fills at bar ``t``'s close.
* Sizing: ``target * equity / price`` units, where equity is valued at the fill price before the
  order; fractional units by default, whole units with ``whole_units=True`` (sizes rounded down).
  A buy that does not fit the cash (fees included) is reduced to what the cash buys.
* Costs: see :class:`backtest.costs.Costs` (proportional fees, fixed fees per order, slippage).
* ``direction``: ``"longonly"`` clips targets to ``[0, 1]``, ``"shortonly"`` to ``[-1, 0]``.
* Equity is marked to market at every close; nothing is closed at the end (an open position is
  an open trade valued at the last close).
* Several symbols: ``bars`` is a ``dict[symbol, DataFrame]`` with one shared index and
  ``positions`` a DataFrame with one column per symbol; the legs share one cash account (vectorbt
  ``cash_sharing``) and the targets are fractions of the whole account's equity. On a bar where
  several legs trade, sells execute before buys (``call_seq='auto'``).

vectorbt is imported lazily (it takes several seconds to import); the fast batch path
(:func:`backtest.evaluate_batch`) replicates this arithmetic without it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from backtest._sim_nb import MIN_SIZE
from backtest.costs import Costs
from backtest.execution import (
    DIRECTIONS,
    EXECUTIONS,
    check_choice,
    check_settings,
    direction_bounds,
)
from backtest.inputs import price_frames, target_frame
from backtest.result import TRADE_COLUMNS, BacktestResult, run_settings, trades_frame
from data_loaders.errors import DataValidationError, ParameterError

__all__ = [
    "BacktestResult",
    "TRADE_COLUMNS",
    "run_backtest",
    "EXECUTIONS",
    "DIRECTIONS",
    "direction_bounds",
    "check_choice",
    "order_targets",
    "targets_portfolio",
    "orders_portfolio",
]


def order_targets(targets: pd.DataFrame, execution: str) -> pd.DataFrame:
    """vectorbt ``size`` array: the target where it changes (from a flat 0), NaN elsewhere.

    With ``execution="next-open"`` the orders are shifted one bar later (the first bar has none).
    """
    previous = targets.shift(1).fillna(0.0)
    size = targets.where(targets.ne(previous))
    if execution == "next-open":
        size = size.shift(1)
    return size


def targets_portfolio(
    open_: pd.DataFrame | pd.Series,
    close: pd.DataFrame | pd.Series,
    targets: pd.DataFrame,
    *,
    costs: Costs,
    execution: str = "next-open",
    init_cash: float = 100_000.0,
    whole_units: bool = False,
    cash_sharing: bool = False,
) -> Any:
    """The vectorbt ``Portfolio`` of already validated, clipped targets (one column per series).

    This is the whole vectorbt configuration of the engine, also usable on many independent
    columns at once (``cash_sharing=False``: each column is its own account, e.g. one column per
    parameter set on one symbol). ``open_``, ``close`` and ``targets`` share index and columns;
    for many parameter sets on one symbol, ``open_`` and ``close`` may be one Series each, which
    vectorbt broadcasts across the target columns (no wide copies of the prices).
    """
    size = order_targets(targets, execution)
    price = open_ if execution == "next-open" else close
    return orders_portfolio(
        close, size, price, costs=costs, init_cash=init_cash, whole_units=whole_units,
        cash_sharing=cash_sharing,
    )  # fmt: skip


def orders_portfolio(
    close: Any,
    size: Any,
    price: Any,
    *,
    costs: Costs,
    init_cash: float,
    whole_units: bool,
    cash_sharing: bool = False,
) -> Any:
    """vectorbt ``Portfolio.from_orders`` with the engine's configuration: target-percent orders
    (``size``, NaN = none) filled at ``price`` and valued there, the costs, vectorbt's minimum
    size, whole or fractional units, cash never locked. Every reference path goes through it."""
    from backtest._vectorbt import import_vectorbt

    vbt = import_vectorbt()

    return vbt.Portfolio.from_orders(
        close=close,
        size=size,
        size_type="targetpercent",
        direction="both",
        price=price,
        val_price=price,
        fees=costs.fees,
        fixed_fees=costs.fixed_fees,
        slippage=costs.slippage,
        min_size=MIN_SIZE,
        size_granularity=1.0 if whole_units else np.nan,
        lock_cash=False,
        allow_partial=True,
        init_cash=init_cash,
        cash_sharing=cash_sharing,
        group_by=True if cash_sharing else None,
        call_seq="auto" if cash_sharing else "default",
        freq=None,
    )


def run_backtest(
    bars: pd.DataFrame | Mapping[str, pd.DataFrame],
    positions: pd.Series | pd.DataFrame | np.ndarray,
    *,
    costs: Costs | None = None,
    execution: str = "next-open",
    direction: str = "both",
    init_cash: float = 100_000.0,
    whole_units: bool = False,
    exits: Any = None,
    max_leverage: float = 1.0,
    maintenance_margin: float = 0.0,
    notional: float | None = None,
    funding: Any = None,
    rates_per_year: float | None = None,
    participation: float = 0.0,
    order_prices: Any = None,
    order_type: str = "limit",
    unfilled: str = "persist",
) -> BacktestResult:
    """Simulate target positions on bars through vectorbt and return the full analysis.

    Args:
        bars: OHLC bars (DataFrame) or ``dict[symbol, DataFrame]`` sharing one index.
        positions: target exposure in ``[-1, 1]`` decided at each close, indexed like the bars
            (Series or 1-D array; a DataFrame with one column per symbol for several symbols).
        costs: fees and slippage; ``Costs()`` (0.1 % fees) when None.
        execution: ``"next-open"`` (fill at the next bar's open) or ``"close"``.
        direction: ``"both"``, ``"longonly"`` or ``"shortonly"`` (clips the targets).
        init_cash: starting cash (> 0).
        whole_units: round order sizes down to whole units.
        exits: a :class:`backtest.Exits` exit layer (stops, targets, trailing, time stop) around
            the positions, one symbol only; the bars need ``high`` and ``low``. Rules in
            :mod:`backtest.exits`; the trades record their ``exit_reason``.
        max_leverage, maintenance_margin, notional, funding: leverage (targets in
            ``[-L, L]``), margin call, fixed-notional sizing and a funding-rate series; with
            these or the financing rates of ``costs`` on, one symbol runs through the reference
            loop of :mod:`backtest.ledger` (rules: :mod:`backtest.financing`; no ``portfolio``).
        rates_per_year: bars per year turning the annual financing rates of ``costs`` into
            per-bar rates (None: 252).
        participation: largest share of a bar's ``volume`` (a column of the bars) one order
            may trade; the rest is carried to the next bar (:mod:`backtest.financing`).
        order_prices, order_type, unfilled: limit or stop orders at prices set at each close
            (a Series like the positions, NaN: a market order), one symbol, next-open fills;
            the bars need ``high`` and ``low``. Rules: :mod:`backtest.entries`.

    Returns:
        :class:`BacktestResult`.

    Raises:
        ParameterError: bad ``execution``, ``direction``, ``init_cash`` or costs.
        DataValidationError: bars without valid open/close prices, positions misaligned with the
            bars, or a target that is NaN or outside ``[-1, 1]`` (the message names the bar).
    """
    costs, lo, hi, init_cash = check_settings(costs, execution, direction, init_cash)
    from backtest.financing import MarginSettings

    margin = MarginSettings(max_leverage, maintenance_margin, notional, participation)
    open_, close, multi = price_frames(bars)
    targets = target_frame(positions, close, multi, margin.max_leverage)
    targets = targets.clip(lo * margin.max_leverage, hi * margin.max_leverage)
    from backtest.checks import check_price_scale

    for sym in close.columns:
        check_price_scale(
            np.concatenate([open_[sym].to_numpy(), close[sym].to_numpy()]), init_cash,
            whole_units, "run_backtest", index=close.index.append(close.index),
        )  # fmt: skip
    if margin.active or costs.extended or funding is not None:
        from backtest.ledger import ledger_backtest

        if exits is not None or order_prices is not None or multi:
            raise ParameterError(
                "run_backtest: leverage, margin, notional, financing and funding apply to one "
                "symbol without `exits` or `order_prices` on the reference path (use "
                "evaluate_batch with them)"
            )
        return ledger_backtest(bars, targets, costs, execution, direction, init_cash,
                               whole_units, margin, funding, rates_per_year or 252.0)  # fmt: skip
    entry = None
    if order_prices is not None:
        from backtest.entries import check_order_options, order_price_matrix

        if multi:
            raise ParameterError("run_backtest: `order_prices` apply to one symbol")
        kind, cancel = check_order_options(order_type, unfilled, execution, "run_backtest")
        prices = order_price_matrix(order_prices, len(close), 1, "run_backtest", close.index)
        entry = (prices[:, 0], kind, cancel)
    if exits is not None or entry is not None:
        return _run_with_exits(bars, targets, exits, costs, execution, direction, init_cash,
                               whole_units, multi, entry)  # fmt: skip
    portfolio = targets_portfolio(
        open_,
        close,
        targets,
        costs=costs,
        execution=execution,
        init_cash=init_cash,
        whole_units=whole_units,
        cash_sharing=multi,
    )
    symbols = list(close.columns)
    from backtest.closeout import close_out

    value = portfolio.value()
    returns = portfolio.returns()
    if multi:
        equity = pd.Series(np.asarray(value, dtype=np.float64), index=close.index, name="equity")
        ret = pd.Series(np.asarray(returns, dtype=np.float64), index=close.index, name="returns")
        asset_value = portfolio.asset_value(group_by=False)
        exposure = asset_value.div(equity, axis=0)
        out_targets: pd.Series | pd.DataFrame = targets
    else:
        equity = pd.Series(value.to_numpy().ravel(), index=close.index, name="equity")
        ret = pd.Series(returns.to_numpy().ravel(), index=close.index, name="returns")
        asset_value = portfolio.asset_value().to_numpy().ravel()
        exposure = pd.Series(asset_value / equity.to_numpy(), index=close.index, name="exposure")
        out_targets = targets.iloc[:, 0].rename("position")
    result = BacktestResult(
        equity=equity,
        returns=ret,
        trades=trades_frame(portfolio, close.index, symbols),
        positions=out_targets,
        exposure=exposure,
        portfolio=portfolio,
        **run_settings(costs, execution, direction, init_cash, whole_units),
    )
    return close_out(result, close)


def _run_with_exits(
    bars: Any,
    targets: pd.DataFrame,
    exits: Any,
    costs: Costs,
    execution: str,
    direction: str,
    init_cash: float,
    whole_units: bool,
    multi: bool,
    entry: tuple[np.ndarray, int, bool] | None = None,
) -> BacktestResult:
    """:func:`run_backtest` with an exit layer or priced orders (one symbol):
    :func:`backtest.exits.exits_portfolio`."""
    from backtest.closeout import close_out
    from backtest.exits import Exits, exits_portfolio

    if exits is None:
        exits = Exits()
    if not isinstance(exits, Exits):
        raise ParameterError(f"`exits` must be a backtest.Exits, got {type(exits).__name__}")
    if multi:
        raise ParameterError("`exits` apply to one symbol; give bars as one DataFrame")
    missing = [c for c in ("high", "low") if c not in bars.columns]
    if missing:
        what = "exits" if exits.active or entry is None else "order_prices"
        raise DataValidationError(f"run_backtest: bars lack column(s) {missing}; {what} need them")
    o, h, lo_, c = (bars[col].to_numpy(np.float64) for col in ("open", "high", "low", "close"))
    bad = ~(np.isfinite(h) & np.isfinite(lo_)) | (h < np.maximum(o, c)) | (lo_ > np.minimum(o, c))
    if bad.any():
        k = int(np.argmax(bad))
        raise DataValidationError(
            f"run_backtest: bars at {bars.index[k]} must have low <= open, close <= high, got "
            f"open={o[k]!r} high={h[k]!r} low={lo_[k]!r} close={c[k]!r}"
        )
    run = exits_portfolio(
        o, h, lo_, c, targets.iloc[:, 0].to_numpy(), exits, costs=costs,
        next_open=execution == "next-open", init_cash=init_cash, whole_units=whole_units,
        entry=entry,
    )  # fmt: skip
    index = bars.index
    prev = np.concatenate(([init_cash], run.equity[:-1]))
    symbol = bars.attrs.get("symbol") or "close"
    result = BacktestResult(
        equity=pd.Series(run.equity, index=index, name="equity"),
        returns=pd.Series((run.equity - prev) / prev, index=index, name="returns"),
        trades=trades_frame(run.portfolio, index, [symbol], run.reasons),
        positions=targets.iloc[:, 0].rename("position"),
        exposure=pd.Series(run.asset_value / run.equity, index=index, name="exposure"),
        portfolio=run.portfolio,
        **run_settings(costs, execution, direction, init_cash, whole_units),
        exits=exits,
        in_force=pd.Series(run.in_force, index=index, name="position"),
        order_changes=run.changes,
    )
    return close_out(result, pd.DataFrame({symbol: c}, index=index))
