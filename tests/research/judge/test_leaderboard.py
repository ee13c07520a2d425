"""Tests of research.ranking: the planted edge wins, a noise search is flagged, gates bite."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from backtest.metrics import sharpe_ratio, sortino_ratio
from data_loaders.errors import DataValidationError, ParameterError
from research.overfitting import deflated_sharpe_ratio, effective_number_of_trials, return_moments
from research.ranking import Candidate, Gates, build_leaderboard

#: the gate set these cases exercise (PBO gated, WFE off); the defaults: tests/research/judge/test_gates.py
PBO_GATES = Gates(max_pbo=0.5, min_wfe=None)

T = 1260  # five years of daily bars
INDEX = pd.date_range("2018-01-01", periods=T, freq="B", tz="UTC", name="time")


def _study(seed: int, edge: float | None, n_noise: int = 39):
    """Trials of one search: one column per trial; column 0 has a planted drift if ``edge``."""
    rng = np.random.default_rng(seed)
    trials = rng.normal(0.0, 0.01, (T, n_noise + 1))
    if edge is not None:
        trials[:, 0] += edge
    return trials


def _candidates(trials: np.ndarray, names: list[str], **extra) -> list[Candidate]:
    sharpes = trials.mean(axis=0) / trials.std(axis=0, ddof=1)
    out = []
    for j, name in enumerate(names):
        kwargs = {"stability": 0.8, "trials_sharpes": sharpes, "trials_returns": trials}
        kwargs.update(extra.get(name, {}))
        out.append(
            Candidate(
                name=name,
                strategy="sma_cross",
                params={"fast": 5 + j, "slow": 50},
                oos_returns=pd.Series(trials[:, j], index=INDEX),
                n_trades=40,
                **kwargs,
            )
        )
    return out


def test_planted_edge_ranks_first_and_is_champion():
    trials = _study(1, edge=0.0018)
    board = build_leaderboard(
        _candidates(trials, ["edge", "noise_a", "noise_b", "noise_c"]), PBO_GATES
    )
    table = board.table
    assert list(table["rank"]) == [1, 2, 3, 4]
    assert table.iloc[0]["name"] == "edge"
    assert board.champion is not None and board.champion.name == "edge"
    top = table.iloc[0]
    assert top["dsr"] > 0.95 and top["pbo"] < 0.1 and top["passed"]
    assert top["failed_gates"] == ""
    assert board.verdict.startswith("Champion: 'edge' (sma_cross ")
    assert "passes all gates" in board.verdict
    assert not table.iloc[1:]["passed"].any()  # the noise candidates are flagged
    assert all("DSR (" in text for text in table.iloc[1:]["failed_gates"])
    # the table is sorted by the annualised out-of-sample Sharpe ratio of backtest.metrics
    expected = sorted((sharpe_ratio(trials[:, j]) for j in range(4)), reverse=True)
    np.testing.assert_allclose(table["sharpe_ratio"], expected, rtol=1e-12)


def test_dsr_in_the_table_uses_the_effective_trial_count_and_cluster_variance():
    trials = _study(2, edge=0.0018)
    board = build_leaderboard(_candidates(trials, ["edge"]), PBO_GATES)
    row = board.table.iloc[0]
    eff = effective_number_of_trials(trials)
    m = return_moments(trials[:, 0])
    assert row["n_trials"] == 40 and row["effective_trials"] == eff.n_effective == 40
    assert row["trials_sharpe_variance"] == pytest.approx(eff.sharpe_variance, rel=1e-12)
    expected = deflated_sharpe_ratio(
        m["sharpe"], m["n_obs"], eff.n_effective, eff.sharpe_variance, m["skew"], m["kurtosis"]
    )
    assert row["dsr"] == pytest.approx(expected, rel=1e-12)
    assert row["kurtosis_raw"] == pytest.approx(row["kurtosis"] + 3.0, rel=1e-12)


def test_pure_noise_search_is_flagged_and_no_champion_is_picked():
    trials = _study(3, edge=None)
    sharpes = trials.mean(axis=0) / trials.std(axis=0, ddof=1)
    best = [int(j) for j in np.argsort(sharpes)[::-1][:3]]  # the search's own top three
    cands = _candidates(trials[:, best + [j for j in range(40) if j not in best]], ["a", "b", "c"])
    board = build_leaderboard(cands, PBO_GATES)
    assert board.champion is None
    assert not board.table["passed"].any()
    assert board.verdict.startswith("No candidate passes the gates (0 of 3): the top by ")
    assert "'a'" in board.verdict and "failed DSR (" in board.verdict


def test_a_top_candidate_failing_a_gate_is_never_picked_silently():
    trials = _study(4, edge=0.0018)
    trials[:, 1] += 0.003  # an even stronger edge ...
    cands = _candidates(trials, ["edge", "stronger"], stronger={"stability": 0.2})
    board = build_leaderboard(cands, PBO_GATES)  # ... but on a spike
    assert list(board.table["name"]) == ["stronger", "edge"]
    assert board.champion.name == "edge"
    first = board.table.iloc[0]
    assert not first["passed"] and not first["gate_min_stability"]
    assert first["failed_gates"] == "stability (0.20 < 0.50)"
    assert "Ranked above it but rejected: 'stronger', which failed stability" in board.verdict


def test_gates_are_configurable_and_missing_inputs_fail_loudly():
    trials = _study(5, edge=0.0018)
    cand = _candidates(trials, ["edge"], edge={"stability": None})
    board = build_leaderboard(cand, PBO_GATES)
    assert board.champion is None
    assert "stability (not computed; set Gates.min_stability=None to disable)" in board.verdict
    relaxed = build_leaderboard(cand, Gates(max_pbo=0.5, min_stability=None, min_wfe=0.5))
    assert "gate_min_stability" not in relaxed.table.columns
    assert relaxed.table.iloc[0]["failed_gates"].startswith("WFE (not computed")
    ok = build_leaderboard(
        cand, Gates(max_pbo=0.5, min_wfe=None, min_stability=None, min_trades=41, max_drawdown=None)
    )
    assert ok.table.iloc[0]["failed_gates"] == "trades (40 < 41)"
    with pytest.raises(ParameterError, match="`Gates.max_pbo` must be in \\[0.0, 1.0\\] or None"):
        build_leaderboard(cand, Gates(max_pbo=2.0))


def test_without_trial_record_the_dsr_is_the_psr_and_the_row_says_so():
    r = pd.Series(np.random.default_rng(6).normal(0.001, 0.01, 500))
    board = build_leaderboard(
        [Candidate("solo", "x", {}, r, 30, pbo=0.1, stability=0.9)], periods_per_year=365
    )
    row = board.table.iloc[0]
    assert row["n_trials"] == 1 and math.isnan(row["effective_trials"])
    assert row["dsr"] == pytest.approx(row["psr"], rel=1e-12)
    assert row["notes"] == "no trial record: DSR uses N=1 (= PSR)"
    assert row["sharpe_ratio"] == pytest.approx(sharpe_ratio(r, periods_per_year=365))


def test_other_ranking_metrics_and_csv(tmp_path):
    trials = _study(7, edge=0.0008)
    cands = _candidates(trials, ["edge", "n1", "n2"])
    by_sortino = build_leaderboard(cands, metric="sortino_ratio")
    np.testing.assert_allclose(
        by_sortino.table["score"],
        sorted((sortino_ratio(trials[:, j]) for j in range(3)), reverse=True),
        rtol=1e-12,
    )

    def worst_day(returns: pd.Series) -> float:
        return float(returns.min())

    by_fn = build_leaderboard(cands, metric=worst_day)
    assert by_fn.metric == "worst_day"
    assert list(by_fn.table["score"]) == sorted(
        (trials[:, j].min() for j in range(3)), reverse=True
    )
    path = by_sortino.to_csv(tmp_path / "out" / "leaderboard.csv")
    back = pd.read_csv(path)
    assert list(back["name"]) == list(by_sortino.table["name"])
    assert json.loads(back["params"].iloc[0]) == dict(by_sortino.candidates[0].params)


def test_bad_input_is_rejected_with_named_errors():
    r = pd.Series(np.random.default_rng(8).normal(0, 0.01, 100))
    cand = Candidate("a", "x", {}, r, 20)
    with pytest.raises(
        ParameterError, match="unknown ranking metric 'sharp_ratio'.*'sharpe_ratio'"
    ):
        build_leaderboard([cand], metric="sharp_ratio")
    with pytest.raises(ParameterError, match="candidate names must be unique, got 'a' twice"):
        build_leaderboard([cand, cand])
    with pytest.raises(ParameterError, match="`candidates` must not be empty"):
        build_leaderboard([])
    bad = r.copy()
    bad.iloc[10] = np.nan
    with pytest.raises(DataValidationError, match="candidate 'b': `oos_returns` must be finite"):
        build_leaderboard([Candidate("b", "x", {}, bad, 20)])


def test_a_value_just_past_its_threshold_is_shown_with_enough_digits():
    trials = _study(4, edge=0.0018)
    cands = _candidates(trials, ["edge"], edge={"stability": 0.4996, "pbo": 0.502})
    row = build_leaderboard(cands, PBO_GATES).table.iloc[0]
    assert row["failed_gates"] == "PBO (0.502 > 0.500), stability (0.4996 < 0.5000)"


def test_a_candidate_without_parameters_to_trade_is_never_rank_1():
    # "untradeable" has the best out-of-sample Sharpe but its last fold found no feasible trial:
    # it goes below every tradeable candidate, and the champion is the best tradeable one
    trials = _study(1, edge=0.0018)
    cands = _candidates(trials, ["edge", "noise_a", "noise_b"], edge={"tradeable": False})
    board = build_leaderboard(cands, PBO_GATES)
    table = board.table
    by_sharpe = table.sort_values("sharpe_ratio", ascending=False)["name"].tolist()
    assert by_sharpe[0] == "edge"  # the best score ...
    assert table["name"].tolist()[-1] == "edge"  # ... ranked last
    assert table["rank"].tolist() == [1, 2, 3]
    assert [c.name for c in board.candidates] == table["name"].tolist()
    last = table.iloc[-1]
    assert not last["passed"] and last["failed_gates"].endswith("no feasible trial)")
    assert board.champion is None or board.champion.name != "edge"
