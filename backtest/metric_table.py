"""The metric table: every metric's name, default direction, label and unit, in one place.

Every list of metric names in the project derives from :data:`METRICS` (as skfolio's
``measures`` enums do): :data:`backtest.metrics.METRIC_NAMES` (the keys of
``compute_metrics``), the kernel's ``RETURNS_METRICS`` (checked against it at import),
:data:`backtest.batch.BATCH_METRICS` (checked), ``research.optimize.objectives.METRICS`` and
``DEFAULT_DIRECTIONS``, the headline of ``research backtest`` and the report's tables. A new
metric is one row here plus its computation.

This module imports nothing heavy (no numba, no pandas), so the spec reader can use it.

``kind`` says where a metric comes from:

* ``returns``: the running-sum kernel of :mod:`backtest._metrics_nb` (same order);
* ``moment``: quantiles and moments of the returns (not in the fused batch kernel);
* ``count``: ``n_periods``;
* ``trades`` / ``positions``: trade and exposure statistics;
* ``simulation``: what only a simulation knows (final equity, orders, fees): in the batch
  kernel's output and ``research backtest``, not in ``compute_metrics``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "MetricInfo",
    "METRICS",
    "METRIC_INFO",
    "COMPUTED",
    "SEARCHABLE",
    "HEADLINE",
    "PERCENT",
    "DIRECTIONS",
    "names_of",
]


@dataclass(frozen=True)
class MetricInfo:
    """One metric.

    Attributes:
        name: the key in metric dicts and tables.
        direction: ``maximize`` or ``minimize``: the default when an objective names only it.
        label: a short human label.
        percent: a fraction shown as a percentage (``0.12`` -> ``12 %``).
        kind: where it is computed (see the module docstring).
        headline: shown first by ``research backtest``.
    """

    name: str
    direction: str
    label: str
    percent: bool
    kind: str
    headline: bool = False


_M = MetricInfo
#: every metric, in the order of ``compute_metrics`` then the simulation-only ones
METRICS: tuple[MetricInfo, ...] = (
    _M("total_return", "maximize", "Total return", True, "returns", True),
    _M("cagr", "maximize", "CAGR", True, "returns", True),
    _M("annual_volatility", "minimize", "Annual volatility", True, "returns", True),
    _M("sharpe_ratio", "maximize", "Sharpe ratio", False, "returns", True),
    _M("sortino_ratio", "maximize", "Sortino ratio", False, "returns", True),
    _M("max_drawdown", "maximize", "Max drawdown", True, "returns", True),
    _M("calmar_ratio", "maximize", "Calmar ratio", False, "returns", True),
    _M("omega_ratio", "maximize", "Omega ratio", False, "returns"),
    _M("tail_ratio", "maximize", "Tail ratio", False, "moment"),
    _M("value_at_risk", "maximize", "Value at risk", True, "moment"),
    _M("conditional_value_at_risk", "maximize", "Conditional VaR", True, "moment"),
    _M("skew", "maximize", "Skew", False, "moment"),
    _M("kurtosis", "minimize", "Excess kurtosis", False, "moment"),
    _M("n_periods", "maximize", "Periods", False, "count"),
    _M("n_trades", "maximize", "Trades", False, "trades", True),
    _M("win_rate", "maximize", "Win rate", True, "trades", True),
    _M("profit_factor", "maximize", "Profit factor", False, "trades"),
    _M("expectancy", "maximize", "Expectancy", False, "trades"),
    _M("exposure", "maximize", "Exposure", True, "positions"),
    _M("turnover", "minimize", "Turnover", False, "positions"),
    _M("final_equity", "maximize", "Final equity", False, "simulation"),
    _M("n_orders", "minimize", "Orders", False, "simulation"),
    _M("fees_paid", "minimize", "Fees paid", False, "simulation"),
)

#: name -> :class:`MetricInfo`
METRIC_INFO: dict[str, MetricInfo] = {m.name: m for m in METRICS}


def names_of(*kinds: str) -> tuple[str, ...]:
    """Names of the metrics of the given kinds, in table order."""
    return tuple(m.name for m in METRICS if m.kind in kinds)


#: keys of ``backtest.metrics.compute_metrics``, in order
COMPUTED = tuple(m.name for m in METRICS if m.kind != "simulation")
#: what the fused batch kernel gives per parameter set: what a search can optimize
SEARCHABLE = names_of("returns", "trades", "positions", "simulation")
#: shown first by ``research backtest``
HEADLINE = tuple(m.name for m in METRICS if m.headline)
#: fractions shown as percentages
PERCENT = frozenset(m.name for m in METRICS if m.percent)
#: default direction of every metric
DIRECTIONS: dict[str, str] = {m.name: m.direction for m in METRICS}
