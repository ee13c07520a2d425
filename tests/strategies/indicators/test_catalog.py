"""The catalog: every ``ta`` family covered, warm-ups declared and proved, every entry causal."""

import numpy as np
import pandas as pd
import pytest
import ta

from data_loaders.errors import ParameterError
from strategies.indicators import FAMILIES, catalog, compute_features, get_indicator
from tests.strategies._data import make_bars

CATALOG = catalog()
POINTS = [(name, p) for name, ind in CATALOG.items() for p in ind.grid_points()]
#: entries whose raw ``ta`` output already has values before the declared warm-up (filled
#: zeros, ``min_periods=0`` windows, initial bars); their warm-up is checked in the ta tests below
RAW_FILLED_EARLY = {"adx", "ichimoku", "psar"}


@pytest.fixture(scope="module")
def ohlc():
    return make_bars(500, seed=21)


def _frame(out) -> pd.DataFrame:
    return out.to_frame() if isinstance(out, pd.Series) else out


def test_families_and_required_entries():
    assert {ind.family for ind in CATALOG.values()} == set(FAMILIES)
    required = {
        "momentum": "rsi stoch stochrsi tsi uo williams_r ao kama roc ppo pvo",
        "trend": "sma ema wma macd adx vortex trix mass_index cci dpo kst ichimoku aroon psar stc",
        "volatility": "atr bollinger keltner donchian ulcer",
        "volume": "obv cmf force_index eom vpt nvi mfi vwap adi",
        "others": "daily_return daily_log_return cumulative_return",
    }
    for family, names in required.items():
        for name in names.split():
            assert CATALOG[name].family == family, name


def test_params_are_lists_of_default_grid_values():
    for ind in CATALOG.values():
        assert set(ind.params) == set(ind.defaults)
        for name, values in ind.params.items():
            assert isinstance(values, list) and values, (ind.name, name)
            for v in values:
                ind.resolve(**{name: v})
        assert ind.grid_points(), ind.name


@pytest.mark.parametrize(
    ("name", "params"), POINTS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(POINTS)]
)
def test_first_defined_bar_is_the_declared_warmup(ohlc, name, params):
    ind = CATALOG[name]
    warm = ind.warmup(**params)
    values = _frame(ind.compute(ohlc, **params)).to_numpy()
    assert np.isnan(values[:warm]).all()
    defined = ~np.isnan(values).any(axis=1)
    assert int(np.argmax(defined)) == warm
    assert defined[warm:].all(), "a NaN after the warm-up on regular data"
    if name not in RAW_FILLED_EARLY and warm > 0:  # the mask hides nothing that was defined
        raw = _frame(ind.func(**ind._inputs(ohlc), **ind.resolve(**params))).to_numpy(dtype=float)
        assert np.isnan(raw[warm - 1]).any()


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_every_entry_is_causal(ohlc, name):
    ind = CATALOG[name]
    full = _frame(ind.compute(ohlc)).to_numpy()
    for k in (ind.warmup() + 1, ind.warmup() + 9, 200, 333, 499):
        part = _frame(ind.compute(ohlc.iloc[:k])).to_numpy()
        np.testing.assert_allclose(part, full[:k], rtol=1e-12, atol=0, equal_nan=True)


def test_ta_filled_entries_are_nan_exactly_until_their_warmup(ohlc):
    h, lo, c = ohlc["high"], ohlc["low"], ohlc["close"]
    adx = ta.trend.ADXIndicator(h, lo, c, 14).adx()
    assert (adx.iloc[:27] == 0).all() and adx.iloc[27] > 0  # ta fills zeros; warm-up 2*14-1
    assert get_indicator("adx").warmup(window=14) == 27
    span_b = ta.trend.IchimokuIndicator(h, lo, 9, 26, 52).ichimoku_b()
    conv = ta.trend.IchimokuIndicator(h, lo, 9, 26, 52).ichimoku_conversion_line()
    assert span_b.notna().all() and conv.isna().sum() == 8  # span B has min_periods=0
    assert get_indicator("ichimoku").warmup() == 51


