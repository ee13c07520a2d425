"""``explore(bars)``: features, statistical tests, data audit, screening and suggestions in one call.

The train window is fixed first (``train_end`` argument, else ``spec.train.end``, else the first
``spec.train.fraction`` of the bars). Every decision (stationarity transforms, screening,
selection, clustering, PCA, the statistical tests reported) reads the train window only; the
audit describes all the data. Features are causal and computed over all bars, so the selected
columns can be used out of sample as they are.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_loaders.errors import ConfigError, DataTooShortError, DataValidationError, did_you_mean
from research._json import to_jsonable
from research.explore import statistical as st
from research.explore.audit import AuditReport, audit_bars
from research.explore.features import build_features, data_fingerprint
from research.explore.screening import ScreeningResult, screen_features
from research.explore.spec import ExploreSpec, load_spec, spec_to_dict
from research.explore.suggest import (
    build_suggestions,
    stationarity_table,
    transform_features,
)

__all__ = ["ExplorationResult", "explore", "train_window"]


@dataclass
class ExplorationResult:
    """Everything :func:`explore` found.

    Attributes:
        features: the screened feature table over all bars (non-stationary features replaced by
            their stationary versions when ``stationarity.apply_transforms``), float64.
        feature_info: one row per computed feature: group, family, source, params, first_valid,
            scale_free, ADF/KPSS p-values, verdict, transform, new_name, applied.
        screening: the :class:`~research.explore.screening.ScreeningResult` (``.table`` per
            feature x horizon, ``.scores`` per feature, clusters, PCA).
        selected: the selected feature names (columns of ``features``), best first (the
            screening's selection).
        audit: the :class:`~research.explore.audit.AuditReport`.
        findings: JSON-ready summary of everything (what ``findings.json`` holds).
        suggestions: transformations, features to drop with reasons, the selection.
        cointegration: Engle-Granger/Johansen result across the symbols of a bars dict (train
            window), else ``None``.
        spec: the resolved spec.
        symbol: the symbol explored.
        train_end: last timestamp of the train window; ``train_stop`` its length in bars.
    """

    features: pd.DataFrame
    feature_info: pd.DataFrame
    screening: ScreeningResult
    audit: AuditReport
    findings: dict[str, Any]
    suggestions: dict[str, Any]
    cointegration: st.CointegrationResult | None
    spec: ExploreSpec
    symbol: str | None
    train_end: pd.Timestamp
    train_stop: int

    @property
    def selected(self) -> list[str]:
        return list(self.screening.selected)


class _Clock:
    """Wall-clock seconds per stage (reported in the findings)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 3)
        self._last = now


# --------------------------------------------------------------------------- inputs


def _check_bars(bars: Any, name: str) -> pd.DataFrame:
    """The bars contract, values included (positive prices, high/low bracket open/close, strictly
    increasing UTC index): a malformed frame raises instead of producing silent nonsense.
    About 40 ms on a million bars."""
    from data_loaders import check_bars, validate_bars

    check_bars(bars, name)
    attrs = dict(bars.attrs)
    out = validate_bars(bars, str(attrs.get("source") or name), symbol=attrs.get("symbol"))
    out.attrs = {**out.attrs, **attrs}
    return out


def _split_bars(
    bars: pd.DataFrame | Mapping[str, pd.DataFrame], symbol: str | None, spec: ExploreSpec
) -> tuple[str | None, pd.DataFrame, pd.DataFrame | None, dict[str, pd.DataFrame]]:
    """(symbol, primary bars, reference bars or None, universe dict)."""
    if isinstance(bars, pd.DataFrame):
        if symbol is not None:
            raise ConfigError("explore: `symbol` applies to a dict of bars; got one DataFrame")
        return bars.attrs.get("symbol"), _check_bars(bars, "bars"), None, {}
    if not isinstance(bars, Mapping) or not bars:
        raise DataValidationError(
            f"explore: `bars` must be a DataFrame or a non-empty dict, got {type(bars).__name__}"
        )
    names = [str(k) for k in bars]
    universe = {str(k): _check_bars(v, f"bars[{k!r}]") for k, v in bars.items()}
    symbol = names[0] if symbol is None else symbol
    if symbol not in universe:
        raise ConfigError(f"explore: unknown `symbol` {symbol!r}{did_you_mean(symbol, names)}")
    ref_name = spec.features.reference.symbol
    if ref_name is None:
        others = [k for k in names if k != symbol]
        ref_name = others[0] if others else None
    elif ref_name not in universe:
        raise ConfigError(
            f"exploration spec: `features.reference.symbol` {ref_name!r} is not in the data"
            f"{did_you_mean(ref_name, names)}"
        )
    reference = universe[ref_name] if ref_name is not None and ref_name != symbol else None
    return symbol, universe[symbol], reference, universe


