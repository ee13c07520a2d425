"""TPE reuses its sampler across asks (reseeded) and asks exactly what fresh samplers ask."""

from __future__ import annotations

import math

import optuna
import pytest

import research.optimize._tpe as tpe_module
from research.optimize._base import Outcome, Problem
from research.optimize._optuna_internals import _TPE_ATTRS, reseed_tpe_sampler
from research.optimize._tpe import TPEOptimizer
from research.optimize.objectives import Objective
from research.optimize.space import SearchSpace
from strategies.builtin.sma_cross import SmaCross
from tests.research.optimize._strategies import MixedSpace

OBJ = (Objective("sharpe_ratio", "maximize"),)


def _value(params: dict) -> float:
    return -sum((len(k) % 7 - 3 - (v if isinstance(v, int | float) else len(v))) ** 2 * 1e-3
                for k, v in sorted(params.items()))  # fmt: skip


def _asked(strategy, reuse: bool, monkeypatch) -> list[dict]:
    if not reuse:
        monkeypatch.setattr(tpe_module, "reseed_tpe_sampler", lambda sampler, seed: False)
    opt = TPEOptimizer()
    opt.setup(Problem(space=SearchSpace(strategy), objectives=OBJ, seed=5, study_name="s"))
    asked, samplers = [], set()
    for n in (4, 8, 8, 8, 8):
        cands = opt.ask(n)
        samplers.add(id(opt.study_.sampler))
        asked += [c.params for c in cands]
        outcomes = [Outcome("complete", (_value(c.params),), {"params": 0.0}) for c in cands]
        opt.tell(cands, outcomes)
    monkeypatch.undo()
    assert (len(samplers) == 1) == reuse
    return asked


@pytest.mark.parametrize("strategy", [SmaCross, MixedSpace])  # MixedSpace: group=True
def test_a_reseeded_sampler_asks_what_fresh_samplers_ask(strategy, monkeypatch):
    fresh = _asked(strategy, reuse=False, monkeypatch=monkeypatch)
    reused = _asked(strategy, reuse=True, monkeypatch=monkeypatch)
    assert reused == fresh
    assert len(fresh) == 36 and len({str(sorted(p.items())) for p in fresh}) > 20


def test_reseeding_gives_a_fresh_samplers_random_states():
    used = optuna.samplers.TPESampler(seed=1, multivariate=True)
    used._rng.rng.normal(size=3)  # consumed, including a cached Gaussian
    used._random_sampler._rng.rng.uniform(size=5)
    assert reseed_tpe_sampler(used, 99)
    fresh = optuna.samplers.TPESampler(seed=99, multivariate=True)
    assert list(used._rng.rng.normal(size=5)) == list(fresh._rng.rng.normal(size=5))
    a = used._random_sampler._rng.rng.uniform(size=5)
    assert list(a) == list(fresh._random_sampler._rng.rng.uniform(size=5))
    assert not math.isnan(a[0])


def test_the_tpe_layout_is_the_one_checked_against():
    sampler = optuna.samplers.TPESampler(seed=0, multivariate=True, group=True)
    assert set(vars(sampler)) == _TPE_ATTRS  # an Optuna upgrade that adds state fails here
    assert not reseed_tpe_sampler(optuna.samplers.RandomSampler(seed=0), 1)
