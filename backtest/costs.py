"""Trading costs: proportional fees, fixed fees per order, and slippage.

Conventions (shared by :func:`backtest.run_backtest` and :func:`backtest.evaluate_batch`, and the
same as vectorbt's ``Portfolio.from_orders``):

* **Slippage** moves the fill price against you: a buy fills at ``price * (1 + bps / 10_000)``,
  a sell at ``price * (1 - bps / 10_000)``.
* **Proportional fees** are a fraction of the traded value at the slipped fill price:
  ``fees * size * fill_price``.
* **Fixed fees** are a cash amount paid once per filled order.

A buy never spends more than the available cash: when the requested size plus fees does not fit,
the size is reduced so that ``size * fill_price * (1 + fees) + fixed_fees == cash``.

Financing (annual rates, charged per bar at each close as ``rate / rates_per_year``, simple;
see :mod:`backtest.financing`): ``borrow_rate`` on the notional of a short position,
``cash_rate`` credited on a positive cash balance, ``debit_rate`` charged on a negative one
(borrowed cash when leveraged). All 0 by default, which leaves the engines' arithmetic unchanged.

Spread and fee schedule:

* ``spread_bps`` is the quoted bid-ask spread; each fill pays half of it, on top of the slippage
  (a buy fills at ``price * (1 + (slippage_bps + spread_bps / 2) / 10_000)``, a sell at
  ``price * (1 - ...)``), on every engine path. Per symbol: give each symbol's backtest its own
  :class:`Costs`.
* ``sell_fees`` (None: ``fees``) is the proportional fee of sells; ``fees`` then applies to buys.
* ``min_fee`` is the smallest proportional fee of a filled order (cash):
  ``max(min_fee, rate * traded value) + fixed_fees``; a buy reduced to fit the cash pays it too.

With financing rates, ``sell_fees`` or ``min_fee`` set, :func:`backtest.run_backtest` runs the
reference loop of :mod:`backtest.ledger` (vectorbt has no such settings).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

from data_loaders.errors import ParameterError

__all__ = ["Costs"]


def _at_least_zero(default: Any, below: float = math.inf) -> Any:
    """A :class:`Costs` setting: finite, ``>= 0`` and ``< below`` (checked and made a float by
    ``Costs.__post_init__``)."""
    return field(default=default, metadata={"below": below})


@dataclass(frozen=True)
class Costs:
    """Cost model of a backtest.

    Args:
        fees: proportional fee per order as a fraction of traded value (``0.001`` = 0.1 %), in
            ``[0, 1)``.
        fixed_fees: cash paid per filled order (same currency as ``init_cash``), ``>= 0``.
        slippage_bps: adverse move of the fill price in basis points, in ``[0, 10_000)``.
        borrow_rate: annual fee on short notional (``0.02`` = 2 % a year), in ``[0, 10)``.
        cash_rate: annual interest earned on positive cash, in ``[0, 10)``.
        debit_rate: annual interest paid on negative cash (a leveraged long), in ``[0, 10)``.
        spread_bps: quoted bid-ask spread in basis points (half paid per fill), ``[0, 10_000)``.
        sell_fees: proportional fee of sells (None: ``fees``), in ``[0, 1)``.
        min_fee: minimum proportional fee per filled order (cash), ``>= 0``.

    Raises:
        ParameterError: a value is negative, not finite or out of its range.
    """

    fees: float = _at_least_zero(0.001, below=1.0)
    fixed_fees: float = _at_least_zero(0.0)
    slippage_bps: float = _at_least_zero(0.0, below=10_000.0)
    borrow_rate: float = _at_least_zero(0.0, below=10.0)
    cash_rate: float = _at_least_zero(0.0, below=10.0)
    debit_rate: float = _at_least_zero(0.0, below=10.0)
    spread_bps: float = _at_least_zero(0.0, below=10_000.0)
    sell_fees: float | None = _at_least_zero(None, below=1.0)
    min_fee: float = _at_least_zero(0.0)

    def __post_init__(self) -> None:
        for f in fields(self):
            value, upper = getattr(self, f.name), f.metadata["below"]
            if value is None and f.default is None:  # sell_fees: off (the fee of buys)
                continue
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ParameterError(f"Costs: `{f.name}` must be a number, got {value!r}") from None
            if not math.isfinite(number) or number < 0 or number >= upper:
                bound = "" if math.isinf(upper) else f" and < {upper:g}"
                raise ParameterError(
                    f"Costs: `{f.name}` must be finite, >= 0{bound}, got {value!r}"
                )
            object.__setattr__(self, f.name, number)

    @property
    def slippage(self) -> float:
        """Adverse fill-price move as a fraction of price, as vectorbt takes it: the slippage plus
        half the spread, ``(slippage_bps + spread_bps / 2) / 10_000``."""
        return (self.slippage_bps + self.spread_bps / 2.0) / 10_000.0

    @property
    def financed(self) -> bool:
        """True when any financing rate is non-zero."""
        return bool(self.borrow_rate or self.cash_rate or self.debit_rate)

    @property
    def extended(self) -> bool:
        """True when a setting beyond vectorbt's (financing, ``sell_fees``, ``min_fee``) is on."""
        return self.financed or self.sell_fees is not None or self.min_fee > 0

    def to_dict(self) -> dict[str, float]:
        """The parameters as a plain dict (for run records and JSON); the financing rates only
        when one is non-zero, so records of unfinanced runs keep their three keys."""
        out = {"fees": self.fees, "fixed_fees": self.fixed_fees, "slippage_bps": self.slippage_bps}
        if self.financed:
            out.update(
                borrow_rate=self.borrow_rate, cash_rate=self.cash_rate, debit_rate=self.debit_rate
            )
        if self.spread_bps:
            out["spread_bps"] = self.spread_bps
        if self.sell_fees is not None:
            out["sell_fees"] = self.sell_fees
        if self.min_fee:
            out["min_fee"] = self.min_fee
        return out
