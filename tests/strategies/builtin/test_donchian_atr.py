"""donchian_atr against an independent loop; the conditional ATR parameters."""

import numpy as np
import pytest
import ta

from strategies.builtin.donchian_atr import DonchianAtr


def reference(bars, entry_window, exit_window, stop, atr_window, atr_mult, short):
    h, lo, c = bars["high"], bars["low"], bars["close"]
    eh = h.rolling(entry_window).max().shift(1).to_numpy()
    el = lo.rolling(entry_window).min().shift(1).to_numpy()
    xh = h.rolling(exit_window).max().shift(1).to_numpy()
    xl = lo.rolling(exit_window).min().shift(1).to_numpy()
    atr = ta.volatility.AverageTrueRange(h, lo, c, atr_window).average_true_range().to_numpy()
    warm = max(entry_window, atr_window - 1 if stop == "atr" else 0)
    cv = c.to_numpy()
    state, best, out = 0, 0.0, np.zeros(len(cv))
    for i in range(len(cv)):
        exited = 0
        dist = atr_mult * atr[i] if stop == "atr" and i >= atr_window - 1 else np.inf
        if state == 1:
            best = max(best, cv[i])
            if cv[i] < xl[i] or cv[i] < best - dist:
                state, exited = 0, 1
        elif state == -1:
            best = min(best, cv[i])
            if cv[i] > xh[i] or cv[i] > best + dist:
                state, exited = 0, -1
        if i >= warm:
            if state <= 0 and cv[i] > eh[i] and not cv[i] < xl[i] and exited != 1:
                state, best = 1, cv[i]
            elif short and state >= 0 and cv[i] < el[i] and not cv[i] > xh[i] and exited != -1:
                state, best = -1, cv[i]
        out[i] = state if i >= warm else 0
    return out


@pytest.mark.parametrize(
    "params",
    [
        {"stop": "none"},
        {"stop": "atr", "atr_mult": 1.0},
        {
            "entry_window": 10,
            "exit_window": 5,
            "stop": "atr",
            "atr_window": 30,
            "atr_mult": 2.0,
            "allow_short": True,
        },
        {"entry_window": 30, "exit_window": 30, "stop": "none", "allow_short": True},
    ],
)
def test_matches_reference(bars, params):
    strat = DonchianAtr(**params)
    p = strat.params
    want = reference(
        bars,
        p["entry_window"],
        p["exit_window"],
        p["stop"],
        p["atr_window"],
        p["atr_mult"],
        p["allow_short"],
    )
    got = strat.positions(bars).to_numpy()
    np.testing.assert_array_equal(got, want)
    assert (got != 0).any()


def test_the_atr_stop_exits_earlier_than_the_channel(bars):
    channel = DonchianAtr(stop="none").positions(bars)
    stopped = DonchianAtr(stop="atr", atr_mult=0.5).positions(bars)
    assert (stopped != 0).sum() < (channel != 0).sum()
    s, c = stopped.to_numpy(), channel.to_numpy()
    stop_exits = (s[:-1] == 1) & (s[1:] == 0) & (c[:-1] == 1) & (c[1:] == 1)
    assert stop_exits.any(), "some long is closed by the stop while the channel still holds it"


def test_atr_parameters_are_conditional_on_the_stop():
    space = DonchianAtr.space()
    assert space["atr_window"].when == {"stop": ("atr",)}
    assert space["atr_mult"].when == {"stop": ("atr",)}
    inactive = DonchianAtr(stop="none", atr_window=50, atr_mult=9.0)
    assert inactive.atr_window == 14 and inactive.atr_mult == 3.0  # inactive: default
    assert inactive.warmup == 20
    assert DonchianAtr(stop="atr", atr_window=50).warmup == 49
