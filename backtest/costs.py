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

    Raises:
        ParameterError: a value is negative, not finite or out of its range.
    """

    fees: float = 0.001
    fixed_fees: float = 0.0
    slippage_bps: float = 0.0

    def __post_init__(self) -> None:
        checks = (
            ("fees", self.fees, 1.0),
            ("fixed_fees", self.fixed_fees, math.inf),
            ("slippage_bps", self.slippage_bps, 10_000.0),
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

    def to_dict(self) -> dict[str, float]:
        """The three parameters as a plain dict (for run records and JSON)."""
        return {"fees": self.fees, "fixed_fees": self.fixed_fees, "slippage_bps": self.slippage_bps}