def train_window(
    index: pd.DatetimeIndex, train_end: Any, spec: ExploreSpec
) -> tuple[int, pd.Timestamp]:
    """``(train_stop, train_end)``: the number of train bars and the last train timestamp.

    ``train_end`` (a date/timestamp; naive ones are UTC) wins over ``spec.train.end``, which wins
    over ``spec.train.fraction``. Bars at or before ``train_end`` are in the window.
    """
    n = len(index)
    end = train_end if train_end is not None else spec.train.end
    if end is None:
        stop = max(1, int(round(n * spec.train.fraction)))
        return stop, index[stop - 1]
    try:
        ts = pd.Timestamp(end)
    except (ValueError, TypeError):
        raise ConfigError(
            f"explore: `train_end` must be a date or timestamp, got {end!r}"
        ) from None
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    ns = index.as_unit("ns")  # bars may come in any unit (pandas 3 defaults to microseconds)
    if len(str(end)) <= 10 and ts == ts.normalize():  # a bare date: the whole day is in
        stop = int(ns.searchsorted(ts.as_unit("ns") + pd.Timedelta(days=1), side="left"))
    else:
        stop = int(ns.searchsorted(ts.as_unit("ns"), side="right"))
    if stop == 0:
        raise ConfigError(
            f"explore: `train_end` {end!r} is before the first bar ({index[0].isoformat()})"
        )
    return stop, index[stop - 1]


# --------------------------------------------------------------------------- statistical tests


