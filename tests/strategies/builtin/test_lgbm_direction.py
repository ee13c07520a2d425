"""lgbm_direction: fitted on the training slice only, labels inside the slice, causal, seeded."""

import numpy as np
import pandas as pd
import pytest

from data_loaders.errors import DataTooShortError, DataValidationError, ResearchError
from strategies.builtin.lgbm_direction import LgbmDirection
from strategies.indicators import compute_features
from tests.strategies._data import make_bars

SMALL = {"n_estimators": 15, "num_leaves": 7, "min_child_samples": 10}


@pytest.fixture(scope="module")
def data():
    return make_bars(500, seed=8)


def test_fit_uses_only_the_slice_and_drops_its_last_bar(data):
    strat = LgbmDirection(**SMALL).fit(data.iloc[:300])
    assert (
        strat.n_train_ == 300 - strat.warmup - 1
    )  # rows after the feature warm-up, minus the last
    assert strat.train_range_ == (data.index[0], data.index[299])
    # the future beyond the slice is irrelevant to the model
    altered = data.copy()
    altered.iloc[300:, :4] *= 1.5
    other = LgbmDirection(**SMALL).fit(altered.iloc[:300])
    np.testing.assert_array_equal(
        strat.predict_proba(data).to_numpy(), other.predict_proba(data).to_numpy()
    )


def test_labels_are_next_bar_directions_within_the_slice(data):
    """Refit by hand with the same rows and labels: identical probabilities."""
    import lightgbm as lgb

    train = data.iloc[:300]
    strat = LgbmDirection(**SMALL).fit(train)
    X = compute_features(train, strat.default_features)
    close = train["close"].to_numpy()
    y = (close[1:] > close[:-1]).astype(int)
    rows = X.to_numpy()[:-1]
    keep = np.isfinite(rows).all(axis=1)
    model = lgb.LGBMClassifier(
        n_estimators=15,
        num_leaves=7,
        min_child_samples=10,
        learning_rate=0.05,
        random_state=0,
        deterministic=True,
        force_row_wise=True,
        n_jobs=1,
        verbose=-1,
    ).fit(rows[keep], y[keep])
    full = compute_features(data, strat.default_features).to_numpy()
    ok = np.isfinite(full).all(axis=1)
    np.testing.assert_allclose(
        strat.predict_proba(data).to_numpy()[ok], model.predict_proba(full[ok])[:, 1], rtol=1e-12
    )


def test_positions_apply_the_threshold(data):
    strat = LgbmDirection(**SMALL, threshold=0.52, allow_short=True).fit(data.iloc[:300])
    p = strat.predict_proba(data).to_numpy()
    pos = strat.positions(data).to_numpy()
    live = np.arange(len(p)) >= strat.warmup
    want = np.where(p > 0.52, 1.0, np.where(p < 0.48, -1.0, 0.0))
    np.testing.assert_array_equal(pos[live], want[live])
    assert (pos[~live] == 0).all()


def test_deterministic_for_a_seed_and_seed_survives_with_params(data):
    a = LgbmDirection(seed=7, **SMALL).fit(data.iloc[:300]).positions(data)
    b = LgbmDirection(seed=7, **SMALL).fit(data.iloc[:300]).positions(data)
    pd.testing.assert_series_equal(a, b)
    s = LgbmDirection(seed=7, **SMALL).with_params(threshold=0.6)
    assert s.seed == 7 and s.threshold == 0.6 and not hasattr(s, "model_")
    assert "seed" not in LgbmDirection.space()


def test_user_features_are_taken_at_the_bars_timestamps(data):
    feats = pd.DataFrame(
        {"mom": data["close"].pct_change(5), "vol": data["close"].pct_change().rolling(10).std()}
    )
    strat = LgbmDirection(**SMALL, threshold=0.5).fit(data.iloc[:300], feats)  # feats: whole period
    assert strat.feature_names_ == ["mom", "vol"]
    pos = strat.positions(data.iloc[300:], feats)
    assert pos.index.equals(data.index[300:]) and (pos != 0).any()
    with pytest.raises(DataValidationError, match="features have no row for bar"):
        strat.positions(data, feats.iloc[10:])
    with pytest.raises(DataValidationError, match="features lack column 'vol'"):
        strat.positions(data, feats[["mom"]])


def test_errors(data):
    with pytest.raises(
        ResearchError, match=r"lgbm_direction: call fit\(train_bars\) before predicting"
    ):
        LgbmDirection().positions(data)
    with pytest.raises(DataTooShortError, match="usable training rows"):
        LgbmDirection(**SMALL).fit(data.iloc[:50])
    flat = make_bars(200, seed=1)
    flat["close"] = np.linspace(100, 120, 200)
    flat["high"] = flat[["open", "close"]].max(axis=1) * 1.01
    flat["low"] = flat[["open", "close"]].min(axis=1) * 0.99
    with pytest.raises(DataTooShortError, match="every training label is 1"):
        LgbmDirection(**SMALL).fit(flat)
