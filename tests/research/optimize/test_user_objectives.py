"""Objectives users write: expressions, ``psr`` and callables, in search, Pareto and guardrails."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from data_loaders.errors import ParameterError
from research.optimize.objectives import Guardrails, resolve_objectives
from research.overfitting import probabilistic_sharpe_ratio


def _complete(res):
    """Complete trials that meet the strategy's own constraint (``fast < slow``; the others are
    not simulated and have no metrics)."""
    t = res.trials
    return t[(t["state"] == "complete") & ~t["reason"].fillna("").str.startswith("constraint")]


def test_expression_objective_equals_its_hand_computation_from_the_trial_metrics(wfo):
    res = wfo(objective="sharpe_ratio - 0.5 * abs(max_drawdown)")
    t = _complete(res)
    assert len(t) >= 15
    expected = t["is_sharpe_ratio"] - 0.5 * t["is_max_drawdown"].abs()
    np.testing.assert_allclose(t["value"].to_numpy(float), expected.to_numpy(float), rtol=1e-12)
    # the pick is the best by the expression in each fold
    for fold in res.folds:
        rows = t[t["fold"] == fold.fold]
        best = rows.loc[rows["value"].idxmax(), "params"]
        assert fold.best_params == best
    assert res.objectives == [("sharpe_ratio - 0.5 * abs(max_drawdown)", "maximize")]


def _psr_by_hand(r: np.ndarray) -> float:
    sr = r.mean() / r.std(ddof=1)
    skew = stats.skew(r, bias=True)
    kurt = stats.kurtosis(r, fisher=False, bias=True)
    return probabilistic_sharpe_ratio(sr, len(r), skew, kurt)


def test_psr_objective_equals_the_overfitting_packages_psr_of_the_window_returns(wfo):
    res = wfo(objective="psr", n_trials=8)
    t = _complete(res)
    assert t["value"].between(0, 1).all()
    for fold in res.folds:
        r = fold.oos_returns.to_numpy(dtype=float)
        assert fold.oos_metrics["psr"] == pytest.approx(_psr_by_hand(r), abs=1e-12)
        assert 0.0 < fold.oos_metrics["psr"] < 1.0


def test_callable_objective_sees_metrics_and_returns(wfo):
    seen = []

    def mean_return(metrics, returns):
        seen.append(len(returns))
        return float(np.mean(returns)) * 1e4 - 0.0 * metrics["sharpe_ratio"]

    res = wfo(objective=mean_return, n_trials=8)
    t = _complete(res)
    assert set(seen) >= {300, 200}  # train windows (search) and test windows (judging)
    assert res.objectives == [("mean_return", "maximize")]
    for fold in res.folds:
        expected = float(np.mean(fold.oos_returns.to_numpy())) * 1e4
        assert fold.oos_metrics["mean_return"] == pytest.approx(expected, rel=1e-12)
    assert np.isfinite(t["value"].astype(float)).all()


def test_expression_in_multi_objective_search_gives_a_pareto_front(wfo):
    res = wfo(
        objective=["sharpe_ratio", "turnover + 0 * psr"],
        directions=["maximize", "minimize"],
        optimizer="nsga2",
        n_trials=16,
    )
    assert res.pareto is not None and len(res.pareto) >= 1
    t = _complete(res)
    np.testing.assert_allclose(
        t["value_turnover + 0 * psr"].to_numpy(float), t["is_turnover"].to_numpy(float)
    )


def test_guardrail_rules_make_trials_infeasible(wfo):
    res = wfo(guardrails={"rules": ["n_trades >= 6 and psr > 0.5"]}, n_trials=16)
    t = _complete(res)
    ok = (t["is_n_trades"] >= 6) & t["feasible"]
    assert t["feasible"].sum() == ok.sum()  # no feasible trial has < 6 trades
    assert (~t["feasible"]).any()
    bad = t[~t["feasible"]]
    assert len(bad) >= 1
    assert bad["reason"].str.contains("'n_trades >= 6 and psr > 0.5' is false").all()


def test_unknown_names_fail_in_one_line_with_a_suggestion():
    with pytest.raises(ParameterError, match=r"got 'sharpe_ration'.*did you mean 'sharpe_ratio'"):
        resolve_objectives("sharpe_ration")
    with pytest.raises(ParameterError, match=r"unknown metric 'calmar' .*did you mean"):
        resolve_objectives("sharpe_ratio / calmar")
    with pytest.raises(ParameterError, match=r"guardrails.rules\[0\]: unknown function 'sqr'"):
        Guardrails.coerce({"rules": ["sqr(n_trades) > 2"]})
    with pytest.raises(ParameterError, match=r"`objective` names a metric twice"):
        resolve_objectives(["psr", "psr"])
    assert math.isnan(resolve_objectives("psr")[0].derived({"sharpe_ratio": 1.0}, None))
