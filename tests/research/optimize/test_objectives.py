"""research.optimize.objectives: its metric list is the batch path's, and directions are sane."""

from __future__ import annotations

import pytest

from backtest.batch import BATCH_METRICS
from data_loaders.errors import ConfigError
from research.experiment import default_experiment_dict, parse_experiment
from research.optimize.objectives import DEFAULT_DIRECTIONS, METRICS


def test_objective_metrics_are_exactly_the_batch_metrics():
    # the light list (no numba import) must name every column the batch path produces
    assert METRICS == BATCH_METRICS
    assert set(DEFAULT_DIRECTIONS) == set(METRICS)
    assert DEFAULT_DIRECTIONS["max_drawdown"] == "maximize"  # negative fraction: closer to 0
    assert DEFAULT_DIRECTIONS["turnover"] == "minimize"


def test_experiment_objectives_accept_every_metric_and_suggest_on_a_typo():
    d = default_experiment_dict()
    d["strategies"][0]["label"] = "sma"
    d["objectives"] = [{"metric": "fees_paid"}]
    exp = parse_experiment(d, source="x.yaml")
    assert exp.objectives[0].direction == "minimize"
    d["objectives"] = [{"metric": "sharpe_ration"}]
    with pytest.raises(ConfigError, match=r"objectives\[0\]\.metric.*did you mean 'sharpe_ratio'"):
        parse_experiment(d, source="x.yaml")
