"""Random search without an Optuna study draws and tells exactly what the Optuna path does."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from research.optimize._base import Outcome, Problem
from research.optimize._random import RandomOptimizer
from research.optimize.objectives import Objective, penalty_values
from research.optimize.space import SearchSpace
from strategies.params import Categorical, Int
from tests.research.optimize._strategies import MixedSpace

OBJ = (Objective("sharpe_ratio", "maximize"),)


class OneValue(MixedSpace):
    """MixedSpace plus a one-value range and a one-choice categorical (taken without a draw)."""

    name = "one_value"
    fixed_int = Int(10, 14, step=5, default=10)  # one value: 10
    only = Categorical(["x"], default="x")


def _outcomes(n: int) -> list[Outcome]:
    kinds = [
        Outcome("complete", (0.5,), {"params": 0.0}),
        Outcome("complete", None, {"params": 2.0}),  # broke a constraint: penalty values
        Outcome("complete", (0.7,), {"params": 0.0, "min_trades": 3.0}),  # a guardrail
        Outcome("fail", None, {}, {}, {"reason": "boom"}),
    ]
    return [kinds[k % len(kinds)] for k in range(n)]


def _run(strategy, direct: bool, warm_start=()) -> list:
    problem = Problem(
        space=SearchSpace(strategy), objectives=OBJ, seed=11, study_name="s",
        warm_start=tuple(warm_start),
    )  # fmt: skip
    opt = RandomOptimizer()
    opt.setup(problem)
    if not direct:
        opt.draws_ = None  # the Optuna study path (what a pruner or a changed Optuna gets)
    assert (opt.draws_ is not None) == direct
    asked, told = [], []
    for n in (5, 1, 7):
        cands = opt.ask(n)
        asked += [c.params for c in cands]
        told += opt.tell(cands, _outcomes(len(cands)))
    return asked, told


@pytest.mark.parametrize("strategy", [MixedSpace, OneValue])
def test_direct_draws_equal_the_optuna_random_sampler(strategy):
    warm = ({"window": 4, "period": 30, "mode": "atr", "atr_mult": 1.5},)
    asked_o, told_o = _run(strategy, direct=False, warm_start=warm)
    asked_d, told_d = _run(strategy, direct=True, warm_start=warm)
    assert asked_d == asked_o
    assert len({str(sorted(p.items())) for p in asked_d}) == len(asked_d)  # really random
    assert asked_d[0]["window"] == 4 and asked_d[0]["mode"] == "atr"  # the warm start first
    for a, b in zip(told_o, told_d):
        assert (b.number, b.state, b.values) == (a.number, a.state, a.values)
        assert b.params == a.params and b.distributions == a.distributions
        assert b.user_attrs == a.user_attrs
        assert b.system_attrs.get("fixed_params") == a.system_attrs.get("fixed_params")
    states = [t.state for t in told_d]
    assert states[:4] == [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.COMPLETE,
                          TrialState.FAIL]  # fmt: skip
    assert told_d[0].values == [0.5]
    assert told_d[1].values == list(penalty_values(OBJ, 2.0))
    assert told_d[2].values == list(penalty_values(OBJ, 3.0))
    assert told_d[3].values is None


def test_a_pruner_keeps_the_optuna_study():
    problem = Problem(space=SearchSpace(MixedSpace), objectives=OBJ, pruner="sha", max_step=4)
    opt = RandomOptimizer()
    opt.setup(problem)
    assert opt.draws_ is None
    (cand,) = opt.ask(1)
    assert isinstance(cand.handle, optuna.trial.Trial)
