"""Suggestions: stationary versions of non-stationary features, features to drop, the selected set.

Every decision here is taken on the train window (bars ``0 .. train_stop - 1``); the
transformations themselves are causal, so the transformed columns over the whole data carry no
future information.

Transformations (the first that applies):

* ``ratio_to_close``: ``x / close - 1`` for a price-level feature (not scale-free and within 50%
  of the close at the median over the train window: moving averages, bands, SAR, VWAP).
* ``per_close``: ``x / close`` for a non-negative feature in price units (ATR, band widths).
* ``difference``: ``x_t - x_{t-1}`` for a unit root (ADF does not reject, KPSS rejects).
* ``rolling_zscore``: ``(x - mean_w) / std_w`` over ``zscore_window`` trailing bars for a
  ``conflicting`` verdict (both tests reject: a trend, variance breaks or long memory), and as
  the fallback when the first transformation still has a unit root.

Only unit roots are transformed before screening (a unit-root feature can correlate with returns
by accident over a whole window: the spurious-regression trap); a ``conflicting`` verdict is only
a suggestion, because ADF already rejects the unit root and KPSS also rejects series whose
variance changes between regimes (returns themselves often do). A feature that keeps a unit root
after the fallback is suggested for dropping and not screened.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from research.explore.spec import StationaritySpec
from research.explore.statistical import single_threaded_blas, stationarity

__all__ = [
    "TRANSFORMS",
    "stationarity_table",
    "transform_features",
    "build_suggestions",
    "save_selection",
]

_NON_STATIONARY = ("unit_root", "conflicting")  # verdicts that get a suggested transformation
_APPLIED = ("unit_root",)  # verdicts transformed before screening
_SUFFIX = {"ratio_to_close": "rel", "per_close": "pc", "difference": "d1", "rolling_zscore": "z"}


def _ratio_to_close(x: pd.Series, close: pd.Series, window: int) -> pd.Series:
    return x / close - 1.0


def _per_close(x: pd.Series, close: pd.Series, window: int) -> pd.Series:
    return x / close


def _difference(x: pd.Series, close: pd.Series, window: int) -> pd.Series:
    return x.diff()


def _rolling_zscore(x: pd.Series, close: pd.Series, window: int) -> pd.Series:
    roll = x.rolling(window, min_periods=window)
    sd = roll.std()
    return (x - roll.mean()) / sd.where(sd > 0)


#: name -> ``f(x, close, zscore_window) -> Series`` (all causal)
TRANSFORMS = {
    "ratio_to_close": _ratio_to_close,
    "per_close": _per_close,
    "difference": _difference,
    "rolling_zscore": _rolling_zscore,
}


def _transformed_name(name: str, transform: str, window: int) -> str:
    suffix = _SUFFIX[transform] + (str(window) if transform == "rolling_zscore" else "")
    return f"{name}__{suffix}"


def _first_choice(x: np.ndarray, close: np.ndarray, verdict: str, scale_free: Any) -> str:
    ok = np.isfinite(x)
    if scale_free is not True and ok.any():
        rel = np.median(np.abs(x[ok] / close[ok] - 1.0))
        if rel < 0.5:
            return "ratio_to_close"
        if np.nanmin(x[ok]) >= 0:
            return "per_close"
    return "difference" if verdict == "unit_root" else "rolling_zscore"


def stationarity_table(
    features: pd.DataFrame,
    close: pd.Series,
    train_stop: int,
    spec: StationaritySpec,
    scale_free: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """ADF/KPSS verdict of every feature on the train window, with the suggested transformation.

    Returns:
        One row per feature: ``adf_pvalue``, ``kpss_pvalue``, ``verdict`` (see
        :class:`~research.explore.statistical.Stationarity`), ``transform`` (empty when
        stationary or inconclusive).
    """
    scale_free = scale_free or {}
    c = close.to_numpy(dtype=np.float64)[:train_stop]
    with single_threaded_blas():
        rows = [
            _feature_row(name, features[name].to_numpy()[:train_stop], c, spec, scale_free)
            for name in features.columns
        ]
    table = pd.DataFrame(
        rows, columns=["feature", "adf_pvalue", "kpss_pvalue", "verdict", "transform"]
    )
    return table.set_index("feature")


def _feature_row(
    name: str, x: np.ndarray, c: np.ndarray, spec: StationaritySpec, scale_free: Mapping[str, Any]
) -> tuple:
    if np.isfinite(x).sum() < 20:
        return (name, np.nan, np.nan, "undefined", "")
    res = stationarity(x, alpha=spec.alpha, max_obs=spec.max_obs)
    transform = (
        _first_choice(x, c, res.verdict, scale_free.get(name))
        if res.verdict in _NON_STATIONARY
        else ""
    )
    return (name, res.adf_pvalue, res.kpss_pvalue, res.verdict, transform)


def transform_features(
    features: pd.DataFrame,
    close: pd.Series,
    table: pd.DataFrame,
    train_stop: int,
    spec: StationaritySpec,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Replace each unit-root feature by its suggested stationary version.

    The transformed column is re-tested on the train window; if it still has a unit root the
    rolling z-score is tried; if that has too, the feature is left out (``drop`` in the table).

    Returns:
        ``(features_out, table_out)``: the feature table with transformed columns in place of
        the originals (same order), and ``table`` with ``new_name``, ``new_verdict`` and
        ``applied`` (``kept``, ``suggested`` (conflicting verdict, left as is), ``transformed`` or
        ``drop``).
    """
    out: dict[str, np.ndarray] = {}
    table = table.copy()
    table["new_name"] = ""
    table["new_verdict"] = ""
    table["applied"] = "kept"
    with single_threaded_blas():
        for name in features.columns:
            _transform_one(name, features[name], close, table, train_stop, spec, out)
    return pd.DataFrame(out, index=features.index, copy=False), table