def _tests(bars: pd.DataFrame, train_stop: int, spec: ExploreSpec) -> dict[str, Any]:
    close = bars["close"].iloc[:train_stop]
    lc = np.log(close.to_numpy(dtype=np.float64))
    r = np.diff(lc)
    t = spec.tests
    out: dict[str, Any] = {"window": "train", "returns": st.describe_returns(r)}
    nl = min(t.acf_lags, max(1, r.size // 5))
    out["acf_returns"] = st.autocorrelation(r, nl)[1:].tolist()
    lags = [q for q in t.ljung_box_lags if q < r.size // 2] or [1]
    lb = st.ljung_box(r, lags)
    lb2 = st.ljung_box(r * r, lags)
    out["ljung_box"] = {
        "returns": {int(q): float(p) for q, p in lb["lb_pvalue"].items()},
        "squared_returns": {int(q): float(p) for q, p in lb2["lb_pvalue"].items()},
    }
    a = spec.stationarity
    out["stationarity"] = {
        name: vars(st.stationarity(x, alpha=a.alpha, max_obs=a.max_obs))
        for name, x in (("log_close", lc), ("returns", r))
    }
    out["hurst_log_close"] = st.hurst_exponent(lc, t.hurst_max_lag)
    vq = [q for q in t.variance_ratio_lags if 2 * q < r.size]
    if vq:
        vr = st.variance_ratio(lc, vq)
        out["variance_ratio"] = {
            int(q): {k: float(v) for k, v in row.items()} for q, row in vr.iterrows()
        }
    out["half_life_log_close"] = st.half_life(lc)
    if spec.features.statistical.regime is not None:
        reg = spec.features.statistical.regime
        labels = st.volatility_regime(
            pd.Series(np.r_[np.nan, r]), reg.window, reg.lookback
        ).dropna()
        share = labels.value_counts(normalize=True)
        out["volatility_regime_share"] = {
            name: float(share.get(v, 0.0))
            for v, name in ((0.0, "low"), (1.0, "normal"), (2.0, "high"))
        }
    return out


# --------------------------------------------------------------------------- entry point


def explore(
    bars: pd.DataFrame | Mapping[str, pd.DataFrame],
    spec: ExploreSpec | Mapping[str, Any] | str | Path | None = None,
    train_end: Any = None,
    *,
    symbol: str | None = None,
    cache_dir: str | Path | None = None,
    extra_features: pd.DataFrame | None = None,
    progress: Callable[[str], None] | None = None,
) -> ExplorationResult:
    """Explore one symbol's bars: features, tests, audit, screening, suggestions.

    Args:
        bars: bars of one symbol, or ``{symbol: bars}``; with a dict, ``symbol`` (default the
            first) is explored, the reference features use ``spec.features.reference.symbol``
            (default the next symbol) and cointegration is tested across all symbols.
        spec: an :class:`ExploreSpec`, a mapping or YAML path merged onto the default, or None.
        train_end: last timestamp screening may read (overrides the spec).
        symbol: which symbol of a dict to explore.
        cache_dir: folder of the feature cache (Parquet); ``None`` disables caching.
        extra_features: more feature columns (indexed like the bars, causal) screened alongside.
        progress: called with a one-line message as each stage starts and ends (the CLI prints
            them on stderr); ``None`` is silent.

    Returns:
        An :class:`ExplorationResult`.

    Raises:
        ConfigError: invalid spec or arguments. DataValidationError: malformed bars.
        DataTooShortError: too few bars for the train window, warm-ups and horizons.
    """
    clock = _Clock()
    say = progress or (lambda message: None)
    spec = load_spec(spec)
    symbol, primary, reference, universe = _split_bars(bars, symbol, spec)
    n = len(primary)
    if n < 50:
        raise DataTooShortError(f"explore: need at least 50 bars, got {n}")
    train_stop, train_end_ts = train_window(primary.index, train_end, spec)
    close = primary["close"].astype(np.float64)
    say(
        f"{n:,} bars of {symbol or 'the data'}; train window: {train_stop:,} bars to {train_end_ts.isoformat()}"
    )

    fs, data, info = _feature_table(primary, reference, spec, cache_dir, extra_features, say, clock)
    data, info, stat = _stationarity(data, info, close, train_stop, spec, say, clock)
    screening = _screening(data, close, train_stop, spec, say, clock)
    say("audit and statistical tests")
    audit = audit_bars(primary, spec.audit, horizons=spec.horizons, train_stop=train_stop)
    clock.lap("audit")
    tests, coint = _tests_and_cointegration(
        primary, universe, symbol, train_stop, train_end_ts, spec
    )
    clock.lap("tests")
    suggestions = build_suggestions(stat, screening.scores, screening.dropped, screening.selected)

    findings = _findings(
        symbol, primary, train_stop, train_end_ts, fs, extra_features, info, stat, screening,
        audit, tests, coint, suggestions, spec, clock.laps,
    )  # fmt: skip
    return ExplorationResult(
        features=data,
        feature_info=info,
        screening=screening,
        audit=audit,
        findings=findings,
        suggestions=suggestions,
        cointegration=coint,
        spec=spec,
        symbol=symbol,
        train_end=train_end_ts,
        train_stop=train_stop,
    )


def _feature_table(
    primary: pd.DataFrame,
    reference: Any,
    spec: ExploreSpec,
    cache_dir: Any,
    extra_features: Any,
    say: Callable[[str], None],
    clock: _Clock,
) -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    """The feature set, its table (with ``extra_features`` added) and the table's info."""
    say("features: computing the feature table")
    fs = build_features(primary, spec.features, reference=reference, cache_dir=cache_dir)
    data, info = fs.data, fs.info.copy()
    clock.lap("features")
    say(
        f"features: {fs.data.shape[1]} columns in {clock.laps['features']:.1f} s"
        + (" (from the cache)" if fs.from_cache else "")
    )
    if extra_features is not None:
        data, info = _with_extra_features(data, info, extra_features, primary.index)
    return fs, data, info


def _stationarity(
    data: pd.DataFrame,
    info: pd.DataFrame,
    close: pd.Series,
    train_stop: int,
    spec: ExploreSpec,
    say: Callable[[str], None],
    clock: _Clock,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """ADF/KPSS of every feature on the train window (non-stationary ones transformed when
    ``apply_transforms``): ``(table, info joined with the tests, tests)``."""
    say(f"stationarity: ADF/KPSS on {data.shape[1]} features (train window)")
    stat = stationarity_table(
        data, close, train_stop, spec.stationarity, info["scale_free"].to_dict()
    )
    if spec.stationarity.apply_transforms:
        data, stat = transform_features(data, close, stat, train_stop, spec.stationarity)
    info = info.join(stat, how="left")
    clock.lap("stationarity")
    say(f"stationarity: done in {clock.laps['stationarity']:.1f} s")
    return data, info, stat


def _screening(
    data: pd.DataFrame,
    close: pd.Series,
    train_stop: int,
    spec: ExploreSpec,
    say: Callable[[str], None],
    clock: _Clock,
) -> ScreeningResult:
    """:func:`research.explore.screening.screen_features` with the spec's settings."""
    say(f"screening: {data.shape[1]} features x {len(spec.horizons)} horizons")
    screening = screen_features(
        data,
        close,
        horizons=spec.horizons,
        train_stop=train_stop,
        spec=spec.screening,
        seed=spec.seed,
        n_jobs=spec.n_jobs,
    )
    clock.lap("screening")
    say(
        f"screening: {len(screening.survivors)} survive BH at fdr={spec.screening.fdr}, "
        f"{len(screening.selected)} selected, in {clock.laps['screening']:.1f} s"
    )
    return screening


def _with_extra_features(
    data: pd.DataFrame, info: pd.DataFrame, extra_features: Any, index: pd.Index
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The feature table and its info with the user's ``extra_features`` columns added."""
    if not isinstance(extra_features, pd.DataFrame) or not extra_features.index.equals(index):
        raise DataValidationError(
            "explore: `extra_features` must be a DataFrame indexed exactly like the bars"
        )
    clash = [c for c in extra_features.columns if c in data.columns]
    if clash:
        raise DataValidationError(
            f"explore: `extra_features` column {clash[0]!r} clashes with a computed feature"
        )
    data = pd.concat([data, extra_features.astype(np.float64)], axis=1)
    for c in extra_features.columns:
        finite = np.flatnonzero(np.isfinite(extra_features[c].to_numpy(dtype=np.float64)))
        info.loc[c] = [
            "extra",
            "extra",
            "user",
            "{}",
            int(finite[0]) if finite.size else -1,
            None,
        ]
    return data, info


def _tests_and_cointegration(
    primary: pd.DataFrame,
    universe: Mapping[str, pd.DataFrame],
    symbol: str | None,
    train_stop: int,
    train_end_ts: pd.Timestamp,
    spec: ExploreSpec,
) -> tuple[dict[str, Any], Any]:
    """The statistical tests on the train window, and cointegration across the symbols."""
    coint = None
    with st.single_threaded_blas():
        tests = _tests(primary, train_stop, spec)
        if len(universe) >= 2:
            # the explored symbol first: it is the dependent leg, hedge ratios are relative to it
            order = [symbol, *(k for k in universe if k != symbol)]
            train_universe = {k: universe[k].loc[:train_end_ts] for k in order}
            try:
                coint = st.cointegration(train_universe)
            except DataTooShortError:
                coint = None
    return tests, coint


def _findings(
    symbol: str | None,
    primary: pd.DataFrame,
    train_stop: int,
    train_end_ts: pd.Timestamp,
    fs: Any,
    extra_features: pd.DataFrame | None,
    info: pd.DataFrame,
    stat: pd.DataFrame,
    screening: ScreeningResult,
    audit: AuditReport,
    tests: dict[str, Any],
    coint: Any,
    suggestions: dict[str, Any],
    spec: ExploreSpec,
    timings: dict[str, float],
) -> dict[str, Any]:
    """What ``findings.json`` holds (JSON-ready)."""
    n = len(primary)
    sc = screening.scores
    top = [
        {
            "feature": f,
            "score": float(sc.at[f, "score"]),
            "best_horizon": int(sc.at[f, "best_horizon"]),
            "rank_ic": float(sc.at[f, "rank_ic"]),
            "ic_ir": float(sc.at[f, "ic_ir"]),
            "significant": bool(sc.at[f, "significant"]),
            "selected": bool(sc.at[f, "selected"]),
        }
        for f in sc.index[:25]
    ]
    return to_jsonable(
        {
            "data": {
                "symbol": symbol,
                "source": primary.attrs.get("source"),
                "n_bars": n,
                "start": primary.index[0].isoformat(),
                "end": primary.index[-1].isoformat(),
                "frequency": str(audit.frequency),
                "fingerprint": data_fingerprint(primary),
            },
            "train": {
                "end": train_end_ts.isoformat(),
                "n_bars": train_stop,
                "share": train_stop / n,
            },
            "features": {
                "n_computed": int(fs.data.shape[1])
                + (0 if extra_features is None else extra_features.shape[1]),
                "n_screened": int(len(sc)),
                "by_group": {str(k): int(v) for k, v in info["group"].value_counts().items()},
                "skipped": fs.skipped,
                "from_cache": fs.from_cache,
                "stationarity_verdicts": {
                    str(k): int(v) for k, v in stat["verdict"].value_counts().items()
                },
            },
            "tests": tests,
            "cointegration": coint.to_dict() if coint is not None else None,
            "audit": audit.to_dict(),
            "screening": {
                **screening.sample,
                "n_survivors": len(screening.survivors),
                "n_selected": len(screening.selected),
                "pca": screening.pca,
                "top": top,
            },
            "suggestions": suggestions,
            "spec": spec_to_dict(spec),
            "timings_seconds": timings,
        }
    )
