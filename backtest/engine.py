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
from dataclasses import dataclass, field
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
from data_loaders.errors import DataValidationError, ParameterError

__all__ = [
    "BacktestResult",
    "run_backtest",
    "EXECUTIONS",
    "DIRECTIONS",
    "direction_bounds",
    "check_choice",
    "order_targets",
    "targets_portfolio",
    "orders_portfolio",
]


TRADE_COLUMNS = [
    "symbol",
    "direction",
    "status",
    "entry_time",
    "exit_time",
    "entry_bar",
    "exit_bar",
    "size",
    "entry_price",
    "exit_price",
    "fees",
    "pnl",
    "return",
    "exit_reason",
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


@dataclass
class BacktestResult:
    """Outcome of :func:`run_backtest`.

    Attributes:
        equity: portfolio value marked at each close (Series; one account for several symbols).
        returns: per-bar simple returns of ``equity``; the first is ``equity[0] / init_cash - 1``.
        trades: one row per exit trade (vectorbt's exit trades): ``symbol, direction`` ("long" /
            "short"), ``status`` ("closed" / "open"), ``entry_time, exit_time, entry_bar,
            exit_bar, size`` (units, > 0), ``entry_price, exit_price`` (fill prices incl.
            slippage; an open trade's exit price is the last close), ``fees`` (entry share +
            exit), ``pnl`` (cash, net of fees), ``return`` (pnl / entry value),
            ``exit_reason`` of closed trades (``signal``, or with an exit layer ``stop``,
            ``target``, ``trail``, ``time``, ``margin``; missing for an open trade).
        positions: the target exposures after the direction clip (Series, or DataFrame per symbol).
        exposure: the exposure actually held at each close, ``asset value / equity`` (signed).
        portfolio: the vectorbt ``Portfolio`` (for its full analysis API).
        init_cash, costs, execution, direction, whole_units, exits: the inputs.
        liquidated_at: the timestamp whose close found the equity <= 0 (None: never); see
            :func:`backtest.closeout.close_out`.
        in_force: with an exit layer, the target in force at each close after the exits (else
            None: :attr:`positions_in_force` derives it from the positions).
        order_changes: with an exit layer, the sum of ``|target change|`` per bar (an entry and
            an intrabar exit in one bar count twice); the ``turnover`` metric sums it.
        close_prices: the close prices when there is no vectorbt ``portfolio`` (the reference
            loop of :mod:`backtest.ledger`), else None.
    """

    equity: pd.Series
    returns: pd.Series
    trades: pd.DataFrame
    positions: pd.Series | pd.DataFrame
    exposure: pd.Series | pd.DataFrame
    portfolio: Any = field(repr=False)
    init_cash: float = 100_000.0
    costs: Costs = field(default_factory=Costs)
    execution: str = "next-open"
    direction: str = "both"
    whole_units: bool = False
    exits: Any = None
    liquidated_at: Any = None
    in_force: pd.Series | None = field(default=None, repr=False)
    order_changes: np.ndarray | None = field(default=None, repr=False)
    close_prices: pd.Series | None = field(default=None, repr=False)

    @property
    def final_equity(self) -> float:
        """Equity at the last close."""
        return float(self.equity.iloc[-1])

    @property
    def positions_in_force(self) -> pd.Series | pd.DataFrame:
        """The target in force at each close: ``positions`` shifted one bar for next-open fills
        (with an exit layer: after its exits)."""
        if self.in_force is not None:
            return self.in_force
        if self.execution == "next-open":
            return self.positions.shift(1).fillna(0.0)
        return self.positions

    def to_html(self, path: Any = None, periods_per_year: float = 252, **options: Any) -> str:
        """The tearsheet page (:func:`backtest.tearsheet.tearsheet_html`); written to ``path`` too."""
        from backtest.tearsheet import tearsheet_html
        from data_loaders.atomic import atomic_write_text

        text = tearsheet_html(self, periods_per_year=periods_per_year, **options)
        if path is not None:
            atomic_write_text(path, text)
        return text

    def plot(self, periods_per_year: float = 252) -> Any:
        """The summary plotly figure (:func:`backtest.tearsheet.tearsheet_figure`)."""
        from backtest.tearsheet import tearsheet_figure

        return tearsheet_figure(self, periods_per_year=periods_per_year)

    def _repr_html_(self) -> str:
        from backtest.tearsheet import notebook_html

        return notebook_html(self)

    def metrics(self, periods_per_year: float = 252, risk_free: float = 0.0) -> dict[str, float]:
        """Every metric of :func:`backtest.metrics.compute_metrics` for this backtest.

        Returns metrics come from :attr:`returns` (of the whole account); ``n_trades, win_rate,
        profit_factor, expectancy`` from :attr:`trades` (with several symbols every leg's trades
        count); ``exposure`` and ``turnover`` from :attr:`positions_in_force`, passed per symbol.

        Portfolio convention for several symbols: ``exposure`` is the fraction of bars on which
        *any* symbol holds a non-zero target (a hedged pair with legs ``+0.5 / -0.5`` is
        exposed, although its net exposure is 0), and ``turnover`` sums every symbol's
        ``|target change|`` per bar. Signed exposures are never summed across symbols.

        Args:
            periods_per_year: bars per year used to annualise (252 for daily stock bars).
            risk_free: per-period risk-free return (Sharpe, Omega).
        """
        from backtest.metrics import compute_metrics

        out = compute_metrics(
            self.returns,
            trades=self.trades,
            positions=self.positions_in_force,
            periods_per_year=periods_per_year,
            risk_free=risk_free,
        )
        if self.order_changes is not None:
            out["turnover"] = float(self.order_changes.sum() / len(self.order_changes))
        return out


def _frames(bars: Any) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    """``(open, close, multi)`` DataFrames with one column per symbol."""
    if isinstance(bars, Mapping):
        if not bars:
            raise DataValidationError(
                "run_backtest: `bars` is an empty dict; give at least one symbol"
            )
        symbols = list(bars)
        first = bars[symbols[0]]
        for sym in symbols:
            frame = bars[sym]
            _check_bars(frame, f"bars[{sym!r}]")
            if not frame.index.equals(first.index):
                raise DataValidationError(
                    f"run_backtest: bars[{sym!r}] index differs from bars[{symbols[0]!r}]; "
                    "several symbols must share one index (align them first)"
                )
        open_ = pd.DataFrame(
            {s: bars[s]["open"].to_numpy(np.float64) for s in symbols}, index=first.index
        )
        close = pd.DataFrame(
            {s: bars[s]["close"].to_numpy(np.float64) for s in symbols}, index=first.index
        )
        return open_, close, True
    _check_bars(bars, "bars")
    symbol = bars.attrs.get("symbol") or "close"
    open_ = pd.DataFrame({symbol: bars["open"].to_numpy(np.float64)}, index=bars.index)
    close = pd.DataFrame({symbol: bars["close"].to_numpy(np.float64)}, index=bars.index)
    return open_, close, False


def _check_bars(frame: Any, where: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError(
            f"run_backtest: {where} must be a DataFrame of bars, got {type(frame).__name__}"
        )
    missing = [c for c in ("open", "close") if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"run_backtest: {where} lacks column(s) {missing}; bars need open and close"
        )
    if len(frame) == 0:
        raise DataValidationError(f"run_backtest: {where} has no rows")
    for col in ("open", "close"):
        values = frame[col].to_numpy(np.float64)
        bad = ~(np.isfinite(values) & (values > 0))
        if bad.any():
            k = int(np.argmax(bad))
            raise DataValidationError(
                f"run_backtest: {where} column {col!r} at {frame.index[k]} must be a finite price > 0, "
                f"got {float(values[k])!r}"
            )


def _targets(positions: Any, close: pd.DataFrame, multi: bool, limit: float = 1.0) -> pd.DataFrame:
    """Positions as a float DataFrame shaped like ``close``, validated to lie in
    ``[-limit, limit]`` (the leverage)."""
    if isinstance(positions, pd.DataFrame):
        if not multi and positions.shape[1] == 1:
            positions = positions.iloc[:, 0]
        elif not multi:
            raise DataValidationError(
                f"run_backtest: positions has {positions.shape[1]} columns for one symbol; "
                "give a Series (or a dict of bars for several symbols)"
            )
    if multi:
        if not isinstance(positions, pd.DataFrame):
            raise DataValidationError(
                "run_backtest: several symbols need positions as a DataFrame with one column per "
                f"symbol, got {type(positions).__name__}"
            )
        unknown = [c for c in positions.columns if c not in close.columns]
        missing = [c for c in close.columns if c not in positions.columns]
        if unknown or missing:
            raise DataValidationError(
                f"run_backtest: positions columns must be the symbols {list(close.columns)}; "
                f"unknown {unknown}, missing {missing}"
            )
        if not positions.index.equals(close.index):
            raise DataValidationError("run_backtest: positions index differs from the bars index")
        frame = positions[list(close.columns)].astype(np.float64)
    else:
        if isinstance(positions, pd.Series):
            if not positions.index.equals(close.index):
                raise DataValidationError(
                    "run_backtest: positions index differs from the bars index; "
                    "compute positions on the same bars"
                )
            values = positions.to_numpy(np.float64)
        else:
            values = np.asarray(positions, dtype=np.float64)
            if values.ndim != 1 or len(values) != len(close):
                raise DataValidationError(
                    f"run_backtest: positions must have shape ({len(close)},), got {values.shape}"
                )
        frame = pd.DataFrame({close.columns[0]: values}, index=close.index)
    arr = frame.to_numpy()
    bad = ~((arr >= -limit) & (arr <= limit))
    if bad.any():
        row, col = np.argwhere(bad)[0]
        where = f"positions[{frame.columns[col]!r}]" if multi else "positions"
        raise DataValidationError(
            f"run_backtest: {where} at {frame.index[row]} must be a target exposure in "
            f"[{-limit:g}, {limit:g}], got {float(arr[row, col])!r}"
        )
    return frame


def _trades_frame(
    portfolio: Any, index: pd.Index, symbols: list[str], reasons: np.ndarray | None = None
) -> pd.DataFrame:
    """Exit trades as a frame; ``reasons`` (``(n, 2)`` codes) marks a portfolio on two rows per bar
    (the exit layer's grid), whose rows map to bars ``row // 2``."""
    from backtest.exits import EXIT_REASONS

    records = portfolio.trades.values
    if len(records) == 0:
        out = pd.DataFrame({c: [] for c in TRADE_COLUMNS})
        out["entry_time"] = pd.DatetimeIndex([], tz=getattr(index, "tz", None))
        out["exit_time"] = out["entry_time"]
        return out
    entry_idx = records["entry_idx"].astype(np.int64)
    exit_idx = records["exit_idx"].astype(np.int64)
    closed = records["status"] == 1
    why = np.where(closed, "signal", None).astype(object)
    if reasons is not None:
        codes = reasons.ravel()[exit_idx]
        why = np.where(closed & (codes >= 0), np.asarray(EXIT_REASONS, dtype=object)[codes], why)
        entry_idx, exit_idx = entry_idx // 2, exit_idx // 2
    return pd.DataFrame(
        {
            "symbol": np.asarray(symbols, dtype=object)[records["col"]],
            "direction": np.where(records["direction"] == 0, "long", "short"),
            "status": np.where(records["status"] == 1, "closed", "open"),
            "entry_time": index[entry_idx],
            "exit_time": index[exit_idx],
            "entry_bar": entry_idx,
            "exit_bar": exit_idx,
            "size": records["size"],
            "entry_price": records["entry_price"],
            "exit_price": records["exit_price"],
            "fees": records["entry_fees"] + records["exit_fees"],
            "pnl": records["pnl"],
            "return": records["return"],
            "exit_reason": why,
        }
    )


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
    import vectorbt as vbt

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
    open_, close, multi = _frames(bars)
    targets = _targets(positions, close, multi, margin.max_leverage)
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
        trades=_trades_frame(portfolio, close.index, symbols),
        positions=out_targets,
        exposure=exposure,
        portfolio=portfolio,
        init_cash=init_cash,
        costs=costs,
        execution=execution,
        direction=direction,
        whole_units=bool(whole_units),
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
        trades=_trades_frame(run.portfolio, index, [symbol], run.reasons),
        positions=targets.iloc[:, 0].rename("position"),
        exposure=pd.Series(run.asset_value / run.equity, index=index, name="exposure"),
        portfolio=run.portfolio,
        init_cash=init_cash,
        costs=costs,
        execution=execution,
        direction=direction,
        whole_units=bool(whole_units),
        exits=exits,
        in_force=pd.Series(run.in_force, index=index, name="position"),
        order_changes=run.changes,
    )
    return close_out(result, pd.DataFrame({symbol: c}, index=index))
