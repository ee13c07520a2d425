"""Exits, sizing and user objectives through the whole run: spec -> search -> judge -> report."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml

from backtest.exits import EXIT_REASONS, Exits
from backtest.lookahead import check_lookahead
from data_loaders.errors import ConfigError
from research.optimize.layers import layered_positions
from research.spec import parse_experiment
from research.spec.build import build_execution, layered_strategy
from tests.research import _runs

EXITS_SPEC = _runs.spec(
    name="tiny-exits",
    strategies=[{"name": "sma_cross", "space": {"fast": {"low": 5, "high": 30}}}],
    optimizers=["tpe"],
    exits={
        "stop_loss": {"low": 0.01, "high": 0.08},
        "take_profit": 0.2,
        "intrabar": "conservative",
    },
    sizing={"method": "vol_target", "target_vol": {"low": 0.05, "high": 0.3}, "window": 20},
    objectives=[{"expression": "sharpe_ratio - 0.5 * abs(max_drawdown)", "name": "sharpe_dd"}],
    guardrails={"min_trades": 1, "rules": ["n_trades >= 1"]},
)


@pytest.fixture(scope="module")
def run():
    return _runs.finished_run(EXITS_SPEC, tag="exits")


@pytest.fixture(scope="module")
def trials(run):
    return pd.read_parquet(run.run_dir / "series" / "trials.parquet")


def test_searched_exit_and_sizing_values_are_in_every_trial_and_the_champion(run, trials):
    params = [json.loads(p) for p in trials["params"]]
    assert len(params) == 18
    for p in params:
        assert set(p) == {"fast", "slow", "exit_stop_loss", "sizing_target_vol"}
        assert 0.01 <= p["exit_stop_loss"] <= 0.08
        assert 0.05 <= p["sizing_target_vol"] <= 0.3
    assert len({p["exit_stop_loss"] for p in params}) > 5  # searched, not fixed
    row = run.results.leaderboard[0]
    assert {"exit_stop_loss", "sizing_target_vol"} <= set(row.params)


def test_run_json_and_config_record_exits_and_sizing(run):
    record = json.loads((run.run_dir / "run.json").read_text())
    layers = record["trade_layers"]["sma_cross"]
    assert layers["exits"] == {
        "atr_window": 14,
        "intrabar": "conservative",
        "reentry": "after-reset",
        "take_profit": 0.2,
    }
    assert layers["sizing"] == {
        "method": "vol_target",
        "window": 20,
        "max_leverage": 1.0,
        "whole_units": False,
    }
    assert set(layers["searched"]) == {"exit_stop_loss", "sizing_target_vol"}
    config = yaml.safe_load((run.run_dir / "config.yaml").read_text())
    execution = record["execution"]  # the costs/execution section as the engines received it
    assert execution["costs"]["fees"] == config["costs"]["fees"]
    assert (execution["fill"], execution["max_leverage"]) == (config["costs"]["execution"], 1.0)
    config = yaml.safe_load((run.run_dir / "config.yaml").read_text())
    assert config["sizing"]["method"] == "vol_target"
    assert config["exits"]["stop_loss"] == {"low": 0.01, "high": 0.08}


def test_champion_trades_carry_exit_reasons_and_stops_fire(run):
    trades = pd.read_parquet(run.run_dir / "series" / "champion_trades.parquet")
    assert "exit_reason" in trades.columns
    closed = trades[trades["status"] == "closed"]
    assert set(closed["exit_reason"]) <= set(EXIT_REASONS)
    assert "stop" in set(closed["exit_reason"])  # stops of 1-8 % fire on five years of bars


def test_search_metrics_match_a_backtest_with_the_same_exits(run):
    """The search's evaluation path passes each set's Exits: its final equity equals
    run_backtest with those exits, sized positions and the run's execution."""
    from backtest.engine import run_backtest
    from research.judge import evaluate_sets

    exp = parse_experiment(EXITS_SPEC)
    bars = run_bars()
    execution = build_execution(exp, 252.0)
    cls = layered_strategy(exp, exp.strategies[0], 252.0, key="s")
    params = dict(run.results.leaderboard[0].params)
    (res,) = evaluate_sets(execution, cls, [params], (250, 750), bars=bars, fit=None)
    pos = cls(**params).positions(bars.iloc[:750])
    exits = Exits(stop_loss=params["exit_stop_loss"], take_profit=0.2)
    bt = run_backtest(
        bars.iloc[249:750], pos.iloc[249:750], **execution.engine_kwargs(), exits=exits
    )
    equity = bt.equity.to_numpy()
    # the window starts at bar 250 (the order decided at 249 fills at 250's open)
    expected = execution.init_cash * equity[-1] / equity[0]
    assert res.metrics[0]["final_equity"] == pytest.approx(expected, rel=1e-9)
    assert res.metrics[0]["n_trades"] >= 1


