"""Reference engine for leverage, margin calls, financing, funding and fixed-notional sizing.

A plain Python loop over the bars, written apart from the batch kernel
(:mod:`backtest._margin_nb`) so each checks the other. :func:`backtest.run_backtest` uses it
(one symbol, no exit layer) whenever one of the settings of :mod:`backtest.financing` is on;
the rules are documented there. Orders, costs, fills and exit trades otherwise follow
:func:`backtest.run_backtest`: a target decided at a close fills at the next open (or at that
close), an order only when the target changes, fees on the slipped fill value, vectorbt's
exit-trade bookkeeping (one trade per exit order; a reversal closes one trade and opens one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["LedgerRun", "run_ledger", "ledger_backtest"]

_TOL = 1e-9


def _near(a: float, b: float) -> bool:
    return abs(a - b) <= max(_TOL * max(abs(a), abs(b)), 1e-12)


@dataclass
class LedgerRun:
    """Per-bar ``equity``, ``asset_value``, ``in_force`` (target in force at each close),
    ``changes`` (sum of ``|target change|`` per bar), ``trades`` (dicts), ``fees_paid`` and
    ``liquidated_at`` (bar index or -1)."""

    equity: np.ndarray
    asset_value: np.ndarray
    in_force: np.ndarray
    changes: np.ndarray
    trades: list[dict] = field(default_factory=list)
    fees_paid: float = 0.0
    liquidated_at: int = -1


class _Book:
    """Cash, position and the open exit trade of one account."""

    def __init__(self, cash: float, costs, gran: float, lev: float, notional: float | None) -> None:
        self.cash, self.pos = cash, 0.0
        self.fees, self.fixed, self.slip, self.gran = (
            costs.fees,
            costs.fixed_fees,
            costs.slippage,
            gran,
        )
        self.sell_fees = costs.fees if costs.sell_fees is None else costs.sell_fees
        self.min_fee = costs.min_fee
        self.lev, self.notional = lev, notional
        self.trades: list[dict] = []
        self.open: dict | None = None
        self.fees_paid = 0.0

    def order(self, target: float, price: float, bar: int, reason: str) -> None:
        equity = self.cash + self.pos * price
        if equity <= 0:
            return
        base = equity if self.notional is None else self.notional
        want = target * base / price - self.pos
        if want == 0 or _near(want, 0.0):
            return
        if want > 0:
            fill = price * (1 + self.slip)
            size = self._round(want)
            power = self.cash + (self.lev - 1) * equity
            if size * fill + self._fee(size * fill, self.fees) > power * (1 + _TOL):
                size = (power - self.fixed) / (1 + self.fees) / fill
                if size * fill * self.fees < self.min_fee:  # the minimum fee binds
                    size = (power - self.fixed - self.min_fee) / fill
                size = self._round(size)
            rate = self.fees
        else:
            fill = price * (1 - self.slip)
            size = -self._round(-want)
            rate = self.sell_fees
        if abs(size) < 1e-8 * (1 - _TOL):
            return
        paid = self._fee(abs(size) * fill, rate)
        if size < 0 and -size * fill < paid:  # a sell whose fees exceed its proceeds (vectorbt)
            return
        self.cash -= size * fill + paid
        self.pos = 0.0 if _near(self.pos + size, 0.0) else self.pos + size
        self.fees_paid += paid
        self._book_trade(size, fill, paid, bar, reason)

    def _fee(self, value: float, rate: float) -> float:
        return max(self.min_fee, value * rate) + self.fixed

    def _round(self, size: float) -> float:
        return size if math.isnan(self.gran) else size // self.gran * self.gran

    def _book_trade(self, size: float, fill: float, paid: float, bar: int, reason: str) -> None:
        t = self.open
        if t is None or (t["size"] > 0) == (size > 0):  # open or add
            if t is None:
                t = self.open = {"entry_bar": bar, "size": 0.0, "gross": 0.0, "fees": 0.0,
                                 "long": size > 0}  # fmt: skip
            t["size"] += size
            t["gross"] += abs(size) * fill
            t["fees"] += paid
            return
        held = abs(t["size"])
        qty = min(abs(size), held)
        share = qty / abs(size)
        self._close(t, qty, fill, paid * share, bar, reason)
        left = held - qty
        if left > 0 and not _near(left, 0.0):  # partial exit
            t["gross"] *= left / held
            t["fees"] *= left / held
            t["size"] = math.copysign(left, t["size"])
            return
        self.open = None
        rest = abs(size) - qty
        if rest > 0 and not _near(rest, 0.0):  # reversal: the remainder opens a trade
            self.open = {"entry_bar": bar, "size": math.copysign(rest, size),
                         "gross": rest * fill, "fees": paid * (1 - share), "long": size > 0}  # fmt: skip

    def _close(self, t: dict, qty: float, fill: float, exit_fees: float, bar: int,
               reason: str | None) -> None:  # fmt: skip
        held = abs(t["size"])
        entry = t["gross"] / held
        entry_fees = t["fees"] * qty / held
        side = 1.0 if t["long"] else -1.0
        pnl = qty * (fill - entry) * side - entry_fees - exit_fees
        self.trades.append({
            "entry_bar": t["entry_bar"], "exit_bar": bar, "size": qty, "long": t["long"],
            "entry_price": entry, "exit_price": fill, "fees": entry_fees + exit_fees,
            "pnl": pnl, "return": pnl / (qty * entry), "status": "open" if reason is None
            else "closed", "exit_reason": reason,
        })  # fmt: skip


def run_ledger(
    open_: np.ndarray,
    close: np.ndarray,
    targets: np.ndarray,
    *,
    costs,
    next_open: bool,
    init_cash: float,
    whole_units: bool,
    max_leverage: float,
    maintenance_margin: float,
    notional: float | None,
    periods_per_year: float,
    funding: np.ndarray,
    participation: float = 0.0,
    volume: np.ndarray | None = None,
) -> LedgerRun:
    """Simulate clipped ``targets`` (``(n,)``) on one symbol; the rules of
    :mod:`backtest.financing`."""
    n = len(close)
    book = _Book(init_cash, costs, 1.0 if whole_units else math.nan, max_leverage, notional)
    borrow = costs.borrow_rate / periods_per_year
    credit = costs.cash_rate / periods_per_year
    debit = costs.debit_rate / periods_per_year
    equity, asset, in_force, changes = (np.zeros(n) for _ in range(4))
    held, blocked, dead = 0.0, None, -1
    for i in range(n):
        decided = (targets[i - 1] if i > 0 else 0.0) if next_open else targets[i]
        price = open_[i] if next_open else close[i]
        if blocked is not None and decided != blocked:
            blocked = None
        if dead < 0 and blocked is None and decided != held:
            goal = decided
            if participation > 0:  # at most participation * volume units; the rest carried
                worth = book.cash + book.pos * price
                base = worth if notional is None else notional
                move = decided * base / price - book.pos
                cap = participation * volume[i]
                if worth > 0 and abs(move) > cap:
                    goal = (book.pos + math.copysign(cap, move)) * price / base
            changes[i] += abs(goal - held)
            book.order(goal, price, i, "signal")
            held = goal
        if dead < 0:
            if book.pos < 0:
                book.cash -= borrow * -book.pos * close[i]
            book.cash += (credit if book.cash > 0 else debit) * book.cash
            if len(funding) and book.pos != 0:
                book.cash -= funding[i] * book.pos * close[i]
        eq = book.cash + book.pos * close[i]
        if dead < 0 and book.pos != 0 and eq <= 0:  # closed out (backtest.closeout)
            book._book_trade(-book.pos, close[i], 0.0, i, "margin")
            changes[i] += abs(held)
            book.cash, book.pos, held, eq, dead = 0.0, 0.0, 0.0, 0.0, i
        elif book.pos != 0 and eq < maintenance_margin * abs(book.pos) * close[i]:
            changes[i] += abs(held)
            blocked, held = held, 0.0
            book.order(0.0, close[i], i, "margin")
            eq = book.cash
            if eq <= 0:
                book.cash, eq, dead = 0.0, 0.0, i
        equity[i], asset[i] = eq, book.pos * close[i]
        in_force[i] = held
    if book.open is not None:
        t = book.open
        book._close(t, abs(t["size"]), close[-1], 0.0, n - 1, None)
    return LedgerRun(equity, asset, in_force, changes, book.trades, book.fees_paid, dead)


def ledger_backtest(bars, targets, costs, execution, direction, init_cash, whole_units, margin,
                    funding, periods_per_year):  # fmt: skip
    """:func:`backtest.run_backtest` through :func:`run_ledger`: one symbol, validated and
    clipped ``targets`` (a one-column DataFrame); ``portfolio`` is None."""
    import pandas as pd

    from backtest.financing import funding_per_bar
    from backtest.result import TRADE_COLUMNS, BacktestResult, run_settings

    if margin.participation and "volume" not in bars.columns:
        from data_loaders.errors import DataValidationError

        raise DataValidationError(
            "run_backtest: `participation` needs a `volume` column in the bars"
        )
    index = bars.index
    o = bars["open"].to_numpy(np.float64)
    c = bars["close"].to_numpy(np.float64)
    run = run_ledger(
        o, c, targets.iloc[:, 0].to_numpy(), costs=costs, next_open=execution == "next-open",
        init_cash=init_cash, whole_units=whole_units, max_leverage=margin.max_leverage,
        maintenance_margin=margin.maintenance_margin, notional=margin.notional,
        periods_per_year=float(periods_per_year), funding=funding_per_bar(funding, index, len(c)),
        participation=margin.participation,
        volume=bars["volume"].to_numpy(np.float64) if margin.participation else None,
    )  # fmt: skip
    prev = np.concatenate(([init_cash], run.equity[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        ret = np.where(prev > 0, (run.equity - prev) / prev, 0.0)
        exposure = np.where(run.equity > 0, run.asset_value / run.equity, 0.0)
    symbol = bars.attrs.get("symbol") or "close"
    trades = pd.DataFrame(run.trades, columns=[
        "entry_bar", "exit_bar", "size", "long", "entry_price", "exit_price", "fees", "pnl",
        "return", "status", "exit_reason"])  # fmt: skip
    trades["symbol"] = symbol
    trades["direction"] = np.where(trades.pop("long").astype(bool), "long", "short")
    trades["entry_time"] = index[trades.entry_bar.to_numpy(np.int64)]
    trades["exit_time"] = index[trades.exit_bar.to_numpy(np.int64)]
    return BacktestResult(
        equity=pd.Series(run.equity, index=index, name="equity"),
        returns=pd.Series(ret, index=index, name="returns"),
        trades=trades[TRADE_COLUMNS],
        positions=targets.iloc[:, 0].rename("position"),
        exposure=pd.Series(exposure, index=index, name="exposure"),
        portfolio=None,
        **run_settings(costs, execution, direction, init_cash, whole_units),
        liquidated_at=None if run.liquidated_at < 0 else index[run.liquidated_at],
        in_force=pd.Series(run.in_force, index=index, name="position"),
        order_changes=run.changes,
        close_prices=pd.Series(c, index=index, name=symbol),
    )
