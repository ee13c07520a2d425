"""Contract suite run over every registered strategy (scikit-learn's estimator-checks idea).

For each strategy: the declared space is sane, defaults are valid, the warm-up is honoured,
positions lie in [-1, 1], results are deterministic, positions never look ahead (recomputed on
data cut at many points, every past position is unchanged), and ``batch_positions`` equals the
per-set positions.
"""

import itertools
import random

import numpy as np
import pandas as pd
import pytest

from data_loaders.errors import ParameterError
from strategies import Categorical, Float, Int, Strategy, list_strategies
from strategies.params import active_params
from tests.strategies._data import first_lookahead_bar, make_bars, make_pair

REGISTRY = list_strategies()
TRAIN = 300  # bars a needs_fit strategy is fitted on, from the start of the data
#: small, fast settings for the learning strategy (defaults are checked for validity separately)
FAST_PARAMS = {"lgbm_direction": {"n_estimators": 20, "num_leaves": 7}}


@pytest.fixture(params=sorted(REGISTRY))
def cls(request) -> type[Strategy]:
    return REGISTRY[request.param]


def data_for(cls, n: int = 600, seed: int = 11):
    return make_pair(n, seed=seed) if cls.multi_asset else make_bars(n, seed=seed)


def positions_fn(cls, data, **params):
    """``bars -> positions`` for one parameter set; fitted first on ``data``'s first TRAIN bars."""
    strat = cls(**{**FAST_PARAMS.get(cls.name, {}), **params})
    if cls.needs_fit:
        strat.fit(data.iloc[:TRAIN])
    return strat, lambda bars: strat.positions(bars)


def sample_params(cls, rng: random.Random) -> dict:
    """A random feasible parameter set drawn from each parameter's grid."""
    space = cls.space()
    for _ in range(200):
        params = {name: rng.choice(p.grid(8)) for name, p in space.items()}
        if not cls.violations(params):
            return params
    raise AssertionError(f"{cls.label()}: no feasible point found in 200 draws")


# --- the declared space ---------------------------------------------------------------------------
def test_declared_space_is_sane(cls):
    space = cls.space()
    assert space, "a strategy declares at least one hyperparameter"
    assert cls.__doc__ and len(cls.__doc__.strip()) > 40, "docstring states the rule"
    for name, p in space.items():
        assert isinstance(p, (Int, Float, Categorical)) and p.name == name
        assert p.validate(p.default) == p.default
        for value in p.grid(5):
            assert p.validate(value) == value
        if isinstance(p, (Int, Float)):
            assert p.low <= p.default <= p.high
        for other, allowed in p.when.items():
            assert other in space and other != name
            assert isinstance(space[other], Categorical)
            assert set(allowed) <= set(space[other].choices)
    assert not cls.violations(cls.defaults()), "defaults satisfy the constraints"
    for c in cls.parsed_constraints():
        assert c.left in space or c.right in space


def test_defaults_are_valid(cls):
    strat = cls()
    assert strat.params == cls.defaults()
    assert type(strat.with_params()) is cls and strat.with_params().params == strat.params
    assert isinstance(strat.warmup, int) and strat.warmup >= 0


def test_random_feasible_params_construct_and_infeasible_ones_raise(cls):
    rng = random.Random(0)
    for _ in range(10):
        params = sample_params(cls, rng)
        strat = cls(**params)
        active = active_params(cls.space(), strat.params)
        for name, value in params.items():
            if active[name]:
                assert strat.params[name] == value
    for c in cls.parsed_constraints():
        if isinstance(c.left, str) and isinstance(c.right, str) and c.op in ("<", "<="):
            hi, lo = cls.space()[c.left], cls.space()[c.right]
            bad = {c.left: hi.high, c.right: max(lo.low, hi.low)}
            if cls.violations(bad):
                with pytest.raises(ParameterError, match=f"`{c.left}` must be {c.op} `{c.right}`"):
                    cls(**bad)


def test_unknown_parameter_gets_a_suggestion(cls):
    first = next(iter(cls.space()))
    with pytest.raises(ParameterError) as err:
        cls(**{first + "x": 1})
    assert f"(did you mean '{first}'?)" in str(err.value)


# --- behaviour ----------------------------------------------------------------------------------
def test_positions_shape_range_and_warmup(cls):
    data = data_for(cls)
    strat, fn = positions_fn(cls, data)
    pos = fn(data)
    index = next(iter(data.values())).index if cls.multi_asset else data.index
    values = np.asarray(pos, dtype=np.float64)
    if cls.multi_asset:
        assert isinstance(pos, pd.DataFrame) and list(pos.columns) == list(data)
        assert (np.abs(values).sum(axis=1) <= 1.0 + 1e-12).all(), "gross exposure at most 1"
    else:
        assert isinstance(pos, pd.Series)
    assert pos.index.equals(index)
    assert np.isfinite(values).all() and (np.abs(values) <= 1.0).all()
    assert 0 <= strat.warmup < len(index)
    assert (values[: strat.warmup] == 0).all(), "flat before the warm-up"
    assert (values[strat.warmup :] != 0).any(), "the strategy trades on this data"


