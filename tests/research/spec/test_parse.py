"""Experiment specs: parsing, defaults, and errors that name the key and suggest the fix."""

from __future__ import annotations

import textwrap

import pytest
import yaml

from data_loaders.errors import ConfigError
from research.optimize.objectives import METRICS
from research.spec import (
    DataSpec,
    Experiment,
    StrategySpec,
    apply_overrides,
    default_experiment_dict,
    load_experiment,
    parse_experiment,
)
from research.spec import experiment_hash as spec_hash
from tests.research.spec._minimal import minimal_experiment as _parse


def test_minimal_spec_gets_every_default():
    exp = _parse()
    assert exp.name == "demo"
    assert exp.data == DataSpec(source="sample:sp500")
    assert exp.strategies == (StrategySpec(name="sma_cross", label="sma_cross"),)
    assert [o.name for o in exp.optimizers] == ["tpe"]
    assert exp.objectives[0].metric == "sharpe_ratio"
    assert exp.objectives[0].direction == "maximize"
    assert exp.walk_forward.train == "3Y" and exp.walk_forward.test == "1Y"
    assert exp.gates.min_dsr == 0.95 and exp.gates.max_pbo is None and exp.gates.min_wfe == 0.2
    assert exp.gates.dsr_trials == "candidates"
    assert exp.tracking.backend == "none"


def test_shorthands_expand():
    exp = _parse(
        data="sample:aapl",
        optimizer="ga",
        objective="max_drawdown",
        budget=12,
        explore=True,
        tracking="mlflow",
        report=False,
        ranking="sortino_ratio",
    )
    assert exp.data.source == "sample:aapl"
    assert [o.name for o in exp.optimizers] == ["ga"]
    # max_drawdown is a negative fraction: larger is better
    assert (exp.objectives[0].metric, exp.objectives[0].direction) == ("max_drawdown", "maximize")
    assert exp.budget.n_trials == 12
    assert exp.explore.enabled is True
    assert exp.tracking.backend == "mlflow"
    assert exp.report.enabled is False
    assert exp.ranking.metric == "sortino_ratio"


def test_turnover_objective_defaults_to_minimize():
    exp = _parse(objectives=["sharpe_ratio", {"metric": "turnover"}], optimizers=["nsga2"])
    assert [(o.metric, o.direction) for o in exp.objectives] == [
        ("sharpe_ratio", "maximize"),
        ("turnover", "minimize"),
    ]
    assert exp.multi_objective


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"walk_forwrd": {}}, "exp.yaml: walk_forwrd: unknown key (did you mean 'walk_forward'?)"),
        (
            {"walk_forward": {"trian": "3Y"}},
            "walk_forward.trian: unknown key (did you mean 'train'?)",
        ),
        (
            {"costs": {"slipage_bps": 2}},
            "costs.slipage_bps: unknown key (did you mean 'slippage_bps'?)",
        ),
        ({"gates": {"min_dsr": 1.5}}, "gates.min_dsr: must be <= 1, got 1.5"),
        ({"gates": {"dsr_trials": "candidate"}}, "gates.dsr_trials: must be one of ['candidates',"),
        ({"gates": {"max_drawdown": -0.3}}, "(write 0.3 for a 30% drawdown)"),
        (
            {"costs": {"execution": "next_open"}},
            "costs.execution: must be one of ['next-open', 'close'], got 'next_open' (did you mean 'next-open'?)",
        ),
        ({"objectives": [{"metric": "sharpe"}]}, "objectives[0].metric: must be one of"),
        ({"objectives": [{"metric": "sharpe"}]}, "(did you mean 'sharpe_ratio'?)"),
        ({"budget": {"n_trials": 0}}, "budget.n_trials: must be >= 1, got 0"),
        ({"budget": {"n_trials": 2.5}}, "budget.n_trials: must be an integer, got 2.5"),
        (
            {"walk_forward": {"train": "3 parsecs"}},
            "walk_forward.train: `train` must be a number of bars",
        ),
        ({"seed": "abc"}, "seed: must be an integer, got 'abc'"),
        ({"data": {"sorce": "x.csv"}}, "data.sorce: unknown key (did you mean 'source'?)"),
        ({"data": {"source": "x.csv", "start": "2020-13-45"}}, "data.start: must be an ISO date"),
        (
            {"data": {"source": "x.csv", "start": "2020-01-01", "end": "2019-01-01"}},
            "data.end: must be after data.start",
        ),
        ({"strategies": []}, "strategies: must be a non-empty list"),
        (
            {"strategies": [{"nmae": "sma_cross"}]},
            "strategies[0].nmae: unknown key (did you mean 'name'?)",
        ),
        (
            {"strategies": [{"name": "sma_cross", "space": {"fast": {"lo": 3}}}]},
            "strategies[0].space.fast.lo: unknown key (did you mean 'low'?)",
        ),
        ({"strategies": ["sma_cross", "sma_cross"]}, "duplicate strategy label 'sma_cross'"),
        (
            {"strategies": [{"name": "lgbm", "features": "explore"}]},
            "strategies[0].features: is 'explore' but exploration is off",
        ),
        (
            {"optimizer": "tpe", "optimizers": ["ga"]},
            "optimizer: give either `optimizer` or `optimizers`",
        ),
        ({"optimizers": ["tpe", "tpe"]}, "optimizers[1]: optimizer 'tpe' is listed twice"),
        (
            {"tracking": {"backend": "wandb"}},
            "tracking.backend: must be one of ['none', 'mlflow'], got 'wandb'",
        ),
        ({"scheduler": "tcp://h:8786"}, "scheduler: a Dask scheduler needs a shared `storage` URL"),
        ({"name": "my run/1"}, "name: must be letters, digits"),
    ],
)
def test_errors_name_the_key_and_suggest(changes, message):
    with pytest.raises(ConfigError) as info:
        _parse(**changes)
    assert message in str(info.value)
    assert str(info.value).startswith("exp.yaml: ")


