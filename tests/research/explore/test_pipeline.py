"""``explore()`` end to end: a planted signal wins, the leakage guard holds inside walk-forward,
outputs are written, bars dicts get reference features and cointegration."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from backtest.splitters import WalkForward
from data_loaders import Regime, cointegrated_pair, synthetic_bars
from data_loaders.errors import ConfigError, DataTooShortError, DataValidationError
from research.explore import explore, train_window, write_exploration
from research.explore.spec import load_spec
from tests.research.explore._specs import light_features

LIGHT = {
    "features": light_features(
        ["rsi", "macd", "bollinger", "atr", "obv", "adx", "sma"],
        max_per_indicator=2,
        returns=[1, 5, 20],
        window=50,
        short=20,
        lookback=100,
    ),
    "horizons": [1, 5],
    "stationarity": {"max_obs": 600},
    "screening": {
        "mutual_info": {"rows": 400},
        "lightgbm": {"rows": 1000, "n_estimators": 15},
        "n_periods": 6,
    },
    "audit": {"calendar": "continuous"},
    "tests": {"hurst_max_lag": 50},
}
CALM = (Regime("calm", drift=0.0, volatility=0.2, mean_duration=10**9),)


def _bars(n: int = 3000, seed: int = 31) -> pd.DataFrame:
    return synthetic_bars(n, freq="1min", seed=seed, regimes=CALM)


def _planted(bars: pd.DataFrame, strength: float = 0.25, seed: int = 0) -> pd.DataFrame:
    """A causal-looking column that predicts the next bar's return (only a test can cheat so)."""
    rng = np.random.default_rng(seed)
    lc = np.log(bars["close"].to_numpy())
    nxt = np.r_[np.diff(lc), 0.0]
    return pd.DataFrame(
        {"planted": strength * nxt / nxt.std() + rng.normal(size=len(bars))}, index=bars.index
    )


@pytest.fixture(scope="module")
def result():
    bars = _bars()
    return explore(bars, LIGHT, extra_features=_planted(bars))


def test_planted_feature_ranks_first_and_is_selected(result) -> None:
    scores = result.screening.scores
    assert scores.index[0] == "planted"
    assert result.selected[0] == "planted"
    assert scores.at["planted", "best_horizon"] == 1
    assert result.feature_info.at["planted", "group"] == "extra"
    f = result.findings
    assert f["screening"]["top"][0]["feature"] == "planted"
    assert f["features"]["n_computed"] == result.feature_info.shape[0]
    assert f["train"]["n_bars"] == result.train_stop == 2100  # 70% of the bars by default
    assert set(f["timings_seconds"]) == {"features", "stationarity", "screening", "audit", "tests"}
    assert f["tests"]["window"] == "train"
    assert set(f["tests"]["ljung_box"]["returns"]) == {"5", "10", "20"}  # JSON-ready keys


def test_non_stationary_features_are_transformed_on_the_train_window(result) -> None:
    """Price-level features (moving averages, bands) become ratios to the close, OBV (a running
    sum) its difference; the transformed columns replace the originals and test stationary."""
    info = result.feature_info
    bars = _bars()
    close = bars["close"]
    assert info.at["sma_200", "verdict"] == "unit_root"
    assert info.at["sma_200", "applied"] == "transformed"
    assert info.at["sma_200", "new_name"] == "sma_200__rel"
    want = close.rolling(200).mean() / close - 1.0
    np.testing.assert_allclose(result.features["sma_200__rel"], want, rtol=1e-9, atol=1e-12)
    assert info.at["obv", "transform"] == "difference"
    obv = (np.sign(close.diff()).fillna(0.0) * bars["volume"]).cumsum()
    np.testing.assert_allclose(result.features["obv__d1"].iloc[2:], obv.diff().iloc[2:], rtol=1e-9)
    moved = info[info["applied"] == "transformed"]
    assert len(moved) >= 3 and (moved["new_verdict"] == "stationary").all()
    assert not set(moved.index) & set(result.features.columns)  # originals replaced
    assert set(moved["new_name"]) <= set(result.features.columns)
    for row in result.suggestions["transform"]:
        assert row["applied"] in ("transformed", "suggested", "drop")
    assert result.suggestions["selected"] == result.selected
    assert {d["feature"] for d in result.suggestions["drop"]} >= set(result.screening.dropped)


def test_extra_unit_root_feature_is_differenced() -> None:
    bars = _bars(2000, seed=32)
    walk = np.cumsum(np.random.default_rng(3).normal(size=len(bars)))
    extra = pd.DataFrame({"walk": walk}, index=bars.index)
    res = explore(bars, LIGHT, extra_features=extra)
    row = res.feature_info.loc["walk"]
    assert row["verdict"] == "unit_root" and row["applied"] == "transformed"
    assert row["transform"] == "difference" and row["new_name"] == "walk__d1"
    np.testing.assert_allclose(res.features["walk__d1"].to_numpy()[1:], np.diff(walk))


