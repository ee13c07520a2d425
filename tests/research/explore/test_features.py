"""The feature table: values against ``ta`` and hand computations, causality, cache, metadata."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import ta
from scipy import stats

from research.explore.features import build_features, technical_plan
from research.explore.spec import default_spec, load_spec
from tests.conftest import make_bars
from tests.research.explore._specs import light_features

SMALL = {
    "features": light_features(
        ["rsi", "bollinger", "adx", "macd", "obv"],
        max_per_indicator=9,
        returns=[1, 5],
        window=30,
        short=10,
        lookback=50,
    )
}


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return make_bars(400, freq="B", seed=5)


@pytest.fixture(scope="module")
def small(bars):
    return build_features(bars, load_spec(SMALL).features)


def _col(fs, name: str) -> np.ndarray:
    return fs.data[name].to_numpy()


def test_price_features_by_hand(bars, small) -> None:
    o, h, lo, c = (bars[k].to_numpy() for k in ("open", "high", "low", "close"))
    prev = np.r_[np.nan, c[:-1]]
    np.testing.assert_allclose(_col(small, "ret_1")[1:], np.log(c[1:] / c[:-1]))
    np.testing.assert_allclose(_col(small, "ret_5")[5:], np.log(c[5:] / c[:-5]))
    assert np.isnan(_col(small, "ret_5")[:5]).all()
    np.testing.assert_allclose(_col(small, "range_hl"), np.log(h / lo))
    np.testing.assert_allclose(_col(small, "body"), np.log(c / o))
    np.testing.assert_allclose(_col(small, "clv"), ((c - lo) - (h - c)) / (h - lo))
    tr = np.log(np.maximum(h, prev) / np.minimum(lo, prev))
    np.testing.assert_allclose(_col(small, "true_range")[1:], tr[1:])
    np.testing.assert_allclose(_col(small, "gap")[1:], np.log(o[1:] / c[:-1]))
    lv = np.log1p(bars["volume"].to_numpy())
    t = 100
    window = lv[t - 19 : t + 1]
    want = (lv[t] - window.mean()) / window.std(ddof=1)
    assert _col(small, "volume_z_20")[t] == pytest.approx(want, rel=1e-9)


def test_technical_features_equal_ta(bars, small) -> None:
    c = bars["close"]
    for w in (7, 14, 21, 28):
        want = ta.momentum.RSIIndicator(c, w, fillna=False).rsi().to_numpy()
        got = _col(small, f"rsi_{w}")
        np.testing.assert_allclose(got[w:], want[w:], rtol=1e-9)
        assert np.isnan(got[: w - 1]).all()
    bb = ta.volatility.BollingerBands(c, 20, 2.0, fillna=False)
    np.testing.assert_allclose(
        _col(small, "bollinger_hband_20_2.0")[19:], bb.bollinger_hband()[19:], rtol=1e-9
    )
    np.testing.assert_allclose(
        _col(small, "bollinger_pband_20_2.0")[19:], bb.bollinger_pband()[19:], rtol=1e-7
    )
    macd = ta.trend.MACD(c, 26, 12, 9, fillna=False)
    np.testing.assert_allclose(
        _col(small, "macd_signal_26_12_9")[33:], macd.macd_signal()[33:], rtol=1e-9
    )
    adx = ta.trend.ADXIndicator(bars["high"], bars["low"], c, 14, fillna=False)
    np.testing.assert_allclose(_col(small, "adx_14")[27:], adx.adx()[27:], rtol=1e-9)
    np.testing.assert_allclose(
        _col(small, "obv"),
        ta.volume.OnBalanceVolumeIndicator(c, bars["volume"]).on_balance_volume(),
        rtol=1e-12,
    )


def test_statistical_features_by_hand(bars, small) -> None:
    c = bars["close"].to_numpy()
    r = np.r_[np.nan, np.diff(np.log(c))]
    t = 250
    win = c[t - 19 : t + 1]
    assert _col(small, "close_z_20")[t] == pytest.approx((c[t] - win.mean()) / win.std(ddof=1))
    rw = r[t - 29 : t + 1]
    assert _col(small, "ret_skew_30")[t] == pytest.approx(stats.skew(rw, bias=False), rel=1e-8)
    assert _col(small, "ret_kurt_30")[t] == pytest.approx(stats.kurtosis(rw, bias=False), rel=1e-8)
    assert _col(small, "ret_autocorr_30")[t] == pytest.approx(
        np.corrcoef(r[t - 29 : t + 1], r[t - 30 : t])[0, 1], abs=1e-10
    )
    assert _col(small, "ret_vol_10")[t] == pytest.approx(r[t - 9 : t + 1].std(ddof=1))
    regime = _col(small, "vol_regime")
    assert set(np.unique(regime[np.isfinite(regime)])) <= {0.0, 1.0, 2.0}
    assert np.isnan(regime[: 10 + 50 - 1]).all() and np.isfinite(regime[10 + 50 - 1])


def test_info_table(small) -> None:
    info = small.info
    assert list(info.index) == list(small.data.columns)
    assert info.at["rsi_14", "group"] == "technical" and info.at["rsi_14", "family"] == "momentum"
    assert json.loads(info.at["rsi_14", "params"]) == {"window": 14}
    assert info.at["ret_5", "group"] == "returns" and info.at["ret_5", "first_valid"] == 5
    assert info.at["rsi_14", "first_valid"] == 13
    assert (
        info.at["bollinger_mavg_20_2.0", "scale_free"] is False
        or not info.at["bollinger_mavg_20_2.0", "scale_free"]
    )
    assert (small.data.dtypes == np.float64).all()


def test_reference_features_align_on_timestamps(bars) -> None:
    ref = make_bars(400, freq="B", seed=6).drop(index=bars.index[200])  # one missing bar
    fs = build_features(bars, load_spec(SMALL).features, reference=ref)
    r = np.log(bars["close"]).diff()
    rr = np.log(ref["close"]).diff().reindex(bars.index)  # missing bar -> NaN (and the next)
    t = 150
    y, x = r.to_numpy()[t - 29 : t + 1], rr.to_numpy()[t - 29 : t + 1]
    assert _col(fs, "ref_beta_30")[t] == pytest.approx(np.polyfit(x, y, 1)[0], rel=1e-8)
    assert _col(fs, "ref_corr_30")[t] == pytest.approx(np.corrcoef(x, y)[0, 1], rel=1e-8)
    assert np.isnan(_col(fs, "ref_corr_30")[200:231]).all()  # a NaN inside the window
    assert np.isfinite(_col(fs, "ref_corr_30")[232])


def test_default_catalog_is_large_and_causal() -> None:
    """>= 100 features; truncating the future leaves every past value unchanged."""
    spec = default_spec().features
    bars = make_bars(700, freq="h", seed=8)
    full = build_features(bars, spec)
    assert full.data.shape[1] >= 100
    assert set(full.info["group"]) >= {
        "technical",
        "returns",
        "ranges",
        "gaps",
        "volume_z",
        "statistical",
    }
    assert set(full.info["family"]) >= {"momentum", "trend", "volatility", "volume", "others"}
    cut = 520
    part = build_features(bars.iloc[:cut], spec)
    assert list(part.data.columns) == list(full.data.columns)
    a, b = part.data.to_numpy(), full.data.to_numpy()[:cut]
    same = (a == b) | (np.isnan(a) & np.isnan(b)) | np.isclose(a, b, rtol=1e-9, atol=1e-12)
    bad = [full.data.columns[j] for j in np.flatnonzero(~same.all(axis=0))]
    assert bad == []


def test_plan_thins_grids_and_honours_include_exclude() -> None:
    spec = load_spec({"features": {"technical": {"max_per_indicator": 2}}}).features
    plan = technical_plan(spec)
    rsi = [p for ind, p in plan if ind.name == "rsi"]
    assert rsi == [{"window": 7}, {"window": 28}]  # the grid's ends
    only = load_spec({"features": {"technical": {"include": ["sma"], "max_per_indicator": 10}}})
    assert {ind.name for ind, _ in technical_plan(only.features)} == {"sma"}
    ex = load_spec({"features": {"technical": {"exclude": ["sma", "ema"]}}})
    names = {ind.name for ind, _ in technical_plan(ex.features)}
    assert "sma" not in names and "ema" not in names and "rsi" in names
    off = load_spec({"features": {"technical": {"enabled": False}}})
    assert technical_plan(off.features) == []


def test_cache_round_trip(tmp_path, bars) -> None:
    spec = load_spec(SMALL).features
    first = build_features(bars, spec, cache_dir=tmp_path)
    assert not first.from_cache and len(list(tmp_path.glob("features-*.parquet"))) == 1
    again = build_features(bars, spec, cache_dir=tmp_path)
    assert again.from_cache
    pd.testing.assert_frame_equal(again.data, first.data, check_freq=False)
    pd.testing.assert_frame_equal(again.info, first.info, check_dtype=False)
    other = bars.copy()
    other.iloc[-1, other.columns.get_loc("volume")] += 1.0  # other data -> other key
    assert not build_features(other, spec, cache_dir=tmp_path).from_cache
    assert len(list(tmp_path.glob("features-*.parquet"))) == 2


def test_cache_keeps_under_its_cap_evicting_the_least_recently_used(
    tmp_path, bars, monkeypatch
) -> None:
    import os

    spec = load_spec(SMALL).features
    build_features(bars, spec, cache_dir=tmp_path)
    (first,) = tmp_path.glob("features-*.parquet")
    size = first.stat().st_size
    os.utime(first, (1000, 1000))
    keep = tmp_path / "notes.txt"
    keep.write_text("not a cache entry")
    monkeypatch.setenv("QR_CACHE_MAX_EXPLORE", str(size + size // 2))  # room for one entry
    other = bars.copy()
    other.iloc[-1, other.columns.get_loc("volume")] += 1.0
    build_features(other, spec, cache_dir=tmp_path)
    (left,) = tmp_path.glob("features-*.parquet")
    assert left != first and not first.exists() and keep.exists()
    assert build_features(other, spec, cache_dir=tmp_path).from_cache
