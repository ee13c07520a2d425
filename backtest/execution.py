"""How positions become fills: one value object for costs, fill timing, direction, cash and
annualisation, shared by the search, the judging re-evaluations and ``research backtest``.

Conventions are those of :func:`backtest.run_backtest` / :func:`backtest.evaluate_batch`:
``fill="next-open"`` fills the target decided at a bar's close at the next bar's open,
``"close"`` at the same bar's close; ``direction`` is ``both``, ``longonly`` or ``shortonly``;
``periods_per_year`` annualises every metric (bars per year, see
:func:`data_loaders.bars.bars_per_year`) and turns the annual financing rates of
:class:`backtest.Costs` into per-bar rates. Leverage, maintenance margin, fixed notional and
whole units follow the rules of :mod:`backtest.financing`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backtest.costs import Costs
from data_loaders.errors import ParameterError, did_you_mean

__all__ = [
    "Execution",
    "EXECUTIONS",
    "DIRECTIONS",
    "check_choice",
    "direction_bounds",
    "check_init_cash",
    "check_settings",
]

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
        periods_per_year: annualisation of the metrics and financing rates (bars per year).
        max_leverage: largest gross exposure ``L >= 1``; targets lie in ``[-L, L]`` (1: none).
        maintenance_margin: equity below this fraction of the gross position value at a close
            triggers a margin call (0: off).
        notional: fixed notional (cash) a target of 1 means; None: a fraction of equity.
        whole_units: round order sizes down to whole units.
        participation: largest share of a bar's volume one order may trade (0: no limit).
    """

    costs: Costs = field(default_factory=Costs)
    fill: str = "next-open"
    direction: str = "both"
    init_cash: float = 100_000.0
    periods_per_year: float = 252.0
    max_leverage: float = 1.0
    maintenance_margin: float = 0.0
    notional: float | None = None
    whole_units: bool = False
    participation: float = 0.0

    def __post_init__(self) -> None:
        from backtest.financing import MarginSettings

        MarginSettings(
            self.max_leverage, self.maintenance_margin, self.notional, self.participation
        )
        if not isinstance(self.whole_units, bool | np.bool_):
            raise ParameterError(f"`whole_units` must be true or false, got {self.whole_units!r}")

    def engine_kwargs(self) -> dict[str, Any]:
        """``costs, execution, direction, init_cash``: the keyword arguments of
        :func:`backtest.run_backtest` and :func:`backtest.evaluate_batch`; plus, only when set
        away from their defaults, ``max_leverage, maintenance_margin, notional, whole_units``
        and (with financing rates or fees beyond vectorbt's) ``rates_per_year`` (this
        ``periods_per_year``: the bars per year of the annual rates)."""
        out: dict[str, Any] = {
            "costs": self.costs,
            "execution": self.fill,
            "direction": self.direction,
            "init_cash": self.init_cash,
        }
        extra = {
            "max_leverage": (self.max_leverage, 1.0),
            "maintenance_margin": (self.maintenance_margin, 0.0),
            "notional": (self.notional, None),
            "whole_units": (bool(self.whole_units), False),
            "participation": (self.participation, 0.0),
        }
        out.update({k: v for k, (v, default) in extra.items() if v != default})
        if self.costs.extended:
            out["rates_per_year"] = self.periods_per_year
        return out

    def to_dict(self) -> dict[str, Any]:
        """Every setting as a plain JSON-ready dict (for ``run.json``)."""
        return {
            "costs": self.costs.to_dict(),
            "fill": self.fill,
            "direction": self.direction,
            "init_cash": self.init_cash,
            "periods_per_year": self.periods_per_year,
            "max_leverage": self.max_leverage,
            "maintenance_margin": self.maintenance_margin,
            "notional": self.notional,
            "whole_units": bool(self.whole_units),
            "participation": self.participation,
        }


def check_choice(name: str, value: Any, choices: Any) -> str:
    """Return ``value`` when it is one of ``choices``, else raise ParameterError (did you mean)."""
    if value not in choices:
        raise ParameterError(
            f"`{name}` must be one of {', '.join(map(repr, choices))}, got {value!r}"
            f"{did_you_mean(str(value), choices)}"
        )
    return value


def direction_bounds(direction: str) -> tuple[float, float]:
    """``(lo, hi)`` clip of the targets for a direction name."""
    return DIRECTIONS[check_choice("direction", direction, tuple(DIRECTIONS))]


def check_init_cash(init_cash: Any) -> float:
    """``init_cash`` as a finite float > 0 (ParameterError otherwise)."""
    try:
        value = float(init_cash)
    except (TypeError, ValueError):
        raise ParameterError(f"`init_cash` must be a positive number, got {init_cash!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise ParameterError(f"`init_cash` must be finite and > 0, got {init_cash!r}")
    return value


def check_settings(
    costs: Any, execution: str, direction: str, init_cash: Any
) -> tuple[Costs, float, float, float]:
    """Check the engines' settings: ``(costs, lo, hi, init_cash)`` with ``Costs()`` for None and
    ``(lo, hi)`` the position clip of ``direction``.

    Raises:
        ParameterError: costs that are not a :class:`Costs`, an unknown execution or direction,
            a non-positive or non-finite ``init_cash``.
    """
    costs = Costs() if costs is None else costs
    if not isinstance(costs, Costs):
        raise ParameterError(f"`costs` must be a backtest.Costs, got {type(costs).__name__}")
    check_choice("execution", execution, EXECUTIONS)
    lo, hi = direction_bounds(direction)
    return costs, lo, hi, check_init_cash(init_cash)
