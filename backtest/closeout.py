"""Closing out a book whose equity reaches zero, so returns and metrics stay bounded.

Rule (both engines; the batch kernel applies it in :mod:`backtest._sim_nb`): when the equity
marked at a close is ``<= 0`` while a position is open (a short through a rally, or leverage),
the book is **closed out at that close**: every open trade closes at the close price with no
exit fee (``exit_reason`` ``"margin"``), the equity is floored at 0 (the deficit is not carried),
that bar's return is -100 % and every later return 0, and no later order is placed. The maximum
drawdown is then exactly -100 %, never beyond. :attr:`BacktestResult.liquidated_at` (reference
engine) and :attr:`BatchResult.liquidated_at` (batch path) say where it happened; the research
layer turns them into a note.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

__all__ = ["close_out"]


def close_out(result, close: pd.DataFrame):
    """``result`` (a :class:`backtest.BacktestResult`) closed out at its first close with equity
    <= 0, or unchanged when there is none. ``close`` holds the close prices, one column per symbol.
    """
    equity = result.equity.to_numpy(np.float64)
    wiped = equity <= 0
    if not wiped.any():
        return result
    k = int(np.argmax(wiped))
    eq = equity.copy()
    eq[k:] = 0.0
    prev = np.concatenate(([result.init_cash], eq[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        ret = np.where(prev > 0, (eq - prev) / prev, 0.0)
    before = result.positions_in_force
    in_force = before.copy()
    in_force.iloc[k:] = 0.0
    signed = np.asarray(before, dtype=np.float64)
    signed = signed.reshape(len(signed), -1)
    if result.order_changes is not None:
        changes = result.order_changes.copy()
    else:  # sum over symbols of |target change| per bar, from a flat start
        changes = np.abs(np.diff(signed, axis=0, prepend=0.0)).sum(axis=1)
    changes[k] += np.abs(signed[k]).sum()  # the close-out
    changes[k + 1 :] = 0.0
    exposure = result.exposure.copy()
    exposure.iloc[k:] = 0.0
    return dataclasses.replace(
        result,
        equity=pd.Series(eq, index=result.equity.index, name="equity"),
        returns=pd.Series(ret, index=result.equity.index, name="returns"),
        trades=_closed_trades(result, close, k),
        exposure=exposure,
        in_force=in_force,
        order_changes=changes,
        liquidated_at=result.equity.index[k],
    )


def _closed_trades(result, close: pd.DataFrame, k: int) -> pd.DataFrame:
    """The trades up to bar ``k``: those open at its close closed there (pnl without exit fee)."""
    trades = result.trades.copy()
    records = result.portfolio.trades.values
    entry_fees = np.asarray(records["entry_fees"], dtype=np.float64) if len(records) else []
    trades["_entry_fees"] = entry_fees
    trades = trades[trades.entry_bar <= k]
    active = (trades.status == "open") | (trades.exit_bar > k)
    if active.any():
        price = np.array([close[sym].iloc[k] for sym in trades.loc[active, "symbol"]])
        rows = trades.loc[active]
        side = np.where(rows.direction == "long", 1.0, -1.0)
        pnl = rows["size"] * (price - rows.entry_price) * side - rows["_entry_fees"]
        trades.loc[active, "exit_bar"] = k
        trades.loc[active, "exit_time"] = result.equity.index[k]
        trades.loc[active, "exit_price"] = price
        trades.loc[active, "fees"] = rows["_entry_fees"]
        trades.loc[active, "pnl"] = pnl
        trades.loc[active, "return"] = pnl / (rows["size"] * rows.entry_price)
        trades.loc[active, "status"] = "closed"
        trades.loc[active, "exit_reason"] = "margin"
    return trades.drop(columns="_entry_fees").reset_index(drop=True)