def test_deterministic(cls):
    data = data_for(cls)
    a = positions_fn(cls, data)[1](data)
    b = positions_fn(cls, data)[1](data)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_no_lookahead(cls):
    data = data_for(cls)
    for params in [{}, sample_params(cls, random.Random(1))]:
        strat, fn = positions_fn(cls, data, **params)
        n = len(next(iter(data.values())) if cls.multi_asset else data)
        cuts = sorted({strat.warmup, strat.warmup + 1, strat.warmup + 5, *range(TRAIN - 50, n, 37)})
        assert first_lookahead_bar(fn, data, [k for k in cuts if 0 < k <= n]) is None


def test_the_products_lookahead_check_passes(cls):
    """``backtest.check_lookahead`` (what ``research check-lookahead`` runs) finds no leak."""
    from backtest.lookahead import check_lookahead

    data = data_for(cls)
    strat, fn = positions_fn(cls, data, **EAGER.get(cls.name, {}))
    report = check_lookahead(fn, data, n_cuts=8, min_bars=max(strat.warmup + 2, TRAIN // 2))
    assert report.ok, report.message
    assert report.n_cuts_checked == 8


def test_batch_positions_equal_per_set_positions(cls):
    data = data_for(cls)
    rng = random.Random(2)
    sets = [sample_params(cls, rng) for _ in range(4)]
    if cls.multi_asset or cls.needs_fit:
        with pytest.raises(ParameterError, match=cls.label()):
            cls.batch_positions(data, sets)
        return
    batch = cls.batch_positions(data, sets)
    assert batch.shape == (len(data), len(sets)) and batch.dtype == np.float64
    for j, params in enumerate(sets):
        np.testing.assert_array_equal(batch[:, j], cls(**params).positions(data).to_numpy())
    buffer = np.full((len(data), len(sets)), np.nan)  # C-ordered caller buffer
    assert cls.batch_positions(data, sets, out=buffer) is buffer
    np.testing.assert_array_equal(buffer, batch)


#: parameters that make an entry at the very first bar likely (the warm-up is attainable)
EAGER = {
    "rsi_reversion": {"lower": 45.0, "exit_level": 50.0, "upper": 55.0, "allow_short": True},
    "bollinger": {"n_std": 0.5, "allow_short": True},
    "donchian_atr": {"entry_window": 5, "exit_window": 2, "stop": "none", "allow_short": True},
    "pairs_zscore": {"entry_z": 0.5, "exit_z": 0.0, "lookback": 20, "z_window": 5},
    "lgbm_direction": {"threshold": 0.5, "allow_short": True},
    "macd_momentum": {"allow_short": True},
}


def test_first_position_can_be_at_the_warmup(cls):
    """On some seeded data the position at exactly bar ``warmup`` is non-zero."""
    for seed in range(40):
        data = data_for(cls, n=400, seed=seed)
        strat, fn = positions_fn(cls, data, **EAGER.get(cls.name, {}))
        values = np.asarray(fn(data), dtype=np.float64)
        if np.any(values[strat.warmup] != 0):
            return
    pytest.fail(f"{cls.label()}: no non-zero position at the warm-up bar on 40 seeds")


# --- the local lookahead check itself catches a leak ----------------------------------------------------
class _Leaky(Strategy):
    """Deliberately leaky: long when tomorrow's close is higher."""

    window = Int(1, 5, default=1)

    def positions(self, bars, features=None):
        c = bars["close"]
        return (c.shift(-self.window) > c).astype(float)


def test_the_lookahead_check_catches_a_leaky_strategy():
    data = make_bars(200, seed=3)
    fn = _Leaky().positions
    bad = first_lookahead_bar(fn, data, range(20, 200, 20))
    assert bad is not None and bad >= 18
    # and a stable strategy passes the same check
    clean = REGISTRY["sma_cross"](fast=3, slow=8).positions
    assert first_lookahead_bar(clean, data, range(20, 200, 20)) is None


def test_registry_covers_the_contract_combinations():
    kinds = {(c.multi_asset, c.needs_fit) for c in REGISTRY.values()}
    assert kinds == {(False, False), (True, False), (False, True)}
    assert len(list(itertools.chain(REGISTRY))) == 10
