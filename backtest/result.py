"""The outcome of one reference backtest: :class:`BacktestResult` and its trade table.

:func:`backtest.run_backtest` (vectorbt) and :mod:`backtest.ledger` (the reference loop) both
return a :class:`BacktestResult`; its ``trades`` frame has the columns of :data:`TRADE_COLUMNS`
(vectorbt's exit trades: one trade per exit order, a reversal closes one and opens one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from backtest.costs import Costs

__all__ = ["BacktestResult", "TRADE_COLUMNS", "run_settings", "trades_frame"]

#: columns of :attr:`BacktestResult.trades`
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


def run_settings(
    costs: Costs, execution: str, direction: str, init_cash: float, whole_units: bool
) -> dict[str, Any]:
    """The inputs a :class:`BacktestResult` records, as its keyword arguments."""
    return {
        "init_cash": init_cash,
        "costs": costs,
        "execution": execution,
        "direction": direction,
        "whole_units": bool(whole_units),
    }


def trades_frame(
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
