"""pairs_zscore: out-of-sample rolling OLS, z-score, legs, and errors."""

import numpy as np
import pandas as pd
import pytest

from data_loaders.errors import DataValidationError, ParameterError
from strategies.builtin.pairs_zscore import PairsZscore


def test_hedge_ratio_is_ols_on_the_previous_lookback_bars(pair):
    strat = PairsZscore(lookback=40, z_window=20)
    h = strat.hedge(pair)
    y, x = (np.log(pair[s]["close"].to_numpy()) for s in ("YYY", "XXX"))
    for t in (40, 41, 200, 599):
        beta, alpha = np.polyfit(x[t - 40 : t], y[t - 40 : t], 1)
        assert h["beta"].iloc[t] == pytest.approx(beta, rel=1e-8)
        assert h["alpha"].iloc[t] == pytest.approx(alpha, rel=1e-8, abs=1e-10)
        assert h["spread"].iloc[t] == pytest.approx(y[t] - alpha - beta * x[t], abs=1e-10)
    assert h["beta"].iloc[:40].isna().all()
    assert h["beta"].iloc[40:].median() == pytest.approx(1.3, abs=0.3)  # the true ratio
    s = h["spread"]
    want_z = (s - s.rolling(20).mean()) / s.rolling(20).std()
    np.testing.assert_allclose(h["z"], want_z, rtol=1e-9, atol=1e-9, equal_nan=True)
    assert h["z"].first_valid_index() == pair["YYY"].index[strat.warmup]


def reference(z, beta, entry, exit_):
    state, wy, wx, out = 0, 0.0, 0.0, []
    for zi, bi in zip(z, beta):
        if np.isnan(zi) or np.isnan(bi):
            state = 0
        else:
            if (state == 1 and zi >= -exit_) or (state == -1 and zi <= exit_):
                state = 0
            if state == 0 and (zi <= -entry or zi >= entry):
                state = 1 if zi <= -entry else -1
                wy, wx = state / (1 + abs(bi)), -state * bi / (1 + abs(bi))
        out.append((wy, wx) if state else (0.0, 0.0))
    return np.array(out)


@pytest.mark.parametrize(("entry", "exit_"), [(2.0, 0.5), (1.0, 0.0)])
def test_positions_follow_the_zscore_rules_with_frozen_legs(pair, entry, exit_):
    strat = PairsZscore(entry_z=entry, exit_z=exit_)
    pos = strat.positions(pair)
    assert list(pos.columns) == ["YYY", "XXX"] and pos.index.equals(pair["YYY"].index)
    h = strat.hedge(pair)
    np.testing.assert_allclose(
        pos.to_numpy(), reference(h["z"], h["beta"], entry, exit_), rtol=1e-12
    )
    held = pos[(pos != 0).any(axis=1)]
    assert len(held) > 20
    np.testing.assert_allclose(held.abs().sum(axis=1), 1.0)
    assert (np.sign(held["YYY"]) == -np.sign(held["XXX"])).all()  # beta > 0: opposite legs
    assert (held["YYY"] > 0).any() and (held["YYY"] < 0).any()


def test_the_spread_trade_earns_on_a_cointegrated_pair(pair):
    pos = PairsZscore(entry_z=1.5, exit_z=0.0).positions(pair)
    rets = pd.DataFrame({s: pair[s]["close"].pct_change() for s in pair})
    pnl = (pos.shift(1) * rets).sum(axis=1)  # decided at close t, held over bar t+1
    assert pnl.sum() > 0


def test_pair_input_errors(pair):
    strat = PairsZscore()
    with pytest.raises(ParameterError) as err:
        strat.positions({**pair, "ZZZ": pair["XXX"]})
    assert str(err.value) == (
        "pairs_zscore needs a dict of exactly two symbols' bars, got 3 symbols ['YYY', 'XXX', 'ZZZ']"
    )
    with pytest.raises(ParameterError, match="got DataFrame"):
        strat.positions(pair["YYY"])
    shifted = {"YYY": pair["YYY"], "XXX": pair["XXX"].iloc[1:]}
    with pytest.raises(DataValidationError) as err:
        strat.positions(shifted)
    assert str(err.value).startswith(
        "pairs_zscore: 'YYY' and 'XXX' must have the same timestamps; first mismatch at 2015-01-01 00:00:00+00:00"
    )
    with pytest.raises(
        ParameterError, match="`exit_z` must be < `entry_z`, got exit_z=2.0, entry_z=1.0"
    ):
        PairsZscore(entry_z=1.0, exit_z=2.0)
