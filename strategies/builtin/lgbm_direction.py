"""``lgbm_direction``: a LightGBM classifier of the next bar's direction, fitted per training slice."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from data_loaders.errors import DataTooShortError, DataValidationError, ResearchError
from strategies._bars import single_bars
from strategies.base import Strategy
from strategies.indicators import FeatureSpec, compute_features, get_indicator
from strategies.params import Categorical, Float, Int

__all__ = ["LgbmDirection"]


class LgbmDirection(Strategy):
    """Learns the sign of the next bar's return from a feature matrix (``needs_fit``).

    Features: by default :attr:`default_features`, scale-free entries of the indicator catalog
    computed on the bars passed (every value causal); or a user ``features`` DataFrame indexed by
    timestamp (it may cover more than the bars: rows are taken at the bars' timestamps).

    :meth:`fit` uses only the training slice it is given: the label of bar t is
    ``close[t+1] > close[t]`` *within the slice*, so the slice's last bar (whose next close lies
    outside it) is dropped, as are rows with a missing feature. The learned model is ``model_``.

    :meth:`positions` predicts ``p[t] = P(close[t+1] > close[t] | features[t])`` causally and
    holds ``+1`` when ``p > threshold``, ``-1`` when ``allow_short`` and ``p < 1 - threshold``,
    else ``0`` (also ``0`` where a feature is missing). Warm-up: the largest warm-up of the
    default features (``0`` with user features).

    Deterministic for a given ``seed`` (LightGBM ``deterministic=True``, row-wise histograms, no
    bagging). ``seed`` and ``n_jobs`` are constructor options, not searched hyperparameters.
    """

    name = "lgbm_direction"
    needs_fit = True
    num_leaves = Int(4, 128, log=True, default=15)
    learning_rate = Float(0.005, 0.3, log=True, default=0.05)
    n_estimators = Int(10, 500, log=True, default=100)
    min_child_samples = Int(5, 200, log=True, default=20)
    threshold = Float(0.5, 0.7, default=0.55)
    allow_short = Categorical([False, True], default=False)

    #: catalog features used when no ``features`` DataFrame is given
    default_features: ClassVar[Sequence[FeatureSpec]] = (
        "rsi",
        "stoch",
        "williams_r",
        "roc",
        "ppo",
        "tsi",
        "uo",
        "cci",
        "adx",
        "vortex",
        "aroon",
        "mfi",
        "cmf",
        "atr_pct",
        "returns_std",
        "zscore",
        "daily_return",
    )

    def __init__(self, *, seed: int = 0, n_jobs: int = 1, **params: Any) -> None:
        super().__init__(**params)
        self.seed = seed
        self.n_jobs = n_jobs

    def with_params(self, **params: Any) -> LgbmDirection:
        return type(self)(seed=self.seed, n_jobs=self.n_jobs, **{**self._params, **params})

    @property
    def warmup(self) -> int:
        return max(_spec_warmup(s) for s in _unique(self.default_features))

    # --- features ---------------------------------------------------------------------------------
    def feature_matrix(
        self, bars: pd.DataFrame, features: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        """The model inputs at the bars' timestamps: catalog features or the user's columns."""
        bars = single_bars(bars, self.label(), ("high", "low", "close", "volume"))
        if features is None:
            return compute_features(bars, _unique(self.default_features))
        if not isinstance(features, pd.DataFrame):
            raise DataValidationError(
                f"{self.label()}: features must be a DataFrame, got {type(features).__name__}"
            )
        missing = bars.index.difference(features.index)
        if len(missing):
            raise DataValidationError(
                f"{self.label()}: features have no row for bar {missing[0]} "
                f"({len(missing)} bars missing); index them like the bars"
            )
        return features.loc[bars.index].astype(np.float64)

    # --- learning ---------------------------------------------------------------------------------
    def fit(self, bars: pd.DataFrame, features: pd.DataFrame | None = None) -> LgbmDirection:
        """Fit on this training slice only (labels from the slice; its last bar dropped)."""
        import lightgbm as lgb

        X = self.feature_matrix(bars, features)
        close = bars["close"].to_numpy(dtype=np.float64)
        label = (close[1:] > close[:-1]).astype(np.int32)
        Xv = X.to_numpy()[:-1]
        usable = np.isfinite(Xv).all(axis=1)
        Xv, label = Xv[usable], label[usable]
        need = max(2 * self.min_child_samples, 20)
        if len(label) < need:
            raise DataTooShortError(
                f"{self.label()}.fit: {len(label)} usable training rows (slice of {len(bars)} bars "
                f"after feature warm-up and the last bar), need >= {need}"
            )
        if label.min() == label.max():
            raise DataTooShortError(
                f"{self.label()}.fit: every training label is {label[0]}; need up and down bars"
            )
        model = lgb.LGBMClassifier(
            num_leaves=self.num_leaves,
            learning_rate=self.learning_rate,
            n_estimators=self.n_estimators,
            min_child_samples=self.min_child_samples,
            subsample=1.0,
            colsample_bytree=1.0,
            random_state=self.seed,
            deterministic=True,
            force_row_wise=True,
            n_jobs=self.n_jobs,
            verbose=-1,
        )
        model.fit(Xv, label)
        self.model_ = model
        self.feature_names_ = list(X.columns)
        self.n_train_ = int(len(label))
        self.train_range_ = (bars.index[0], bars.index[-1])
        return self

    def predict_proba(self, bars: pd.DataFrame, features: pd.DataFrame | None = None) -> pd.Series:
        """``P(next close > close)`` per bar (NaN where a feature is missing)."""
        if not hasattr(self, "model_"):
            raise ResearchError(f"{self.label()}: call fit(train_bars) before predicting")
        X = self.feature_matrix(bars, features)
        absent = [c for c in self.feature_names_ if c not in X.columns]
        if absent:
            raise DataValidationError(
                f"{self.label()}: features lack column {absent[0]!r} the model was fitted on"
            )
        Xv = X[self.feature_names_].to_numpy()
        proba = np.full(len(Xv), np.nan)
        ok = np.isfinite(Xv).all(axis=1)
        if ok.any():
            proba[ok] = self.model_.predict_proba(Xv[ok])[:, 1]
        return pd.Series(proba, index=X.index, name="p_up")

    def positions(self, bars: pd.DataFrame, features: pd.DataFrame | None = None) -> pd.Series:
        p = self.predict_proba(bars, features).to_numpy()
        pos = np.where(p > self.threshold, 1.0, 0.0)
        if self.allow_short:
            pos = np.where(p < 1.0 - self.threshold, -1.0, pos)
        pos[~np.isfinite(p)] = 0.0
        if features is None:
            pos[: self.warmup] = 0.0
        return pd.Series(pos, index=bars.index, name="position")


def _unique(specs: Sequence[FeatureSpec]) -> list[FeatureSpec]:
    out: list[FeatureSpec] = []
    seen: set[str] = set()
    for spec in specs:
        name, params = (spec, {}) if isinstance(spec, str) else spec
        key = get_indicator(name).label(**params)
        if key not in seen:
            seen.add(key)
            out.append(spec)
    return out


def _spec_warmup(spec: FeatureSpec) -> int:
    name, params = (spec, {}) if isinstance(spec, str) else spec
    return get_indicator(name).warmup(**params)
