"""Tests of strategies/kernels.py: the public trailing-stop wrapper against a loop written here."""

from __future__ import annotations

import numpy as np
import pandas as pd

from strategies.kernels import trailing_stop_positions


def _by_hand(close, entries, exits, distance):
    out, state, peak = [], 0, 0.0
    for c, e, x, d in zip(close, entries, exits, distance):
        exited = False
        if state == 1:
            peak = max(peak, c)
            if x or (not np.isnan(d) and c < peak - d):
                state, exited = 0, True
        if state == 0 and e and not x and not exited:
            state, peak = 1, c
        out.append(float(state))
    return out


def test_trailing_stop_matches_a_plain_loop_and_keeps_the_index():
    rng = np.random.default_rng(4)
    n = 400
    index = pd.date_range("2022-01-03", periods=n, freq="D", tz="UTC")
    close = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.02, n))), index=index)
    entries = pd.Series(rng.random(n) < 0.05, index=index)
    exits = rng.random(n) < 0.02
    distance = np.where(np.arange(n) < 30, np.nan, 4.0)  # no stop during a warm-up
    got = trailing_stop_positions(close, entries, exits, distance)
    assert got.index.equals(index) and got.name == "position"
    assert got.tolist() == _by_hand(close.to_numpy(), entries.to_numpy(), exits, distance)
    assert 0 < got.sum() < n  # it was long at times, and stopped out at times
    # a scalar distance broadcasts; an infinite one never stops (only the exits close)
    no_stop = trailing_stop_positions(close, entries, exits, np.inf)
    assert no_stop.tolist() == _by_hand(close.to_numpy(), entries.to_numpy(), exits, [np.inf] * n)
    assert (no_stop >= got).all()
