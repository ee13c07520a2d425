"""research.judge.checks, one check at a time on small hand-made inputs."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from research.judge import SearchOutcome
from research.judge.checks import (
    cscv_partitions,
    honest_trial_sharpes,
    oos_span,
    pbo_points,
    spa_against_benchmark,
)
from research.judge.judge import ranking_score


def search(key: str, trials: pd.DataFrame, folds=()) -> SearchOutcome:
    result = SimpleNamespace(trials=trials, folds=list(folds))
    return SearchOutcome(key, key, key, "random", object, result, bars=None)


def test_honest_trial_count_keeps_every_complete_finite_trial_of_every_search():
    a = pd.DataFrame(
        {
            "state": ["complete", "complete", "pruned", "complete"],
            "is_sharpe_ratio": [1.0, np.nan, 2.0, -0.5],
        }
    )
    b = pd.DataFrame({"state": ["complete"], "is_sharpe_ratio": [0.25]})
    got = honest_trial_sharpes([search("a", a), search("b", b)], periods_per_year=16.0)
    # annualised in-sample Sharpe ratios back to per-period: / sqrt(16)
    assert got.tolist() == [0.25, -0.125, 0.0625]
    empty = pd.DataFrame({"state": [], "is_sharpe_ratio": []})
    assert honest_trial_sharpes([search("e", empty)], 252.0) is None


def test_oos_span_runs_from_the_first_test_start_to_the_last_test_stop():
    folds = [
        SimpleNamespace(test_range=range(100, 150)),
        SimpleNamespace(test_range=range(150, 210)),
    ]
    assert oos_span([search("a", pd.DataFrame(), folds)]) == (100, 210)


@pytest.mark.parametrize(
    ("rows", "blocks"), [(9, 0), (25, 2), (39, 2), (40, 4), (159, 14), (160, 16), (5000, 16)]
)
def test_cscv_blocks_are_even_at_least_10_rows_and_at_most_16(rows, blocks):
    assert cscv_partitions(rows) == blocks


def test_pbo_points_keep_every_logit_up_to_the_limit_then_quantiles():
    few = pbo_points([0.1, np.nan, -0.2], [1, 2, 3], [3, 2, 1], seed=0, most=5)
    assert few["logits"] == [0.1, -0.2] and few["n_logits"] == 3
    assert few["is_perf"] == [1.0, 2.0, 3.0] and few["oos_perf"] == [3.0, 2.0, 1.0]
    logits = np.arange(100, dtype=float)
    many = pbo_points(logits, logits, -logits, seed=1, most=4)
    assert many["logits"] == [
        round(float(q), 5) for q in np.quantile(logits, [0.125, 0.375, 0.625, 0.875])
    ]
    assert many["n_logits"] == 100 and len(many["is_perf"]) == 4
    # the scatter keeps pairs together
    assert [-x for x in many["is_perf"]] == many["oos_perf"]


def test_spa_needs_ten_rows_and_reports_each_candidate_and_the_family():
    idx = pd.RangeIndex(9)
    short = pd.DataFrame({"a": np.zeros(9)}, index=idx)
    assert spa_against_benchmark(short, pd.Series(np.zeros(9), index=idx), seed=0) == (None, {})
    rng = np.random.default_rng(0)
    n = 400
    bench = pd.Series(rng.normal(0, 0.01, n))
    oos = pd.DataFrame({"edge": bench + 0.004, "noise": rng.normal(0, 0.01, n)})
    family, each = spa_against_benchmark(oos, bench, seed=0)
    assert family["n_models"] == 2 and family["best_model"] == "edge"
    assert each["edge"] < 0.05 < each["noise"]
    assert family["spa_pvalue"] <= each["noise"]


def test_a_minimised_ranking_metric_is_negated_for_the_leaderboard():
    assert ranking_score("sharpe_ratio", "maximize", 252) == "sharpe_ratio"
    score = ranking_score("annual_volatility", "minimize", 252)
    r = pd.Series([0.01, -0.02, 0.015, 0.0])
    assert score.__name__ == "neg_annual_volatility"
    assert score(r) == pytest.approx(-r.std(ddof=1) * math.sqrt(252))