def test_leakage_guard_inside_walk_forward() -> None:
    """For each fold, replacing every bar after the train window changes nothing that was
    decided: selection, the screening table, stationarity verdicts, transforms, tests."""
    bars = _bars(3000, seed=33)
    extra = _planted(bars, strength=0.2, seed=4)
    folds = WalkForward(train=1600, test=600, anchored=True).split(bars.index)
    assert len(folds) >= 2
    other = synthetic_bars(3000, freq="1min", seed=99, regimes=CALM)
    for fold in folds:
        stop = fold.train.stop
        changed = bars.copy()
        tail = other.iloc[stop:].copy()
        scale = bars["close"].iloc[stop - 1] / other["close"].iloc[stop - 1] * 1.3
        tail[["open", "high", "low", "close"]] *= scale
        tail["volume"] *= 7.0
        changed.iloc[stop:] = tail.to_numpy()
        extra2 = extra.copy()
        extra2.iloc[stop:] = np.random.default_rng(5).normal(size=(len(bars) - stop, 1)) * 9
        a = explore(bars, LIGHT, train_end=fold.train_end, extra_features=extra)
        b = explore(changed, LIGHT, train_end=fold.train_end, extra_features=extra2)
        assert a.train_stop == b.train_stop == stop
        assert a.selected == b.selected and a.selected[0] == "planted"
        pd.testing.assert_frame_equal(a.screening.table, b.screening.table)
        pd.testing.assert_frame_equal(a.screening.corr, b.screening.corr)
        cols = ["verdict", "transform", "new_name", "new_verdict", "applied", "adf_pvalue"]
        pd.testing.assert_frame_equal(a.feature_info[cols], b.feature_info[cols])
        assert a.findings["tests"] == b.findings["tests"]
        assert a.findings["screening"] == b.findings["screening"]
        pd.testing.assert_frame_equal(a.features.iloc[:stop], b.features.iloc[:stop])
        assert not a.features.iloc[stop:].equals(b.features.iloc[stop:])  # the data did change


def test_train_window_rules() -> None:
    idx = pd.date_range("2024-01-01", periods=48, freq="h", tz="UTC")
    spec = load_spec(None)
    assert train_window(idx, None, spec) == (34, idx[33])  # round(0.7 * 48)
    assert train_window(idx, "2024-01-01", spec) == (24, idx[23])  # a bare date: the whole day
    assert train_window(idx, "2024-01-01 05:30", spec) == (6, idx[5])
    assert train_window(idx, None, load_spec({"train": {"end": "2024-01-02 00:00:00"}})) == (
        25,
        idx[24],
    )
    with pytest.raises(ConfigError, match="before the first bar"):
        train_window(idx, "2023-12-31 12:00", spec)
    with pytest.raises(ConfigError, match="must be a date or timestamp"):
        train_window(idx, "soon", spec)


def test_bars_dict_gets_reference_features_and_cointegration() -> None:
    pair = cointegrated_pair(1200, seed=34, hedge_ratio=1.2, half_life=8.0)
    res = explore(pair, {**LIGHT, "audit": {"calendar": "auto"}}, symbol="A")
    flipped = explore(pair, {**LIGHT, "audit": {"calendar": "auto"}}, symbol="B")
    assert flipped.cointegration.symbols == ("B", "A")  # the explored symbol is the y leg
    assert flipped.cointegration.hedge_ratio == pytest.approx(1 / 1.2, rel=0.1)
    assert res.symbol == "A"
    assert {"ref_beta_50", "ref_corr_50"} <= set(res.feature_info.index)
    co = res.cointegration
    assert co is not None and co.symbols == ("A", "B") and co.eg_pvalue < 0.01
    assert co.hedge_ratio == pytest.approx(1.2, abs=0.1)
    assert co.spread.index[-1] <= res.train_end  # fitted on the train window only
    assert res.findings["cointegration"]["johansen_rank"] >= 1
    with pytest.raises(
        ConfigError, match=r"unknown `symbol` 'C' \(did you mean|unknown `symbol` 'C'"
    ):
        explore(pair, LIGHT, symbol="C")


def test_input_errors() -> None:
    bars = _bars(2000, seed=35)
    with pytest.raises(DataTooShortError, match="at least 50 bars"):
        explore(bars.iloc[:40], LIGHT)
    with pytest.raises(DataValidationError, match="indexed exactly like the bars"):
        explore(bars, LIGHT, extra_features=_planted(bars).iloc[:-1])
    with pytest.raises(DataValidationError, match="clashes"):
        explore(bars, LIGHT, extra_features=pd.DataFrame({"ret_1": 0.0}, index=bars.index))
    with pytest.raises(ConfigError, match="unknown key `horizon`"):
        explore(bars, {"horizon": [1]})
    bad = bars.copy()
    bad.iloc[10, bad.columns.get_loc("high")] = bad["low"].iloc[10] * 0.5
    with pytest.raises(DataValidationError):
        explore(bad, LIGHT)


def test_write_exploration_writes_every_output(result, tmp_path) -> None:
    paths = write_exploration(result, tmp_path)
    assert set(paths) == {"features", "selected", "selected_json", "findings", "html"}
    features = pd.read_parquet(paths["features"])
    assert list(features.columns) == list(result.features.columns)
    assert len(features) == len(result.features)
    selected = pd.read_parquet(paths["selected"])
    assert list(selected.columns) == result.selected
    meta = json.loads(paths["selected_json"].read_text())
    assert meta["features"] == result.selected
    assert meta["train_end"] == result.train_end.isoformat() and meta["horizons"] == [1, 5]
    assert meta["scores"]["planted"]["best_horizon"] == 1

    def no_nan(token):
        raise AssertionError(f"non-finite number {token} in findings.json")

    findings = json.loads(paths["findings"].read_text(), parse_constant=no_nan)
    assert findings["screening"]["n_selected"] == len(result.selected)
    html = paths["html"].read_text()
    assert html.count("Plotly.newPlot") == 4  # IC by horizon, clustermap, PCA, audit
    assert "<script src=" not in html and len(html) > 1_000_000  # plotly.js inlined: offline
    for title in ("Rank IC by horizon", "Rank correlation", "PCA of the", "Audit findings"):
        assert title in html
    assert "planted" in html


def test_the_result_module_does_not_import_the_html_renderer() -> None:
    import ast
    import inspect

    from research.explore import pipeline

    tree = ast.parse(inspect.getsource(pipeline))
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert "research.explore.report" not in imported
    assert not hasattr(pipeline.ExplorationResult, "save")
