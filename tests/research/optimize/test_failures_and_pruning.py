"""Failed and NaN trials are recorded with their reason; Hyperband / successive halving prune."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from backtest.metrics import sharpe_ratio
from research.optimize import _optuna
from research.optimize._search import FRACTION_STEPS
from research.optimize.storage import study_trials
from strategies.builtin.sma_cross import SmaCross
from tests.research.optimize._strategies import Flaky, window_returns


@pytest.mark.parametrize("name", ["tpe", "ga", "cmaes"])
def test_errors_and_nan_objectives_fail_the_trial_and_the_search_goes_on(wfo, name):
    res = wfo(Flaky, optimizer=name, n_trials=16)
    t = res.trials
    assert len(t) == 32  # the requested count in both folds despite failures
    boom = t[t["param_fast"] == 7]
    flat = t[t["param_fast"] == 8]
    assert len(boom) > 0 and len(flat) > 0
    assert (boom["state"] == "fail").all()
    assert boom["reason"].str.contains("ValueError: boom: fast=7 is cursed").all()
    assert (flat["state"] == "fail").all()
    assert flat["reason"].str.contains("sharpe_ratio` is NaN").all()
    others = t[~t["param_fast"].isin([7, 8])]
    assert (others["state"] == "complete").all()
    assert np.isfinite(others["value"]).all()
    # a failing set in a batch does not fail its batch-mates: they are evaluated one by one
    for fr in res.folds:
        assert fr.best_params is not None and fr.best_params["fast"] not in (7, 8)
        assert fr.n_failed == int(((t["fold"] == fr.fold) & (t["state"] == "fail")).sum())
    # the RDB holds them as FAIL with the reason
    for st in study_trials(res.storage, res.study_names[0]):
        if st.params.get("fast") == 7:
            assert st.state == TrialState.FAIL
            assert "boom" in st.user_attrs["qr"]["reason"]


def test_a_fold_where_everything_fails_has_no_pick(wfo):
    res = wfo(Flaky, optimizer="random", n_trials=4, warm_start=[{"fast": 7}] * 4)
    assert all(f.best_params is None and f.best_number == -1 for f in res.folds)
    assert res.final_params is None
    assert (res.oos_returns == 0.0).all()
    assert (res.trials["state"] == "fail").all()


def test_hyperband_prunes_and_records_intermediate_values(wfo, bars, splitter):
    res = wfo(optimizer="tpe", pruner="hyperband", n_trials=48, seed=3)
    t = res.trials
    pruned = t[t["state"] == "pruned"]
    complete = t[(t["state"] == "complete") & (t["step"] > 0)]
    assert len(pruned) > 0
    assert (pruned["step"] < FRACTION_STEPS[-1]).all() and (pruned["cost"] < 1).all()
    assert (complete["step"] == FRACTION_STEPS[-1]).all()
    # promoted trials continue their saved simulation: a trial run to the end simulated the
    # window once (cost 1), not its prefixes again (1/8 + 1/4 + ... of restarts)
    assert (complete["cost"] == 1.0).all()
    fold = next(iter(splitter.split(bars.index)))
    n = fold.train.stop - fold.train.start
    study = optuna.load_study(study_name=res.study_names[0], storage=res.storage)
    stored = {s.number: s for s in study.get_trials(deepcopy=False)}
    checked = 0
    for row in pruned[pruned["fold"] == 0].itertuples():
        st = stored[row.number]
        assert st.state == TrialState.PRUNED
        assert max(st.intermediate_values) == row.step
        # the reported value is the objective on the growing prefix of the search window
        stop = fold.train.start + math.ceil(n * row.step / FRACTION_STEPS[-1])
        ret = window_returns(SmaCross, bars, row.params, fold.train.start, stop)
        expected = sharpe_ratio(ret, periods_per_year=252)
        assert st.intermediate_values[row.step] == pytest.approx(expected, rel=1e-9)
        checked += 1
    assert checked > 0
    # cost accounting: bars simulated = sum of the trials' costs x window
    for fr in res.folds:
        ft = t[t["fold"] == fr.fold]
        assert fr.evaluated_bars == pytest.approx(ft["cost"].sum() * n, abs=len(ft))
        assert fr.n_pruned == int((ft["state"] == "pruned").sum())
    for fr in res.folds:
        assert fr.best_params is not None


@pytest.mark.parametrize("rf", [2, 3])
def test_skipping_non_rung_steps_changes_no_decision(wfo, monkeypatch, rf):
    kw = dict(optimizer="tpe", pruner="hyperband", n_trials=32, seed=5, reduction_factor=rf)
    fast = wfo(**kw)
    assert (fast.trials["state"] == "pruned").any()
    monkeypatch.setattr(_optuna.OptunaOptimizer, "prune_steps", lambda self, cand: None)
    slow = wfo(**kw)
    cols = ["fold", "number", "state", "value", "step"]
    assert fast.trials[cols].equals(slow.trials[cols])
    assert [f.best_params for f in fast.folds] == [f.best_params for f in slow.folds]
    # a promoted trial continues its saved simulation (backtest.resume): evaluating every step
    # costs no more bars than the rung steps alone
    assert sum(f.evaluated_bars for f in fast.folds) == sum(f.evaluated_bars for f in slow.folds)


def test_successive_halving_over_inner_folds(wfo):
    res = wfo(optimizer="random", pruner="sha", fidelity="folds", n_trials=32, seed=2)
    t = res.trials
    assert (t["state"] == "pruned").sum() > 0
    assert set(t.loc[t["state"] == "pruned", "step"]) <= {1, 2, 3}
    assert all(f.best_params is not None for f in res.folds)


def test_pruning_needs_one_objective(wfo):
    from data_loaders.errors import ParameterError

    with pytest.raises(ParameterError, match="one objective"):
        wfo(optimizer="tpe", pruner="hyperband", objective=["sharpe_ratio", "max_drawdown"])
    with pytest.raises(ParameterError, match="pruner"):
        wfo(optimizer="tpe", pruner="median")