def run_bars():
    from research.run.data import load_experiment_data

    return load_experiment_data(parse_experiment(EXITS_SPEC))


def test_vol_target_sizing_scales_the_strategy_by_the_causal_volatility_estimate():
    exp = parse_experiment(EXITS_SPEC)
    bars = run_bars()
    cls = layered_strategy(exp, exp.strategies[0], 252.0, key="s")
    plain = cls.__mro__[1]
    params = {"fast": 10, "slow": 40, "exit_stop_loss": 0.05, "sizing_target_vol": 0.1}
    raw = plain(fast=10, slow=40).positions(bars).to_numpy()
    r = bars["close"].to_numpy()
    rets = r[1:] / r[:-1] - 1
    vol = np.full(len(r), np.nan)
    for t in range(20, len(r)):
        vol[t] = np.std(rets[t - 20 : t], ddof=1) * math.sqrt(252)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.floor(np.minimum(1.0, 0.1 / vol) / 0.05 + 1e-9) * 0.05
    scale = np.where(np.isfinite(scale), scale, 0.0)
    sized = cls(**params).positions(bars).to_numpy()
    np.testing.assert_allclose(sized, raw * scale, atol=1e-12)
    batch = cls.batch_positions(bars, [params, {**params, "sizing_target_vol": 0.2}])
    np.testing.assert_allclose(batch[:, 0], sized, atol=1e-12)
    assert not np.allclose(batch[:, 1], sized)


def test_champion_with_exits_passes_the_lookahead_check(run):
    """Positions in force after exits and sizing, cut at many points, equal the full run's."""
    exp = parse_experiment(EXITS_SPEC)
    bars = run_bars()
    execution = build_execution(exp, 252.0)
    cls = layered_strategy(exp, exp.strategies[0], 252.0, key="s")
    params = dict(run.results.leaderboard[0].params)
    fn = layered_positions(cls, params, execution)
    report = check_lookahead(fn, bars.iloc[:600], n_cuts=12, min_bars=100)
    assert report.ok, report.message
    assert report.n_cuts_checked >= 10

    held = layered_positions(cls, {**params, "fast": 10, "slow": 40}, execution)
    assert (held(bars.iloc[:600]) != 0).mean() > 0.3

    def leaky(b):  # an exit that keeps a position only when the next bar is known: caught
        return held(b) * (b["low"].shift(-1) > 0)

    bad = check_lookahead(leaky, bars.iloc[:600], n_cuts=30, min_bars=100)
    assert not bad.ok and bad.full_value != 0 and bad.cut_value == 0


