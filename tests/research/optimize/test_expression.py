"""User-written objectives: the safe expression evaluator and the PSR metric."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from data_loaders.errors import ConfigError
from research.optimize.expression import MetricExpression, psr_metric, with_psr

NAMES = ("sharpe_ratio", "max_drawdown", "n_trades", "turnover", "psr")
TRIAL = {"sharpe_ratio": 1.2, "max_drawdown": -0.25, "n_trades": 30, "turnover": 0.1, "psr": 0.9}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sharpe_ratio - 0.5 * abs(max_drawdown)", 1.2 - 0.5 * 0.25),
        ("sharpe_ratio / (1 + turnover) ** 2", 1.2 / 1.1**2),
        ("min(sharpe_ratio, 1) + max(n_trades, 50) % 7", 1.0 + 50 % 7),
        ("clip(-max_drawdown, 0, 0.2) + sqrt(4) + log(exp(1))", 0.2 + 2 + 1),
        ("n_trades >= 20 and max_drawdown > -0.3", 1.0),
        ("0 < turnover < 0.05 or not n_trades", 0.0),
        ("sharpe_ratio if n_trades > 10 else -1e9", 1.2),
        ("-psr + +1", 1 - 0.9),
    ],
)
def test_values(text, expected):
    expr = MetricExpression(text, NAMES)
    assert expr(TRIAL) == pytest.approx(expected)


def test_names_used_and_float_arithmetic_never_raises():
    expr = MetricExpression("sharpe_ratio / n_trades + sharpe_ratio", NAMES)
    assert expr.names_used == ["sharpe_ratio", "n_trades"]
    assert expr({**TRIAL, "n_trades": 0}) == math.inf
    assert math.isnan(MetricExpression("n_trades / n_trades", NAMES)({**TRIAL, "n_trades": 0}))
    assert MetricExpression("10 ** 10 ** 10", NAMES)(TRIAL) == math.inf
    assert math.isnan(MetricExpression("log(max_drawdown)", NAMES)(TRIAL))
    assert math.isnan(MetricExpression("abs(sharpe_ratio)", NAMES)({**TRIAL, "sharpe_ratio": None}))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sharpe_ration * 2", "unknown metric 'sharpe_ration'.*did you mean 'sharpe_ratio'"),
        ("__import__('os').system('x')", "unknown function .*valid names: abs"),
        ("open('/etc/passwd')", "unknown function 'open'"),
        ("sharpe_ratio.__class__", "Attribute is not allowed at column 1"),
        ("[x for x in ()]", "ListComp is not allowed"),
        ("'a' * 3", "only numbers are allowed"),
        ("lambda: 1", "Lambda is not allowed"),
        ("abs(1, 2)", r"abs\(\) takes 1 argument"),
        ("sharpe_ratio +", "is not a valid expression"),
        ("", "the expression is empty"),
        ("1+" * 300 + "1", "characters"),
        ("abs(" * 80 + "1" + ")" * 80, "parts"),
    ],
)
def test_refused_in_one_line(text, message):
    with pytest.raises(ConfigError, match=message) as exc:
        MetricExpression(text, NAMES, where="objective")
    assert "\n" not in str(exc.value) and str(exc.value).startswith("objective: ")


def test_missing_metric_at_evaluation():
    with pytest.raises(ConfigError, match="metric 'psr' is missing"):
        MetricExpression("psr", NAMES)({"sharpe_ratio": 1.0})


def test_psr_metric_matches_the_formula():
    rng = np.random.default_rng(5)
    r = rng.standard_t(5, 500) * 0.01 + 0.0008
    sr = r.mean() / r.std(ddof=1)
    skew = stats.skew(r)
    kurt = stats.kurtosis(r, fisher=False)
    z = sr * math.sqrt(len(r) - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
    assert psr_metric(r) == pytest.approx(stats.norm.cdf(z), rel=1e-12)
    assert psr_metric(r, sharpe_benchmark=sr) == pytest.approx(0.5)
    assert math.isnan(psr_metric([0.01, 0.01, 0.01]))
    assert MetricExpression("psr", NAMES)(with_psr(TRIAL, r)) == psr_metric(r)