# --- entries recomputed here agree with ta from their warm-up on ------------------------------------
def _after(warm, a, b):
    np.testing.assert_allclose(np.asarray(a)[warm:], np.asarray(b)[warm:], rtol=1e-9, atol=1e-9)


def test_reimplemented_entries_match_ta(ohlc):
    h, lo, c, v = ohlc["high"], ohlc["low"], ohlc["close"], ohlc["volume"]
    get = lambda name, **p: get_indicator(name).compute(ohlc, **p)  # noqa: E731
    _after(19, get("sma", window=20), ta.trend.SMAIndicator(c, 20).sma_indicator())
    _after(19, get("ema", window=20), ta.trend.EMAIndicator(c, 20).ema_indicator())
    _after(8, get("wma", window=9), ta.trend.WMAIndicator(c, 9).wma())
    _after(13, get("rsi"), ta.momentum.RSIIndicator(c, 14).rsi())
    _after(13, get("atr"), ta.volatility.AverageTrueRange(h, lo, c, 14).average_true_range())
    m = ta.trend.MACD(c, 26, 12, 9)
    macd = get("macd")
    _after(33, macd["macd"], m.macd())
    _after(33, macd["macd_signal"], m.macd_signal())
    _after(33, macd["macd_diff"], m.macd_diff())
    k = ta.trend.KSTIndicator(c)
    kst = get("kst")
    _after(52, kst["kst"], k.kst())
    _after(52, kst["kst_sig"], k.kst_sig())
    _after(52, kst["kst_diff"], k.kst_diff())
    bands = {  # our column `<name>_<band>` against the reference's method
        "bollinger": (ta.volatility.BollingerBands(c, 20, 2), "bollinger_", "mavg"),
        "donchian": (ta.volatility.DonchianChannel(h, lo, c, 20), "donchian_channel_", "mband"),
    }
    for name, (ref, method, middle) in bands.items():
        ours = get(name)
        for band in (middle, "hband", "lband", "wband", "pband"):
            _after(19, ours[f"{name}_{band}"], getattr(ref, method + band)())
    nvi = ta.volume.NegativeVolumeIndexIndicator(c.iloc[:300], v.iloc[:300]).negative_volume_index()
    _after(0, get("nvi").iloc[:300], nvi)
    _after(1, get("daily_return"), ta.others.DailyReturnIndicator(c).daily_return())


def test_kst_does_not_use_the_full_sample_mean_like_ta(ohlc):
    """ta fills the first ROC bars with close.mean(); the catalog's early bars are NaN instead."""
    c = ohlc["close"]
    ta_early = ta.trend.KSTIndicator(c).kst().iloc[20:44]
    assert ta_early.notna().all()  # values that depend on future closes
    assert get_indicator("kst").compute(ohlc).iloc[:52].isna().all().all()


# --- feature matrices ----------------------------------------------------------------------------
def test_compute_features_names_columns_by_label(ohlc):
    feats = compute_features(ohlc, ["rsi", ("macd", {"window_fast": 5}), "obv"])
    assert list(feats.columns) == [
        "rsi_14",
        "macd_26_5_9",
        "macd_signal_26_5_9",
        "macd_diff_26_5_9",
        "obv",
    ]
    pd.testing.assert_series_equal(
        feats["rsi_14"], get_indicator("rsi").compute(ohlc), check_names=False
    )


def test_default_features_are_the_scale_free_entries(ohlc):
    feats = compute_features(ohlc)
    scale_free = [ind for ind in CATALOG.values() if ind.scale_free]
    assert feats.shape[1] == sum(len(ind.outputs) for ind in scale_free)
    assert "rsi_14" in feats and "sma_20" not in feats
    assert feats.index.equals(ohlc.index)


def test_unknown_indicator_suggests_a_name():
    with pytest.raises(ParameterError) as err:
        get_indicator("rsii")
    assert str(err.value) == "unknown indicator 'rsii' (did you mean 'rsi'?)"
