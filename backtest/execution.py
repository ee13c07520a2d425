"""How positions become fills: one value object for costs, fill timing, direction, cash and
annualisation, shared by the search, the judging re-evaluations and ``research backtest``.

Conventions are those of :func:`backtest.run_backtest` / :func:`backtest.evaluate_batch`:
``fill="next-open"`` fills the target decided at a bar's close at the next bar's open,
``"close"`` at the same bar's close; ``direction`` is ``both``, ``longonly`` or ``shortonly``;
``periods_per_year`` annualises every metric (bars per year, see
:func:`data_loaders.bars.bars_per_year`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from backtest.costs import Costs

__all__ = ["Execution", "EXECUTIONS", "DIRECTIONS"]

#: fill modes (the ``execution=`` argument of the engines)
EXECUTIONS = ("next-open", "close")
#: directions and the position bounds each allows
DIRECTIONS = {"both": (-1.0, 1.0), "longonly": (0.0, 1.0), "shortonly": (-1.0, 0.0)}


@dataclass(frozen=True)
class Execution:
    """Costs, fill timing, direction, starting cash and bars per year of a simulation.

    Attributes:
        costs: :class:`backtest.costs.Costs` (fees, fixed fees, slippage).
        fill: ``next-open`` (default) or ``close``: the ``execution=`` argument of the engines.
        direction: ``both`` (default), ``longonly`` or ``shortonly``.
        init_cash: starting cash.
        periods_per_year: annualisation of the metrics (bars per year).
    """

    costs: Costs = field(default_factory=Costs)
    fill: str = "next-open"
    direction: str = "both"
    init_cash: float = 100_000.0
    periods_per_year: float = 252.0

    def engine_kwargs(self) -> dict[str, Any]:
        """``costs, execution, direction, init_cash``: the keyword arguments of
        :func:`backtest.run_backtest` and :func:`backtest.evaluate_batch`."""
        return {
            "costs": self.costs,
            "execution": self.fill,
            "direction": self.direction,
            "init_cash": self.init_cash,
        }
