"""Sizing transforms against loops written apart, causality, and their errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from backtest import run_backtest
from backtest.sizing import kelly_scale, vol_target
from data_loaders import load_bars
from data_loaders.errors import ParameterError


@pytest.fixture(scope="module")
def bars():
    return load_bars("sample:sp500").iloc[:700]


def _signal(bars):
    c = bars.close
    return (c.rolling(10).mean() > c.rolling(30).mean()).astype(float) * 2 - 1  # long/short


def test_vol_target_equals_a_loop(bars):
    pos = _signal(bars)
    out = vol_target(pos, bars.close, target_vol=0.10, window=20, step=None)
    close = bars.close.to_numpy()
    for t in (19, 20, 150, 699):
        r = [close[i] / close[i - 1] - 1 for i in range(t - 19, t + 1) if i >= 1]
        if len(r) < 20:
            assert out.iloc[t] == 0.0
            continue
        mean = sum(r) / 20
        sd = math.sqrt(sum((x - mean) ** 2 for x in r) / 19) * math.sqrt(252)
        assert out.iloc[t] == pytest.approx(pos.iloc[t] * min(1.0, 0.10 / sd), rel=1e-9)
    stepped = vol_target(pos, bars.close, target_vol=0.10, window=20, step=0.25)
    assert set(np.round(np.abs(stepped.unique()), 12)) <= {0.0, 0.25, 0.5, 0.75, 1.0}
    assert stepped.abs().le(out.abs() + 1e-12).all()  # rounded down


def test_kelly_scale_equals_a_loop(bars):
    pos = _signal(bars)
    out = kelly_scale(pos, bars.close, fraction=0.5, window=60, cap=1.0, step=None)
    close, p = bars.close.to_numpy(), pos.to_numpy()
    u = [np.nan] + [np.sign(p[i - 1]) * (close[i] / close[i - 1] - 1) for i in range(1, len(p))]
    seen = set()
    for t in range(60, 700, 37):
        w = np.array(u[t - 59 : t + 1])
        k = w.mean() / w.var(ddof=1)
        expected = p[t] * min(max(0.5 * k, 0.0), 1.0)
        assert out.iloc[t] == pytest.approx(expected, rel=1e-9, abs=1e-15)
        seen.add(0.0 < abs(expected) < 1.0)
    assert True in seen  # some scales strictly between 0 and the cap


def test_sizing_is_causal_and_runs_in_the_engine(bars):
    pos = _signal(bars)
    full = vol_target(pos, bars.close, target_vol=0.15)
    part = vol_target(pos.iloc[:400], bars.close.iloc[:400], target_vol=0.15)
    pd.testing.assert_series_equal(part, full.iloc[:400])
    kf = kelly_scale(pos, bars.close, window=100)
    kp = kelly_scale(pos.iloc[:400], bars.close.iloc[:400], window=100)
    pd.testing.assert_series_equal(kp, kf.iloc[:400])
    sized, plain = run_backtest(bars, full), run_backtest(bars, pos)
    assert sized.positions_in_force.abs().max() <= 1.0
    vol = {k: r.returns.iloc[60:].std() * math.sqrt(252) for k, r in (("s", sized), ("p", plain))}
    assert vol["s"] < vol["p"]  # 15 % target below the index's own volatility
    assert vol["s"] == pytest.approx(0.15, rel=0.35)


def test_sizing_errors_are_one_line(bars):
    pos = _signal(bars)
    with pytest.raises(ParameterError, match=r"`max_leverage` must be in \(0, 100\]"):
        vol_target(pos, bars.close, target_vol=0.1, max_leverage=200)
    with pytest.raises(ParameterError, match="`window` must be an integer >= 2"):
        kelly_scale(pos, bars.close, window=1)
    with pytest.raises(ParameterError, match="indexed like `close`"):
        vol_target(pos.iloc[1:], bars.close, target_vol=0.1)
