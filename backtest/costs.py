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

Financing (annual rates, charged per bar at each close as ``rate / periods_per_year``, simple;
see :mod:`backtest.financing`): ``borrow_rate`` on the notional of a short position,
``cash_rate`` credited on a positive cash balance, ``debit_rate`` charged on a negative one
(borrowed cash when leveraged). All 0 by default, which leaves the engines' arithmetic unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from data_loaders.errors import ParameterError

__all__ = ["Costs"]


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

    Raises:
        ParameterError: a value is negative, not finite or out of its range.
    """

    fees: float = 0.001
    fixed_fees: float = 0.0
    slippage_bps: float = 0.0
    borrow_rate: float = 0.0
    cash_rate: float = 0.0
    debit_rate: float = 0.0

    def __post_init__(self) -> None:
        checks = (
            ("fees", self.fees, 1.0),
            ("fixed_fees", self.fixed_fees, math.inf),
            ("slippage_bps", self.slippage_bps, 10_000.0),
            ("borrow_rate", self.borrow_rate, 10.0),
            ("cash_rate", self.cash_rate, 10.0),
            ("debit_rate", self.debit_rate, 10.0),
        )
        for name, value, upper in checks:
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ParameterError(f"Costs: `{name}` must be a number, got {value!r}") from None
            if not math.isfinite(number) or number < 0 or number >= upper:
                bound = "" if math.isinf(upper) else f" and < {upper:g}"
                raise ParameterError(f"Costs: `{name}` must be finite, >= 0{bound}, got {value!r}")
            object.__setattr__(self, name, number)

    @property
    def slippage(self) -> float:
        """Slippage as a fraction of price (``slippage_bps / 10_000``), as vectorbt takes it."""
        return self.slippage_bps / 10_000.0

    @property
    def financed(self) -> bool:
        """True when any financing rate is non-zero."""
        return bool(self.borrow_rate or self.cash_rate or self.debit_rate)

    def to_dict(self) -> dict[str, float]:
        """The parameters as a plain dict (for run records and JSON); the financing rates only
        when one is non-zero, so records of unfinanced runs keep their three keys."""
        out = {"fees": self.fees, "fixed_fees": self.fixed_fees, "slippage_bps": self.slippage_bps}
        if self.financed:
            out.update(
                borrow_rate=self.borrow_rate, cash_rate=self.cash_rate, debit_rate=self.debit_rate
            )
        return out