def test_spec_errors_name_the_key_and_suggest():
    base = _runs.spec(strategies=["sma_cross"])
    cases = [
        (
            {"objectives": ["sharp_ratio"]},
            r"objectives\[0\]\.metric: .*did you mean 'sharpe_ratio'",
        ),
        (
            {"objectives": ["sharpe_ratio - abs(max_drawdwn)"]},
            r"objectives\[0\]\.expression: unknown metric 'max_drawdwn'.*did you mean 'max_drawdown'",
        ),
        (
            {"exits": {"stop_los": 0.02}},
            r"exits\.stop_los: unknown key \(did you mean 'stop_loss'\?\)",
        ),
        ({"exits": {"stop_loss": 1.5}}, r"exits\.stop_loss: .*\(0, 1\)"),
        ({"exits": {"stop_loss": {"low": 0.01, "hi": 0.1}}}, r"exits\.stop_loss: unknown key 'hi'"),
        ({"sizing": {"method": "vol_targt"}}, r"sizing\.method: .*did you mean 'vol_target'"),
        (
            {"guardrails": {"rules": ["n_trade > 3"]}},
            r"guardrails\.rules\[0\]: unknown metric 'n_trade'",
        ),
    ]
    for change, pattern in cases:
        with pytest.raises(ConfigError, match=pattern) as info:
            parse_experiment({**base, **change})
        assert "\n" not in str(info.value)


def test_exits_around_a_multi_asset_strategy_are_refused():
    from research.spec import StrategySpec

    exp = parse_experiment(_runs.spec(exits={"stop_loss": 0.05}, strategies=["pairs_zscore"]))
    with pytest.raises(ConfigError, match="exits and sizing apply to one symbol"):
        layered_strategy(exp, StrategySpec(name="pairs_zscore"), 252.0, key="strategies[0]")


def test_report_shows_exit_reasons_and_importance_ranks_the_exit_parameters(run):
    import re

    trades = pd.read_parquet(run.run_dir / "series" / "champion_trades.parquet")
    closed = trades[trades["status"] == "closed"]
    html = (run.run_dir / "report.html").read_text(encoding="utf-8")
    assert "<h3>Exit reasons</h3>" in html
    for reason, n in closed["exit_reason"].value_counts().items():
        row = re.search(rf'<td class="l">{reason}</td><td class="">(\d+)</td>', html)
        assert row is not None and int(row.group(1)) == n, reason
    results = json.loads((run.run_dir / "results.json").read_text())
    fanova = results["importance"]["sma_cross"]["fanova"]
    assert {"exit_stop_loss", "sizing_target_vol", "fast", "slow"} == set(fanova)
    assert sum(fanova.values()) == pytest.approx(1.0, abs=0.02)


def test_a_closed_out_book_is_named_in_the_run_notes():
    from types import SimpleNamespace

    from research.run.summarize import closeout_note

    bars = run_bars()
    folds = [
        SimpleNamespace(fold=0, oos_metrics={"sharpe_ratio": 1.0}),
        SimpleNamespace(fold=1, oos_metrics={"liquidated_at": 600.0}),
    ]
    s = SimpleNamespace(bars=bars, result=SimpleNamespace(folds=folds))
    note = closeout_note(s)
    assert note == (
        f"book closed out (equity <= 0; flat afterwards) in fold 1 at {bars.index[600].date()}"
    )
    assert closeout_note(SimpleNamespace(bars=bars, result=SimpleNamespace(folds=folds[:1]))) == ""


def test_vol_target_above_one_trades_with_that_leverage():
    from backtest.engine import run_backtest
    from research.judge import evaluate_sets

    raw = _runs.spec(
        strategies=["sma_cross"],
        sizing={"method": "vol_target", "target_vol": 0.4, "max_leverage": 2.0},
    )
    exp = parse_experiment(raw)
    bars = run_bars()
    execution = build_execution(exp, 252.0)
    cls = layered_strategy(exp, exp.strategies[0], 252.0, key="s")
    params = {"fast": 10, "slow": 40}
    pos = cls(**params).positions(bars.iloc[:750])
    assert pos.max() > 1.0 and pos.max() <= 2.0
    (res,) = evaluate_sets(execution, cls, [params], (250, 750), bars=bars, fit=None)
    assert res.error is None
    bt = run_backtest(
        bars.iloc[249:750],
        pos.iloc[249:750],
        **execution.engine_kwargs(),
        max_leverage=2.0,
    )
    assert res.metrics[0]["final_equity"] == pytest.approx(bt.equity.iloc[-1], rel=1e-9)