def test_missing_required_keys():
    with pytest.raises(ConfigError, match=r"exp.yaml: name: is required"):
        parse_experiment({"data": "x.csv", "strategies": ["a"]}, source="exp.yaml")
    with pytest.raises(ConfigError, match=r"exp.yaml: data: is required"):
        parse_experiment({"name": "a", "strategies": ["a"]}, source="exp.yaml")
    with pytest.raises(ConfigError, match=r"exp.yaml: strategies: is required"):
        parse_experiment({"name": "a", "data": "x.csv"}, source="exp.yaml")
    with pytest.raises(ConfigError, match=r"exp.yaml: the file: must be a mapping"):
        parse_experiment(["a"], source="exp.yaml")


def test_load_names_the_file_and_yaml_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ndata: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: line \d+ is not valid YAML"):
        load_experiment(bad)
    with pytest.raises(ConfigError, match=r"experiment file '.*missing.yaml' not found"):
        load_experiment(tmp_path / "missing.yaml")
    good = tmp_path / "good.yaml"
    good.write_text(
        textwrap.dedent(
            """
            name: good
            data: {source: sample:sp500, start: 2005-01-03}
            strategies:
              - name: sma_cross
                space: {fast: {low: 5, high: 30}, slow: [50, 100, 200]}
            walk_forward: {train: 756, test: 252}
            """
        )
    )
    exp = load_experiment(good)
    assert exp.path == str(good)
    assert exp.data.start == "2005-01-03"  # YAML dates come back as ISO text
    assert exp.strategies[0].space == {"fast": {"low": 5, "high": 30}, "slow": [50, 100, 200]}
    assert exp.walk_forward.train == 756


def test_resolved_config_round_trips_through_yaml():
    exp = _parse(
        optimizers=[{"name": "ga", "options": {"population": 16}}],
        objectives=["sharpe_ratio", "max_drawdown"],
        gates={"min_dsr": None},
    )
    text = exp.to_yaml()
    again = parse_experiment(yaml.safe_load(text), source="resolved")
    assert again == exp
    assert spec_hash(again) == spec_hash(exp)


def test_defaults_document_every_section():
    d = default_experiment_dict()
    top = {
        "name",
        "data",
        "strategies",
        "description",
        "seed",
        "explore",
        "optimizers",
        "budget",
        "walk_forward",
        "objectives",
        "guardrails",
        "costs",
        "exits",
        "sizing",
        "gates",
        "ranking",
        "universe",
        "storage",
        "workers",
        "scheduler",
        "tracking",
        "report",
        "nightly",
        "lookahead",
    }
    assert set(d) == top
    assert parse_experiment(d, source="defaults").name == "my-experiment"


def test_cli_overrides_are_checked():
    exp = _parse()
    out = apply_overrides(exp, n_trials=7, seed=3, workers=2, storage="sqlite:///x.db")
    assert (out.budget.n_trials, out.seed, out.workers, out.storage) == (7, 3, 2, "sqlite:///x.db")
    assert apply_overrides(exp) is exp
    with pytest.raises(ConfigError, match=r"command line: --trials: must be >= 1, got 0"):
        apply_overrides(exp, n_trials=0)


def test_metric_names_are_batch_metrics():
    from backtest.batch import BATCH_METRICS

    assert set(METRICS) <= set(BATCH_METRICS)


def test_experiment_is_frozen():
    exp = _parse()
    assert isinstance(exp, Experiment)
    with pytest.raises(AttributeError):
        exp.name = "other"  # type: ignore[misc]
