"""Tests of research.optimize.space: one declared space -> Optuna distributions and DEAP genomes."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from data_loaders.errors import ParameterError
from research.optimize.space import SearchSpace
from strategies.base import Strategy
from strategies.builtin.sma_cross import SmaCross
from strategies.params import Int
from tests.research.optimize._strategies import MixedSpace

SPACE = SearchSpace(MixedSpace)


def test_distributions_keep_type_bounds_step_and_log():
    d = SPACE.distributions()
    assert d["window"] == IntDistribution(2, 50, step=1)
    assert d["period"] == IntDistribution(5, 200, log=True)
    assert d["stride"] == IntDistribution(10, 100, step=10)
    assert d["alpha"] == FloatDistribution(0.0, 1.0)
    assert d["scale"] == FloatDistribution(1e-3, 1.0, log=True)
    assert d["level"] == FloatDistribution(0.0, 2.0, step=0.25)
    assert d["mode"] == CategoricalDistribution(("plain", "atr"))
    assert d["atr_mult"] == FloatDistribution(0.5, 5.0)


def test_parents_are_suggested_before_their_conditional_parameters():
    names = SPACE.names
    assert names.index("mode") < names.index("atr_mult")
    assert SPACE.is_conditional
    assert not SearchSpace(SmaCross).is_conditional


def test_suggest_asks_only_active_parameters_and_fills_defaults():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    seen_modes = set()
    for _ in range(60):
        trial = study.ask()
        params = SPACE.suggest(trial)
        study.tell(trial, 0.0)
        seen_modes.add(params["mode"])
        assert list(params) == list(MixedSpace.space())  # declaration order, full set
        if params["mode"] == "atr":
            assert "atr_mult" in trial.params
            assert 0.5 <= params["atr_mult"] <= 5.0
        else:
            assert "atr_mult" not in trial.params
            assert params["atr_mult"] == 2.0  # inactive -> declared default
        assert params["stride"] % 10 == 0 and 10 <= params["stride"] <= 100
        assert math.isclose(params["level"] / 0.25, round(params["level"] / 0.25))
        assert 1e-3 <= params["scale"] <= 1.0
        for name, value in trial.params.items():
            assert SPACE.distribution(name)._contains(
                SPACE.distribution(name).to_internal_repr(value)
            )
    assert seen_modes == {"plain", "atr"}


def test_constraints_are_not_encoded_but_reported_as_violations():
    ok = SPACE.complete({"window": 10, "period": 20})
    bad = SPACE.complete({"window": 30, "period": 20})
    assert SPACE.violations(ok) == []
    (msg,) = SPACE.violations(bad)
    assert "window" in msg and "period" in msg and "30" in msg


def _random_params(n: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        mode = ["plain", "atr"][rng.integers(2)]
        p = {
            "window": int(rng.integers(2, 51)),
            "period": int(rng.integers(5, 201)),
            "stride": int(rng.integers(1, 11)) * 10,
            "alpha": float(rng.uniform(0, 1)),
            "scale": float(np.exp(rng.uniform(np.log(1e-3), 0.0))),
            "level": float(rng.integers(0, 9)) * 0.25,
            "mode": mode,
        }
        if mode == "atr":
            p["atr_mult"] = float(rng.uniform(0.5, 5.0))
        out.append(p)
    return out


def test_genome_round_trip_from_params():
    for p in _random_params(200, seed=3):
        full = SPACE.complete(p)
        genes = SPACE.encode(p)
        assert len(genes) == SPACE.n_genes == 8
        assert all(0.0 <= g <= 1.0 for g in genes)
        back = SPACE.decode(genes)
        for name, value in full.items():
            if isinstance(value, float):
                assert back[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name
            else:
                assert back[name] == value, name


def test_genome_round_trip_from_genes_and_clipping():
    rng = np.random.default_rng(7)
    for genes in rng.uniform(-0.2, 1.2, (200, SPACE.n_genes)):
        params = SPACE.decode(genes)
        if not SPACE.violations(params):
            MixedSpace(**params)  # every decoded value is valid for the strategy
        assert SPACE.decode(SPACE.encode(params)) == pytest.approx(params)
    assert SPACE.decode([0.0] * 8)["window"] == 2 and SPACE.decode([1.0] * 8)["window"] == 50
    lo, hi = SPACE.decode([0.0] * 8), SPACE.decode([1.0] * 8)
    assert (lo["period"], hi["period"]) == (5, 200)
    assert (lo["scale"], hi["scale"]) == pytest.approx((1e-3, 1.0))
    assert (lo["level"], hi["level"]) == (0.0, 2.0)


def test_uniform_genes_give_every_integer_and_choice_the_same_share():
    names = SPACE.names
    n = 49 * 20  # window has 49 values
    genes = (np.arange(n) + 0.5) / n
    counts = Counter(
        SPACE.decode([g if k == "window" else 0.5 for k in names])["window"] for g in genes
    )
    assert set(counts) == set(range(2, 51)) and set(counts.values()) == {20}
    mode_counts = Counter(
        SPACE.decode([g if k == "mode" else 0.5 for k in names])["mode"] for g in genes
    )
    assert mode_counts == {"plain": n // 2, "atr": n // 2}


def test_log_integer_genes_are_uniform_in_log_space():
    names = SPACE.names
    genes = np.linspace(0, 1, 10001)
    values = np.array(
        [SPACE.decode([g if k == "period" else 0.5 for k in names])["period"] for g in genes]
    )
    # as many genes fall below the geometric middle as above it
    mid = math.sqrt(5 * 200)
    assert abs((values < mid).mean() - 0.5) < 0.02


def test_inactive_genes_are_ignored():
    names = SPACE.names
    base = [0.5] * len(names)
    base[names.index("mode")] = 0.1  # plain
    a, b = list(base), list(base)
    a[names.index("atr_mult")], b[names.index("atr_mult")] = 0.0, 1.0
    assert SPACE.decode(a) == SPACE.decode(b)
    assert SPACE.decode(a)["atr_mult"] == 2.0


def test_grid_values_per_parameter():
    grid = SPACE.grid(3)
    assert grid["mode"] == ["plain", "atr"]
    assert grid["window"] == [2, 26, 50]
    assert grid["level"] == [0.0, 1.0, 2.0]


def test_errors_name_the_parameter_and_suggest():
    with pytest.raises(ParameterError, match="did you mean 'window'"):
        SPACE.complete({"windw": 3})
    with pytest.raises(ParameterError, match="window"):
        SPACE.complete({"window": 500})
    with pytest.raises(ParameterError, match="8 genes, got 3"):
        SPACE.decode([0.5] * 3)

    class Empty(Strategy):
        pass

    with pytest.raises(ParameterError, match="declares no hyperparameters"):
        _ = SearchSpace(Empty).params

    class Cyclic(Strategy):
        a = Int(1, 5, when={"b": [1]})
        b = Int(1, 5, when={"a": [1]})

    with pytest.raises(ParameterError, match="cycle"):
        _ = SearchSpace(Cyclic).params
