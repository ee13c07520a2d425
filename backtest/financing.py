"""Leverage, maintenance margin, financing and fixed-notional sizing: the rules of both engines.

The batch kernel applies them in :mod:`backtest._margin_nb`; :mod:`backtest.ledger` is the
reference engine (a plain Python loop) that :func:`backtest.run_backtest` uses when any of them
is on. With every setting at its default the engines run their plain vectorbt arithmetic.

* **Leverage** (``max_leverage`` ``L >= 1``): targets lie in ``[-L, L]`` (the direction clip
  scaled by ``L``). A buy may spend up to ``cash + (L - 1) * equity`` (equity valued at the
  order price), fees included, and is reduced to fit; the cash may go negative (a loan). A
  sell (short) is not limited. ``L = 1`` with no other setting is the plain engine. Orders
  follow the plain engine's arithmetic (:func:`backtest._order_nb.order_nb`, vectorbt's, with
  that cap and the fee schedule of :class:`backtest.Costs`): a sell whose fees exceed its
  proceeds is not made.
* **Maintenance margin** (``maintenance_margin`` ``m``, a fraction; 0 = off): at each close,
  after financing, when ``equity < m * |position| * close`` the position is **closed at that
  close** as a market order (fees and slippage apply); its trade's exit reason is ``margin``.
  The strategy re-enters only when its target changes from the one in force at the call. When
  the equity at a close is ``<= 0`` the book is closed out instead (:mod:`backtest.closeout`).
* **Financing** (:class:`backtest.Costs` ``borrow_rate``, ``cash_rate``, ``debit_rate``,
  annual): charged at each close, in this order, with the per-bar rate
  ``annual / rates_per_year`` (the engines' argument; :class:`backtest.Execution` passes its
  ``periods_per_year``; simple, not compounded): a short pays
  ``borrow_rate * |position| * close``; then positive cash earns ``cash_rate * cash`` and
  negative cash pays ``debit_rate * |cash|`` (short-sale proceeds sit in cash and earn the cash
  rate: set it to 0 to model no rebate).
* **Funding** (perpetual futures): a rate series indexed by funding time (e.g.
  :func:`data_loaders.sources._ccxt.load_funding_rates`); each rate is charged at the close of
  the bar whose interval ``[index[k], index[k+1])`` holds its timestamp, on the position held
  at that close valued at the close: a long pays ``rate * position * close``, a short receives
  it (rates in a bar add up; rates outside the bars are ignored).
* **Volume participation** (``participation`` ``p`` in ``(0, 1]``; 0 = off): a strategy order
  trades at most ``p * volume`` units of its bar; when the move to the target is larger, the
  position moves by that many units and the target in force becomes the one that position
  represents; the **rest is carried**: the next bar orders again toward the strategy's target
  (its turnover counts each step). Exits, margin calls and close-outs fill in full.
* **Fixed notional** (``notional``): a target ``t`` means ``t * notional`` of exposure (cash)
  instead of ``t * equity``; the order size is ``t * notional / price`` units, subject to the
  buying power above.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from backtest._margin_nb import (
    FX_BASE,
    FX_BORROW,
    FX_CREDIT,
    FX_DEBIT,
    FX_FUNDING,
    FX_LEV,
    FX_MIN_FEE,
    FX_MM,
    FX_PARTICIPATION,
    FX_SELL_FEES,
    N_FX,
)
from backtest.sizing import check_range
from data_loaders.errors import DataValidationError, ParameterError

__all__ = ["MarginSettings", "margin_settings", "funding_per_bar", "market_array"]


class MarginSettings:
    """Checked leverage/margin/notional settings and their kernel array (``fx``, empty when all
    settings are at their defaults)."""

    def __init__(
        self, max_leverage: Any, maintenance_margin: Any, notional: Any, participation: Any = 0.0
    ) -> None:
        self.max_leverage = check_range("max_leverage", max_leverage, 1.0, 100.0, lo_open=False)
        self.maintenance_margin = check_range("maintenance_margin", maintenance_margin, 0.0, 1.0,
                                          lo_open=False)  # fmt: skip
        self.notional = (
            None if notional is None else check_range("notional", notional, 0.0, math.inf)
        )
        self.participation = check_range("participation", participation, 0.0, 1.0, lo_open=False)

    @property
    def active(self) -> bool:
        return (
            self.max_leverage != 1.0
            or self.maintenance_margin > 0
            or self.notional is not None
            or self.participation > 0
        )


def margin_settings(
    settings: MarginSettings, costs: Any, periods_per_year: float, has_funding: bool
) -> np.ndarray:
    """The kernel's ``fx`` array (:mod:`backtest._margin_nb` layout), or an empty one when no
    setting is on (the plain path)."""
    if not (settings.active or costs.extended or has_funding):
        return np.empty(0)
    fx = np.zeros(N_FX)
    fx[FX_LEV] = settings.max_leverage
    fx[FX_MM] = settings.maintenance_margin
    fx[FX_BORROW] = costs.borrow_rate / periods_per_year
    fx[FX_CREDIT] = costs.cash_rate / periods_per_year
    fx[FX_DEBIT] = costs.debit_rate / periods_per_year
    fx[FX_BASE] = np.nan if settings.notional is None else settings.notional
    fx[FX_FUNDING] = 1.0 if has_funding else 0.0
    fx[FX_SELL_FEES] = costs.fees if costs.sell_fees is None else costs.sell_fees
    fx[FX_MIN_FEE] = costs.min_fee
    fx[FX_PARTICIPATION] = settings.participation
    return fx


def funding_per_bar(funding: Any, index: Any, n_bars: int) -> np.ndarray:
    """Funding rates summed per bar: each rate goes to the bar whose ``[index[k], index[k+1])``
    holds its timestamp (see the module rules). ``funding`` is a Series indexed by time (a
    DataFrame with a ``funding_rate`` column, as ``load_funding_rates`` returns, also works),
    or an ``(n_bars,)`` array already per bar; ``None`` gives an empty array."""
    if funding is None:
        return np.empty(0)
    if isinstance(funding, pd.DataFrame):
        if "funding_rate" not in funding.columns:
            raise DataValidationError("`funding` DataFrame needs a `funding_rate` column")
        funding = funding["funding_rate"]
    if not isinstance(funding, pd.Series):
        arr = np.asarray(funding, dtype=np.float64)
        if arr.shape != (n_bars,):
            raise DataValidationError(
                f"`funding` as an array must have shape ({n_bars},), got {arr.shape}"
            )
        return _finite(arr, np.arange(n_bars))
    if not isinstance(index, pd.DatetimeIndex):
        raise DataValidationError("`funding` as a time series needs bars with a DatetimeIndex")
    rates = funding.astype(np.float64)
    times = pd.DatetimeIndex(rates.index)
    if (times.tz is None) != (index.tz is None):
        raise DataValidationError(
            f"`funding` index timezone {times.tz} does not match the bars' {index.tz}"
        )
    _finite(rates.to_numpy(), times)
    bar = index.searchsorted(times, side="right") - 1
    step = index[-1] - index[-2] if len(index) > 1 else pd.Timedelta(0)
    keep = (bar >= 0) & (times < index[-1] + step)
    out = np.zeros(n_bars)
    np.add.at(out, bar[keep], rates.to_numpy()[keep])
    return out


def market_array(funding: np.ndarray, volume: Any, settings: MarginSettings, n_bars: int):
    """The kernel's ``(n_bars, 2)`` ``market`` array (funding rate, volume), ``(0, 2)`` when
    neither is needed; ``volume`` is required (finite, >= 0) with a participation limit."""
    if not len(funding) and not settings.participation:
        return np.empty((0, 2))
    out = np.zeros((n_bars, 2))
    if len(funding):
        out[:, 0] = funding
    if settings.participation:
        if volume is None:
            raise ParameterError("`participation` needs the bars' `volume`")
        vol = np.asarray(volume, dtype=np.float64)
        bad = ~(np.isfinite(vol) & (vol >= 0))
        if vol.shape != (n_bars,) or bad.any():
            where = f"shape {vol.shape}" if vol.shape != (n_bars,) else f"bar {int(np.argmax(bad))}"
            raise DataValidationError(f"`volume` must be ({n_bars},) finite values >= 0 ({where})")
        out[:, 1] = vol
    return out


def _finite(arr: np.ndarray, where: Any) -> np.ndarray:
    bad = ~np.isfinite(arr)
    if bad.any():
        k = int(np.argmax(bad))
        raise DataValidationError(f"`funding` at {where[k]} must be a finite rate, got {arr[k]!r}")
    return np.ascontiguousarray(arr)
