"""Cross-sectional strategies: rankings checked by hand, causality on gappy universes, allocation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest import check_lookahead
from data_loaders import DataValidationError, synthetic_universe
from data_loaders.universe import align_universe, close_only_bars
from strategies.allocation import allocate
from strategies.builtin.xs_low_vol import XsLowVol
from strategies.builtin.xs_momentum import XsMomentum
from strategies.builtin.xs_reversal import XsReversal
from strategies.cross_section import CrossSectionalStrategy
from strategies.params import Int

DAYS = pd.date_range("2024-01-01", periods=6, tz="UTC")


def _panel(closes: dict[str, list[float]]) -> dict[str, pd.DataFrame]:
    return {
        s: close_only_bars(pd.Series(v, index=DAYS[: len(v)]), symbol=s, source="hand")
        for s, v in closes.items()
    }


def test_momentum_ranking_by_hand():
    # lookback 3, skip 1: score at t = close[t-1] / close[t-3] - 1
    bars = _panel(
        {
            "A": [10, 11, 12, 13, 14, 15],  # t=3: 12/10-1 = .20 ; t=5: 14/12-1 = .167
            "B": [10, 10, 10, 20, 20, 5],  # t=3: 0           ; t=5: 20/10-1 = 1.0
            "C": [10, 9, 8, 7, 12, 14],  # t=3: 8/10-1 = -.2 ; t=5: 12/8-1 = .5
            "D": [10, 10.5, 11, 11.5, 12, 12.5],  # t=3: .10   ; t=5: 12/11-1 = .0909
        }
    )
    long2 = XsMomentum(lookback=3, skip=1, k=2).positions(bars)
    assert (long2.iloc[:3].fillna(0) == 0).all().all()  # warm-up: no score before bar 3
    assert long2.iloc[3].tolist() == [0.5, 0.0, 0.0, 0.5]  # A (.20), D (.10)
    assert long2.iloc[5].tolist() == [0.0, 0.5, 0.5, 0.0]  # B (1.0), C (.5)
    ls = XsMomentum(lookback=3, skip=1, k=1, side="long_short").positions(bars)
    assert ls.iloc[3].tolist() == [0.5, 0.0, -0.5, 0.0]
    assert ls.iloc[5].tolist() == [0.0, 0.5, 0.0, -0.5]  # D (.0909) is the worst
    q = XsMomentum(lookback=3, skip=1, select="quantile", quantile=0.25).positions(bars)
    assert q.iloc[4].tolist() == [0.0, 1.0, 0.0, 0.0]  # t=4: B 20/10-1 = 1.0 is the top 25 %


def test_reversal_and_low_vol_by_hand():
    bars = _panel(
        {"A": [10, 11, 12, 13, 14, 15], "B": [10, 10, 10, 20, 20, 5], "C": [10, 9, 8, 7, 12, 14]}
    )
    rev = XsReversal(lookback=1, k=1).positions(bars)
    assert rev.iloc[5].tolist() == [0.0, 1.0, 0.0]  # B fell 75 %: the loser is held
    assert rev.iloc[3].tolist() == [0.0, 0.0, 1.0]  # C fell 1/8, A and B rose
    vol = XsLowVol(lookback=10, k=1)
    calm = close_only_bars(
        pd.Series(100 * 1.01 ** np.arange(30), index=pd.date_range("2024", periods=30, tz="UTC")),
        symbol="CALM",
        source="hand",
    )
    rng = np.random.default_rng(0)
    wild = calm["close"] * np.exp(rng.normal(0, 0.05, 30))
    uni = {"CALM": calm, "WILD": close_only_bars(wild, symbol="WILD", source="hand")}
    w = vol.positions(uni)
    assert (w.iloc[:10].fillna(0) == 0).all().all()
    assert (w.iloc[10:]["CALM"] == 1.0).all() and (w.iloc[10:]["WILD"] == 0.0).all()


def test_symbols_without_a_bar_are_kept_not_ranked():
    bars = _panel({"A": [10, 11, 12, 13, 14, 15], "B": [10, 12, 14, 16, 18, 20]})
    bars["B"] = bars["B"].drop(DAYS[4])
    w = XsMomentum(lookback=2, skip=0, k=1).positions(bars)
    assert np.isnan(w.loc[DAYS[4], "B"]) and w.loc[DAYS[4], "A"] == 1.0
    assert w.loc[DAYS[5], "B"] == 1.0  # B's lookback counts its own bars: 20 / 16 - 1


@pytest.mark.parametrize("cls", [XsMomentum, XsReversal, XsLowVol])
def test_no_lookahead_on_a_shared_calendar(cls):
    bars = synthetic_universe(("A", "B", "C", "D", "E"), 300, seed=4)
    params = {"lookback": 20, "k": 2, "skip": 5} if cls is XsMomentum else {"k": 2}
    strat = cls(**params)
    report = check_lookahead(strat.positions, bars, n_cuts=8, min_bars=40)
    assert report.ok, report.message


@pytest.mark.parametrize("cls", [XsMomentum, XsReversal, XsLowVol])
def test_no_lookahead_on_a_gappy_union_calendar(cls):
    bars = synthetic_universe(("A", "B", "C", "D"), 200, seed=5)
    bars["B"] = bars["B"].iloc[30:]
    bars["C"] = bars["C"].drop(bars["C"].index[80:95])
    bars["D"] = bars["D"].iloc[:150]
    params = {"lookback": 20, "k": 1, "side": "long_short"}
    strat = cls(**({**params, "skip": 3} if cls is XsMomentum else params))
    full = strat.positions(bars).to_numpy()
    index = align_universe(bars).index
    for cut in (50, 90, 120, 151, 199):
        part = {s: f[f.index <= index[cut - 1]] for s, f in bars.items()}
        got = strat.positions(part).to_numpy()
        np.testing.assert_array_equal(got, full[: len(got)])


def test_strategy_needing_opens_is_refused_on_close_only_data():
    class OpenGap(CrossSectionalStrategy):
        name = "open_gap"
        price_fields = ("close", "open")
        lookback = Int(1, 5, default=1)

        def score(self, close):
            return close

    bars = _panel({"A": [1, 2, 3, 4, 5, 6], "B": [2, 3, 4, 5, 6, 7]})
    with pytest.raises(DataValidationError, match="strategy 'open_gap' reads 'open'.*close-only"):
        OpenGap().positions(bars)


def test_allocation_layers():
    bars = synthetic_universe(("A", "B", "C"), 120, seed=6)
    uni = align_universe(bars)
    pos = pd.DataFrame(1.0, index=uni.index, columns=list(uni.symbols))
    eq = allocate(pos, uni, "equal")
    np.testing.assert_allclose(eq.to_numpy(), 1 / 3)
    iv = allocate(pos, uni, "inverse_vol", lookback=20)
    t = 60
    rets = {s: bars[s]["close"].pct_change().iloc[t - 19 : t + 1] for s in "ABC"}
    inv = np.array([1 / np.std(rets[s].to_numpy(), ddof=1) for s in "ABC"])
    np.testing.assert_allclose(iv.iloc[t].to_numpy(), inv / inv.sum(), rtol=1e-10)
    assert (iv.iloc[:20].to_numpy() == 0).all()  # no estimate yet: no weight
    vt = allocate(pos, uni, "vol_target", lookback=20, target_vol=0.05)
    expect = np.minimum(0.05 / (np.sqrt(252) / inv), 1.0) / 3
    np.testing.assert_allclose(vt.iloc[t].to_numpy(), expect, rtol=1e-10)


def test_pooled_positions_place_each_symbols_own_calendar_positions():
    from strategies.allocation import pooled_positions
    from strategies.builtin.sma_cross import SmaCross

    bars = synthetic_universe(("A", "B", "C"), 150, seed=8)
    bars["B"] = bars["B"].iloc[20:]
    bars["C"] = bars["C"].drop(bars["C"].index[60:70])
    uni = align_universe(bars)
    sets = [{"fast": 3, "slow": 10}, {"fast": 5, "slow": 30}]
    pooled = pooled_positions(uni, SmaCross, sets)
    assert pooled.shape == (2, 150, 3)
    for k, params in enumerate(sets):
        for j, sym in enumerate("ABC"):
            own = SmaCross(**params).positions(bars[sym])
            col = pd.Series(pooled[k, :, j], index=uni.index)
            np.testing.assert_array_equal(col.loc[own.index].to_numpy(), own.to_numpy(float))
            assert col.drop(own.index).isna().all()


def test_single_symbol_strategy_reading_highs_is_refused_on_close_only_bars():
    from data_loaders import load_bars
    from strategies.builtin.donchian_atr import DonchianAtr
    from strategies.builtin.sma_cross import SmaCross

    aapl = load_bars("sample:sp500_20")["AAPL"].iloc[:300]
    assert SmaCross().positions(aapl).notna().all()  # closes only: fine
    with pytest.raises(DataValidationError) as err:
        DonchianAtr().positions(aapl)
    msg = str(err.value)
    assert "\n" not in msg
    assert "strategy 'donchian_atr' reads 'high' but AAPL (sample:sp500_20) is close-only" in msg
