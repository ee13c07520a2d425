"""Contract suite over every registered optimizer, run under walk-forward on real daily bars.

Each plug-in must: give exactly the requested trials per fold, never evaluate or pick a parameter
set that breaks the strategy's constraints, honour guardrails (Optuna trial constraints or DEAP
penalty fitness), pick the best feasible trial, and judge it out of sample exactly as an
independent vectorbt backtest does.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import optuna
import pytest

from backtest.metrics import sharpe_ratio
from data_loaders.errors import ConfigError, ParameterError
from research.optimize import get_optimizer, list_optimizers, optimizer_class
from research.optimize.objectives import PENALTY
from strategies.builtin.sma_cross import SmaCross
from tests.research.optimize._strategies import window_returns
from tests.research.optimize.conftest import MULTI_OBJECTIVE

HAS_TORCH = importlib.util.find_spec("torch") is not None
AVAILABLE = [n for n in list_optimizers() if n != "gp" or HAS_TORCH]
TWO = ["sharpe_ratio", "max_drawdown"]


def _load_trials(res, fold: int):
    study = optuna.load_study(study_name=res.study_names[fold], storage=res.storage)
    return {t.number: t for t in study.get_trials(deepcopy=False)}


def test_registry_lists_every_plugin_module():
    names = set(list_optimizers())
    assert {"tpe", "cmaes", "gp", "random", "grid", "nsga2", "ga", "deap_nsga2"} <= names
    for name in names:
        assert optimizer_class(name).name == name


@pytest.mark.parametrize("name", AVAILABLE)
def test_contract_under_walk_forward(wfo, bars, splitter, name):
    multi = name in MULTI_OBJECTIVE
    res = wfo(
        optimizer=name, objective=TWO if multi else "sharpe_ratio", guardrails={"min_trades": 2}
    )
    folds = list(splitter.split(bars.index))
    assert len(res.folds) == len(folds) == 2
    for fold, fr in zip(folds, res.folds):
        t = res.trials[res.trials["fold"] == fr.fold]
        assert sorted(t["number"]) == list(range(16))
        assert fr.n_trials == 16
        broken = t[t["param_fast"] >= t["param_slow"]]
        assert (broken["state"] == "complete").all() and not broken["feasible"].any()
        assert broken["reason"].str.startswith("constraint:").all()
        assert broken["value"].isna().all() and (broken["step"] == 0).all()  # never evaluated
        thin = t[(t["state"] == "complete") & (t["is_n_trades"] < 2)]
        assert not thin["feasible"].any()
        assert thin["reason"].str.contains("min_trades").all()
        feasible = t[t["feasible"]]
        assert len(feasible) > 0
        assert (feasible["is_n_trades"] >= 2).all()
        assert (feasible["param_fast"] < feasible["param_slow"]).all()

        pick = t[t["number"] == fr.best_number].iloc[0]
        assert pick["feasible"] and pick["params"] == fr.best_params
        if multi:
            front = res.pareto[res.pareto["fold"] == fr.fold]
            assert fr.best_number in set(front["number"])
            assert pick["value"] == front["value_sharpe_ratio"].max()
        else:
            assert pick["value"] == feasible["value"].max()
            best = feasible[feasible["value"] == feasible["value"].max()]
            assert fr.best_number == best["number"].min()  # ties: the lowest number

        # trial values and the out-of-sample judgement, recomputed through vectorbt
        is_ret = window_returns(SmaCross, bars, pick["params"], fold.train.start, fold.train.stop)
        assert pick["value"] == pytest.approx(sharpe_ratio(is_ret, periods_per_year=252), rel=1e-9)
        assert fr.is_metrics["sharpe_ratio"] == pytest.approx(pick["value"], rel=1e-9)
        oos = window_returns(SmaCross, bars, fr.best_params, fold.test.start, fold.test.stop)
        np.testing.assert_allclose(fr.oos_returns.to_numpy(), oos, rtol=0, atol=1e-12)
        assert fr.oos_metrics["sharpe_ratio"] == pytest.approx(
            sharpe_ratio(oos, periods_per_year=252)
        )
    test_index = bars.index[folds[0].test.start : folds[-1].test.stop]
    assert res.oos_returns.index.equals(test_index)
    assert res.final_params == res.folds[-1].best_params


@pytest.mark.parametrize("name", [n for n in AVAILABLE if n not in MULTI_OBJECTIVE])
def test_infeasible_trials_are_constrained_or_penalised_for_the_sampler(wfo, name):
    res = wfo(optimizer=name, guardrails={"min_trades": 2})
    stored = _load_trials(res, 0)
    native = optimizer_class(name).__dict__.get("native_constraints", True) and name not in (
        "ga",
        "deap_nsga2",
    )
    t = res.trials[res.trials["fold"] == 0]
    n_infeasible = 0
    for row in t.itertuples():
        st = stored[row.number]
        if row.state != "complete":
            continue
        if row.feasible:
            assert st.values[0] == pytest.approx(row.value)
            assert all(v <= 0 for v in st.constraints.values()) if native else True
            continue
        n_infeasible += 1
        if native:  # Optuna reads the constraint values (Trial.set_constraint)
            assert any(v > 0 for v in st.constraints.values())
        else:  # told a penalty worse than any feasible value
            assert st.values[0] <= -PENALTY
    assert n_infeasible > 0


@pytest.mark.parametrize("name", ["nsga2", "deap_nsga2", "tpe", "random"])
def test_multi_objective_gives_the_pareto_front(wfo, name):
    res = wfo(optimizer=name, objective=TWO, n_trials=24)
    assert res.objectives == [("sharpe_ratio", "maximize"), ("max_drawdown", "maximize")]
    for fr in res.folds:
        t = res.trials[(res.trials["fold"] == fr.fold) & res.trials["feasible"]]
        front = res.pareto[res.pareto["fold"] == fr.fold]
        assert len(front) >= 1
        vals = t[["value_sharpe_ratio", "value_max_drawdown"]].to_numpy()
        fvals = front[["value_sharpe_ratio", "value_max_drawdown"]].to_numpy()
        for v in fvals:  # nothing feasible dominates a front member
            assert not np.any(np.all(vals >= v, axis=1) & np.any(vals > v, axis=1))
        for number, v in zip(t["number"], vals):  # everything else is dominated by the front
            if number in set(front["number"]):
                continue
            assert np.any(np.all(fvals >= v, axis=1) & np.any(fvals > v, axis=1))
        assert fr.best_number in set(front["number"])


@pytest.mark.parametrize("name", ["ga", "cmaes"])
def test_single_objective_optimizers_refuse_several_objectives(wfo, name):
    with pytest.raises(ParameterError, match="handles one objective"):
        wfo(optimizer=name, objective=TWO)


@pytest.mark.parametrize("name", ["ga", "deap_nsga2", "nsga2"])
def test_optimizers_without_pruning_refuse_a_pruner(wfo, name):
    with pytest.raises(ParameterError, match="does not support pruning"):
        wfo(optimizer=name, pruner="hyperband")


def test_gp_without_torch_fails_with_one_line_naming_the_package(tmp_path, bars, splitter):
    if HAS_TORCH:
        pytest.skip("torch is installed: gp runs in the contract suite instead")
    from research.optimize import walk_forward_optimize

    with pytest.raises(ConfigError) as exc:
        get_optimizer("gp")
    msg = str(exc.value)
    assert "'torch'" in msg and "\n" not in msg and "tpe" in msg
    with pytest.raises(ConfigError, match="torch"):
        walk_forward_optimize(
            "sma_cross", bars, splitter=splitter, optimizer="gp", run_dir=tmp_path / "gp"
        )
    assert not (tmp_path / "gp").exists()  # refused before any study was created


def test_unknown_optimizer_and_option_are_named():
    with pytest.raises(ParameterError, match="did you mean 'tpe'"):
        get_optimizer("tpee")
    with pytest.raises(ParameterError, match="did you mean 'population_size'"):
        get_optimizer("ga", population_sise=10)
    with pytest.raises(ParameterError, match="multiple of 4"):
        get_optimizer("deap_nsga2", population_size=10)


def test_grid_stops_at_the_grid_size(wfo):
    res = wfo(optimizer="grid", optimizer_options={"points": 3}, n_trials=50)
    for fr in res.folds:
        assert fr.n_trials == 9
        t = res.trials[res.trials["fold"] == fr.fold]
        assert len({(a, b) for a, b in zip(t["param_fast"], t["param_slow"])}) == 9