def _transform_one(
    name: str,
    x: pd.Series,
    close: pd.Series,
    table: pd.DataFrame,
    train_stop: int,
    spec: StationaritySpec,
    out: dict[str, np.ndarray],
) -> None:
    """Put ``x`` (or its stationary version) into ``out`` and record what was done in ``table``."""
    transform = table.at[name, "transform"] if name in table.index else ""
    if not transform or table.at[name, "verdict"] not in _APPLIED:
        out[name] = x.to_numpy()
        if transform:
            table.at[name, "applied"] = "suggested"
        return
    tried = [transform] if transform == "rolling_zscore" else [transform, "rolling_zscore"]
    verdict = "undefined"
    for t in tried:
        y = TRANSFORMS[t](x, close, spec.zscore_window).to_numpy(dtype=np.float64)
        y = np.where(np.isfinite(y), y, np.nan)
        yt = y[:train_stop]
        verdict = (
            stationarity(yt, alpha=spec.alpha, max_obs=spec.max_obs).verdict
            if np.isfinite(yt).sum() >= 20
            else "undefined"
        )
        if verdict not in _APPLIED and verdict != "undefined":
            new = _transformed_name(name, t, spec.zscore_window)
            out[new] = y
            table.loc[name, ["transform", "new_name", "new_verdict", "applied"]] = [
                t,
                new,
                verdict,
                "transformed",
            ]
            return
    table.loc[name, ["new_verdict", "applied"]] = [verdict, "drop"]


def build_suggestions(
    stationarity: pd.DataFrame,
    scores: pd.DataFrame,
    dropped: Mapping[str, str],
    selected: list[str],
) -> dict[str, Any]:
    """JSON-ready suggestions: transformations, features to drop (with the reason), selection."""
    transforms = [
        {
            "feature": name,
            "verdict": row["verdict"],
            "transform": row["transform"],
            "new_name": row.get("new_name", ""),
            "new_verdict": row.get("new_verdict", ""),
            "applied": row.get("applied", ""),
        }
        for name, row in stationarity.iterrows()
        if row["transform"] or row.get("applied") == "drop"
    ]
    drop = [{"feature": f, "reason": r} for f, r in dropped.items()]
    if "applied" in stationarity.columns:
        drop += [
            {"feature": f, "reason": f"non-stationary after transformations ({row['new_verdict']})"}
            for f, row in stationarity.iterrows()
            if row["applied"] == "drop"
        ]
    drop += [
        {"feature": f, "reason": row["reason"]}
        for f, row in scores.iterrows()
        if not row["selected"] and row["reason"]
    ]
    return {"transform": transforms, "drop": drop, "selected": list(selected)}


def save_selection(
    features: pd.DataFrame, selected: list[str], out_dir: str | Path, meta: Mapping[str, Any]
) -> tuple[Path, Path]:
    """Write ``selected.parquet`` (the selected columns over all bars) and ``selected.json``.

    ``selected.json`` holds ``{"features": [...], **meta}`` (meta: train window, horizons, spec
    hash, data fingerprint, per-feature scores) so strategies can rebuild the same columns.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pq_path, js_path = out / "selected.parquet", out / "selected.json"
    features[list(selected)].to_parquet(pq_path)
    js_path.write_text(json.dumps({"features": list(selected), **meta}, indent=2, default=str))
    return pq_path, js_path
