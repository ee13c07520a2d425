"""Seeded synthetic bars: reproducible, valid OHLC, the model's statistics, and scale."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from data_loaders import (
    ParameterError,
    Regime,
    cointegrated_pair,
    synthetic_bars,
    synthetic_universe,
    validate_bars,
)

YEAR = 365.25


def _log_returns(bars: pd.DataFrame) -> np.ndarray:
    return np.diff(np.log(bars["close"].to_numpy()))


def _assert_valid_ohlc(bars: pd.DataFrame) -> None:
    o, h, lo, c, v = (bars[k].to_numpy() for k in ("open", "high", "low", "close", "volume"))
    assert np.all(np.isfinite(bars.to_numpy()))
    assert np.all(lo > 0) and np.all(v > 0)
    assert np.all(h >= np.maximum(o, c)) and np.all(lo <= np.minimum(o, c))
    assert (
        bars.index.is_monotonic_increasing and bars.index.is_unique and str(bars.index.tz) == "UTC"
    )


def test_same_seed_same_bars_other_seed_other_bars():
    a = synthetic_bars(2_000, freq="5min", seed=42)
    b = synthetic_bars(2_000, freq="5min", seed=42)
    c = synthetic_bars(2_000, freq="5min", seed=43)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["close"].to_numpy(), c["close"].to_numpy())
    assert a.attrs["source"] == "synthetic:seed=42" and a.attrs["frequency"] == "5min"


@pytest.mark.parametrize("freq", ["1min", "1h", "1D", "B"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bars_keep_the_contract(freq, seed):
    bars = synthetic_bars(3_000, freq=freq, seed=seed, start="2021-06-01")
    _assert_valid_ohlc(bars)
    pd.testing.assert_frame_equal(validate_bars(bars, source="syn"), bars, check_freq=False)
    assert bars.index[0] == pd.Timestamp("2021-06-01", tz="UTC")
    if freq == "B":
        assert set(bars.index.day_of_week) == {0, 1, 2, 3, 4}


def test_one_regime_is_geometric_brownian_motion_with_the_given_drift_and_volatility():
    mu, sigma, n = 0.10, 0.20, 200_000
    bars = synthetic_bars(
        n, freq="1D", seed=5, regimes=[Regime("only", mu, sigma, 10)], start="1700-01-01"
    )
    r = _log_returns(bars)
    dt = 1 / YEAR
    # sample std: relative standard error 1/sqrt(2n) = 0.16%
    assert r.std(ddof=1) == pytest.approx(sigma * np.sqrt(dt), rel=0.01)
    # sample mean: standard error sigma sqrt(dt / n); allow 4 of them
    assert abs(r.mean() - (mu - sigma**2 / 2) * dt) < 4 * sigma * np.sqrt(dt / n)


def test_open_gaps_from_the_previous_close_scale_with_gap_scale():
    sigma, n = 0.3, 100_000
    regime = [Regime("only", 0.0, sigma, 10)]
    for gap_scale in (0.0, 0.5):
        bars = synthetic_bars(
            n, freq="1h", seed=9, regimes=regime, gap_scale=gap_scale, start="2000-01-01"
        )
        gap = np.log(bars["open"].to_numpy()[1:] / bars["close"].to_numpy()[:-1])
        expected = gap_scale * sigma * np.sqrt(1 / 24 / YEAR)
        assert gap.std() == pytest.approx(expected, rel=0.02, abs=1e-12)


def test_regimes_last_their_mean_duration_and_carry_their_volatility():
    regimes = [Regime("calm", 0.0, 0.1, 50), Regime("wild", 0.0, 0.6, 200)]
    bars, names = synthetic_bars(
        300_000, freq="1h", seed=3, regimes=regimes, return_regimes=True, start="1990-01-01"
    )
    assert set(names.unique()) == {"calm", "wild"} and names.index.equals(bars.index)
    labels = names.to_numpy()
    change = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    runs = np.diff(np.r_[0, change, len(labels)])
    run_names = labels[np.r_[0, change]]
    # geometric durations: mean = mean_duration, standard error mean/sqrt(count)
    for regime in regimes:
        lengths = runs[run_names == regime.name][1:-1]  # drop runs cut by the ends
        assert lengths.mean() == pytest.approx(regime.mean_duration, rel=4 / np.sqrt(len(lengths)))
    r = _log_returns(bars)
    same = labels[1:]
    for regime in regimes:
        realised = r[same == regime.name].std() / np.sqrt(1 / 24 / YEAR)
        assert realised == pytest.approx(regime.volatility, rel=0.03)


def test_default_regimes_are_named_bull_bear_calm():
    _, names = synthetic_bars(50_000, freq="1h", seed=0, return_regimes=True)
    assert set(names.unique()) == {"bull", "bear", "calm"}


def test_a_million_minute_bars(record_property):
    # timed for information only (benchmarks/bench_loaders.py measures speed); no time assert
    synthetic_bars(10, freq="1min")  # compile the numba kernel outside the measurement
    t0 = time.perf_counter()
    bars = synthetic_bars(1_000_000, freq="1min", seed=1)
    seconds = time.perf_counter() - t0
    record_property("synthetic_1m_minute_bars_seconds", round(seconds, 3))
    print(f"\n1,000,000 synthetic minute bars in {seconds:.2f} s")
    assert bars.shape == (1_000_000, 5)
    assert bars.index[-1] - bars.index[0] == pd.Timedelta(minutes=999_999)
    _assert_valid_ohlc(bars)


def test_universe_shares_an_index_and_has_the_asked_correlation():
    data = synthetic_universe(("A", "B", "C"), n_bars=20_000, seed=4, correlation=0.6)
    assert list(data) == ["A", "B", "C"]
    index = data["A"].index
    for bars in data.values():
        assert bars.index.equals(index)
        _assert_valid_ohlc(bars)
    r = np.column_stack([_log_returns(b) for b in data.values()])
    corr = np.corrcoef(r, rowvar=False)
    off = corr[~np.eye(3, dtype=bool)]
    assert np.all(np.abs(off - 0.6) < 0.03), corr
    other = synthetic_universe(("A", "B", "C"), n_bars=20_000, seed=4, correlation=0.6)
    pd.testing.assert_frame_equal(other["B"], data["B"])


def test_cointegrated_pair_spread_reverts_with_the_given_half_life():
    hedge, half_life = 1.5, 10.0
    pair = cointegrated_pair(
        50_000, seed=8, hedge_ratio=hedge, half_life=half_life, symbols=("X", "Y")
    )
    log_x, log_y = (np.log(pair[s]["close"].to_numpy()) for s in ("X", "Y"))
    spread = log_x - hedge * log_y
    spread -= spread.mean()
    phi = np.dot(spread[1:], spread[:-1]) / np.dot(spread[:-1], spread[:-1])  # AR(1) by OLS
    assert phi == pytest.approx(0.5 ** (1 / half_life), abs=0.01)
    level = log_y - log_y.mean()
    assert np.dot(level[1:], level[:-1]) / np.dot(level[:-1], level[:-1]) > 0.999  # a random walk
    for bars in pair.values():
        _assert_valid_ohlc(bars)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: synthetic_bars(0), r"`n_bars` must be a positive integer, got 0"),
        (lambda: synthetic_bars(10, freq="fortnight"), r"`freq`: cannot read 'fortnight'"),
        (lambda: synthetic_bars(10, start="not a date"), r"`start`: cannot read 'not a date'"),
        (lambda: synthetic_bars(10, start_price=-1), r"`start_price` must be > 0, got -1"),
        (lambda: synthetic_bars(10, regimes=[]), r"`regimes` must hold at least one Regime"),
        (
            lambda: synthetic_bars(10, regimes=[Regime("x", 0, -0.1, 5)]),
            r"`regimes\[0\].volatility` must be >= 0",
        ),
        (
            lambda: synthetic_bars(10, regimes=[Regime("x", 0, 0.1, "1s")]),
            r"mean_duration` must be at least one bar",
        ),
        (lambda: synthetic_universe(("A", "A")), r"`symbols` must be distinct names"),
        (
            lambda: synthetic_universe(("A", "B", "C"), correlation=-0.9),
            r"`correlation` must be in \[-1/\(n_symbols-1\), 1\]",
        ),
        (lambda: synthetic_universe(("A", "B"), correlation=np.eye(3)), r"symmetric 2x2 matrix"),
        (lambda: cointegrated_pair(symbols=("A", "A")), r"`symbols` must be two distinct names"),
    ],
)
def test_bad_arguments_are_parameter_errors(call, match):
    with pytest.raises(ParameterError, match=match):
        call()
