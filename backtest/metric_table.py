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


#: name, direction, unit (``%``: a fraction shown as a percentage, ``-`` a plain number), kind,
#: headline (``*``) and label; one metric per line, in the order of ``compute_metrics`` then the
#: simulation-only ones
_TABLE = """
total_return               maximize  %  returns     *  Total return
cagr                       maximize  %  returns     *  CAGR
annual_volatility          minimize  %  returns     *  Annual volatility
sharpe_ratio               maximize  -  returns     *  Sharpe ratio
sortino_ratio              maximize  -  returns     *  Sortino ratio
max_drawdown               maximize  %  returns     *  Max drawdown
calmar_ratio               maximize  -  returns     *  Calmar ratio
omega_ratio                maximize  -  returns     -  Omega ratio
tail_ratio                 maximize  -  moment      -  Tail ratio
value_at_risk              maximize  %  moment      -  Value at risk
conditional_value_at_risk  maximize  %  moment      -  Conditional VaR
skew                       maximize  -  moment      -  Skew
kurtosis                   minimize  -  moment      -  Excess kurtosis
n_periods                  maximize  -  count       -  Periods
n_trades                   maximize  -  trades      *  Trades
win_rate                   maximize  %  trades      *  Win rate
profit_factor              maximize  -  trades      -  Profit factor
expectancy                 maximize  -  trades      -  Expectancy
exposure                   maximize  %  positions   -  Exposure
turnover                   minimize  -  positions   -  Turnover
final_equity               maximize  -  simulation  -  Final equity
n_orders                   minimize  -  simulation  -  Orders
fees_paid                  minimize  -  simulation  -  Fees paid
"""


def _row(line: str) -> MetricInfo:
    name, direction, unit, kind, headline, label = line.split(maxsplit=5)
    return MetricInfo(name, direction, label, unit == "%", kind, headline == "*")


#: every metric, in table order
METRICS: tuple[MetricInfo, ...] = tuple(_row(line) for line in _TABLE.strip().splitlines())

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
