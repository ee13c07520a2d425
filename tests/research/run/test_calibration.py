"""The calibration harness on a small K: no champion on null data with every gate on, the
champion found on a strong planted edge; offline evaluation and the command line."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from data_loaders.synthetic import shaped_bars
from research.cli import main
from research.judge.gates import GATES, Gates
from research.run.calibration import (
    DataSet,
    calibrate,
    champion_of,
    clopper_pearson,
    read_records,
    run_dataset,
    spec_gates,
    summarise,
)
from research.run.data import load_experiment_data
from tests.research import _runs

ALL_GATES = {
    "min_dsr": 0.95,
    "max_pbo": 0.5,
    "min_stability": 0.5,
    "min_trades": 4,  # 3 out-of-sample years here (the quickstart's 10 is for 8)
    "max_drawdown": 0.5,
    "min_wfe": 0.2,
    "max_spa_pvalue": 0.2,
}
RAW = _runs.spec(
    strategies=["sma_cross", "rsi_reversion"],
    optimizers=["tpe"],
    budget={"n_trials": 8},
    gates=ALL_GATES,
    report=False,
)


@pytest.fixture(scope="module")
def like(exp):
    return load_experiment_data(exp)


@pytest.fixture(scope="module")
def null_record(exp, like, tmp_path_factory):
    return run_dataset(
        exp, like, DataSet("null-0", "null", 0.0, 0.0, 11), tmp_path_factory.mktemp("n")
    )


@pytest.fixture(scope="module")
def edge_record(exp, like, tmp_path_factory):
    return run_dataset(
        exp, like, DataSet("edge-0", "edge", 3.0, 0.6, 5), tmp_path_factory.mktemp("e")
    )


def test_shaped_bars_keep_the_index_and_volatility_and_null_sets_have_no_drift(like):
    real = np.diff(np.log(like["close"].to_numpy()))
    null = shaped_bars(like, seed=1)
    boot = shaped_bars(like, seed=1, noise="bootstrap")
    assert null.index.equals(like.index) and boot.index.equals(like.index)
    for bars in (null, boot):
        r = np.diff(np.log(bars["close"].to_numpy()))
        assert r.std(ddof=1) == pytest.approx(real.std(ddof=1), rel=0.1)
        assert abs(r.mean()) < 3 * r.std(ddof=1) / math.sqrt(r.size)
        assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
        assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()


def test_a_planted_trend_gives_a_fixed_trend_rule_its_edge(like):
    from research.run.calibration import fixed_rule_sharpe

    def sharpes(edge, n=40):
        return np.array(
            [
                fixed_rule_sharpe(
                    shaped_bars(like, seed=s, edge=edge)["close"].to_numpy(), 500, 252
                )
                for s in range(n)
            ]
        )

    null = sharpes(0.0)
    assert abs(null.mean()) < 3 * null.std(ddof=1) / math.sqrt(null.size)  # no edge on null data
    assert sharpes(0.5, 12).mean() > 2.0


def test_no_champion_on_null_data_with_every_gate_on(exp, null_record):
    assert null_record["dataset"]["kind"] == "null"
    assert champion_of(null_record, spec_gates(exp)) is None
    assert champion_of(null_record, spec_gates(exp, dsr_trials="all_trials")) is None
    assert null_record["product_champion"] is None


def test_the_champion_is_found_on_a_strong_planted_edge(exp, edge_record):
    assert edge_record["fixed_oos_sharpe"] > 1.5
    gates = spec_gates(exp, max_pbo=None, spa_benchmark="cash")
    champ = champion_of(edge_record, gates)
    assert champ is not None and champ.startswith("sma_cross")
    # the product's default (calibrated) gates, the trade count scaled to 3 years
    defaults = {r.name: getattr(Gates(), r.name) for r in GATES}
    calibrated = spec_gates(exp, **{**defaults, "dsr_trials": Gates().dsr_trials, "min_trades": 4})
    assert champion_of(edge_record, calibrated) == champ


def test_records_hold_what_the_gates_need(edge_record):
    n_obs = edge_record["n_obs"]
    assert n_obs == 3 * 250  # three test windows of 250 bars
    keys = {c["candidate"] for c in edge_record["candidates"]}
    assert keys == {"sma_cross/tpe", "rsi_reversion/tpe"}
    for c in edge_record["candidates"]:
        assert c["sharpe"] == pytest.approx(c["sharpe_pp"] * math.sqrt(252), rel=1e-6)
        assert 0 <= c["spa_pvalue"] <= 1 and 0 <= c["spa_cash_pvalue"] <= 1
    assert 0 < edge_record["trials"]["n"] <= 2 * 3 * 8  # complete trials of 2 searches


def test_the_summary_counts_false_champions_with_an_exact_interval(exp, null_record, edge_record):
    s = summarise(
        [null_record, null_record, edge_record], spec_gates(exp, max_pbo=None, spa_benchmark="cash")
    )
    assert (s.n_null, s.false_champions, s.false_rate) == (2, 0, 0.0)
    assert s.false_ci == pytest.approx((0.0, 1 - 0.025 ** (1 / 2)))
    (b,) = s.power_bins
    assert (b["n"], b["found"]) == (1, 1)


def test_clopper_pearson_matches_the_beta_quantiles():
    assert clopper_pearson(0, 60)[1] == pytest.approx(1 - 0.025 ** (1 / 60))
    lo, hi = clopper_pearson(3, 20)
    assert lo == pytest.approx(stats.beta.ppf(0.025, 3, 18))
    assert hi == pytest.approx(stats.beta.ppf(0.975, 4, 17))


def test_calibrate_resumes_from_its_records(exp, like, tmp_path, monkeypatch):
    calls = []
    import research.run.calibration._runs as R

    real = R.run_dataset

    def counting(e, lk, ds, work):
        calls.append(ds.id)
        return real(e, lk, ds, work)

    monkeypatch.setattr(R, "run_dataset", counting)
    out = tmp_path / "cal"
    s = calibrate(exp, k_null=1, k_edge=0, targets=[], out=out, bars=like)
    assert calls == ["null-000"] and s.n_null == 1
    calibrate(exp, k_null=1, k_edge=0, targets=[], out=out, bars=like)
    assert calls == ["null-000"]  # already recorded: not run again
    assert len(read_records(out / "records.jsonl")) == 1
    assert json.loads((out / "summary.json").read_text())["n_null"] == 1


def test_the_command_rejects_bad_targets_in_one_line(tmp_path, capsys):
    spec = _runs.write_spec(RAW, tmp_path)
    assert main(["calibrate", str(spec), "--targets", "a,b"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "research calibrate: error: --targets: expected numbers separated by commas, got 'a,b'"
    ]
