"""The feature table: catalog indicators over window grids plus price and statistical features.

Every column is causal (its value at bar ``t`` reads bars ``0..t`` only) and ``NaN`` before it is
defined. Groups and their column names (``w`` = window in bars):

* ``technical``: every indicator of the selected catalog families (``strategies.indicators``) at up
  to ``max_per_indicator`` points of its parameter grid; columns are named by the catalog
  (``rsi_14``, ``macd_signal_26_12_9``). Indicators whose ``ta`` code loops in Python are
  computed by the equal numba stand-ins of :mod:`research.explore._accel`.
* ``returns``: ``ret_w = log(close_t / close_{t-w})``.
* ``ranges``: ``range_hl = log(high/low)``, ``body = log(close/open)``, ``clv`` (close location in
  the bar's range, in [-1, 1]), ``true_range = log(max(high, prev close) / min(low, prev close))``.
* ``gaps``: ``gap = log(open_t / close_{t-1})``.
* ``volume_z``: ``volume_z_w``: z-score of ``log(1 + volume)`` against its trailing ``w`` bars.
* ``statistical``: ``close_z_w`` (rolling z-score of the close), ``ret_skew_w`` and
  ``ret_kurt_w`` (rolling skew and **excess** kurtosis of 1-bar log returns), ``ret_autocorr_w``
  (rolling lag-1 autocorrelation), ``ret_vol_w`` (rolling sample std of returns), ``vol_regime``
  (0/1/2 causal volatility regime).
* ``reference``: ``ref_beta_w`` / ``ref_corr_w``: rolling beta and correlation of returns to a
  second symbol's returns (timestamps aligned; a missing reference bar gives ``NaN``).

The table is computed once per dataset and spec and cached as Parquet, keyed by the data
fingerprint, the ``features`` section of the spec and the catalog's grid.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_loaders import data_fingerprint
from data_loaders.errors import ConfigError, DataTooShortError, ParameterError, did_you_mean
from data_loaders.lru import CacheArea, cache_cap, evict, touch
from research.explore import statistical as st
from research.explore.spec import FeaturesSpec, spec_hash

__all__ = ["FeatureSet", "build_features", "technical_plan", "data_fingerprint", "FEATURES_VERSION"]

#: bump when the meaning of a feature column changes (invalidates caches)
FEATURES_VERSION = "1"
INFO_COLUMNS = ["group", "family", "source", "params", "first_valid", "scale_free"]


@dataclass
class FeatureSet:
    """A feature table and what each column is.

    Attributes:
        data: ``(n_bars, n_features)`` float64, indexed like the bars.
        info: one row per column of ``data``: ``group`` (technical, returns, ranges, gaps,
            volume_z, statistical, reference), ``family`` (catalog family or the group),
            ``source`` (indicator or function), ``params`` (JSON), ``first_valid`` (0-based index
            of the first finite value, ``-1`` if none), ``scale_free`` (independent of the price
            level; ``None`` when unknown).
        skipped: grid points that could not be computed, with the reason.
        from_cache: whether the table was read from the cache.
    """

    data: pd.DataFrame
    info: pd.DataFrame
    skipped: list[dict[str, Any]] = field(default_factory=list)
    from_cache: bool = False


# --------------------------------------------------------------------------- technical plan


def _thin(points: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    if len(points) <= k:
        return points
    picks = np.unique(np.round(np.linspace(0, len(points) - 1, k)).astype(int))
    return [points[i] for i in picks]


def technical_plan(spec: FeaturesSpec) -> list[tuple[Any, dict[str, Any]]]:
    """The ``(indicator, params)`` pairs the spec asks for, in catalog order.

    The grid of an indicator is the product of its ``params`` lists without the points that break
    its constraints, thinned evenly to ``max_per_indicator`` points.

    Raises:
        ConfigError: an ``include``/``exclude`` name that is not in the catalog.
    """
    tech = spec.technical
    if not tech.enabled:
        return []
    from strategies.indicators import catalog

    entries = catalog()
    for key in ("include", "exclude"):
        for name in getattr(tech, key):
            if name not in entries:
                raise ConfigError(
                    f"exploration spec: `features.technical.{key}` names unknown indicator "
                    f"{name!r}{did_you_mean(name, entries)}"
                )
    plan = []
    for name, ind in entries.items():
        if tech.include and name not in tech.include:
            continue
        if name in tech.exclude or ind.family not in tech.families and not tech.include:
            continue
        names = list(ind.params)
        points = []
        for combo in itertools.product(*(ind.params[p] for p in names)):
            params = dict(zip(names, combo))
            try:
                ind.warmup(**params)  # validates parameters and constraints
            except ParameterError:
                continue
            points.append(params)
        plan += [(ind, p) for p in _thin(points, tech.max_per_indicator)]
    return plan


# --------------------------------------------------------------------------- computing


def _label(output: str, params: dict[str, Any]) -> str:
    return "_".join([output, *(str(v) for v in params.values())])


class _Table:
    """Collects columns (float64 arrays) with their info rows."""

    def __init__(self, index: pd.DatetimeIndex) -> None:
        self.index = index
        self.columns: dict[str, np.ndarray] = {}
        self.info: dict[str, dict[str, Any]] = {}

    def add(
        self,
        name: str,
        values: Any,
        group: str,
        family: str,
        source: str,
        params: dict,
        scale_free: bool | None,
    ) -> None:
        arr = np.asarray(values, dtype=np.float64)
        arr = np.where(np.isfinite(arr), arr, np.nan)
        base, k = name, 2
        while name in self.columns:  # never silently overwrite a column
            name, k = f"{base}_{k}", k + 1
        finite = np.flatnonzero(np.isfinite(arr))
        self.columns[name] = arr
        self.info[name] = {
            "group": group,
            "family": family,
            "source": source,
            "params": json.dumps(params, sort_keys=True),
            "first_valid": int(finite[0]) if finite.size else -1,
            "scale_free": scale_free,
        }


def _technical(bars: pd.DataFrame, spec: FeaturesSpec, table: _Table, skipped: list) -> None:
    from research.explore._accel import compute_fast

    for ind, params in technical_plan(spec):
        try:
            result = compute_fast(ind, bars, params)  # numba stand-in where ta loops in Python
            if result is None:
                result = ind.compute(bars, **params)
        except (ParameterError, DataTooShortError, ValueError) as exc:
            skipped.append({"indicator": ind.name, "params": params, "reason": str(exc)})
            continue
        frame = result.to_frame() if isinstance(result, pd.Series) else result
        for output in frame.columns:
            table.add(
                _label(str(output), params),
                frame[output].to_numpy(),
                "technical",
                ind.family,
                ind.name,
                params,
                getattr(ind, "scale_free", None),
            )


def _price_features(bars: pd.DataFrame, spec: FeaturesSpec, table: _Table) -> pd.Series:
    o, h, low, c = (bars[k].to_numpy(dtype=np.float64) for k in ("open", "high", "low", "close"))
    lc = np.log(c)
    prev = np.concatenate([[np.nan], c[:-1]])
    for w in spec.returns.windows:
        r = np.full(lc.shape[0], np.nan)
        r[w:] = lc[w:] - lc[:-w]
        table.add(f"ret_{w}", r, "returns", "returns", "log_return", {"window": w}, True)
    if spec.ranges:
        rng = h - low
        table.add("range_hl", np.log(h / low), "ranges", "ranges", "log_range", {}, True)
        table.add("body", np.log(c / o), "ranges", "ranges", "log_body", {}, True)
        with np.errstate(invalid="ignore", divide="ignore"):
            clv = np.where(rng > 0, ((c - low) - (h - c)) / rng, 0.0)
        table.add("clv", clv, "ranges", "ranges", "close_location", {}, True)
        with np.errstate(invalid="ignore"):
            tr = np.log(np.fmax(h, prev) / np.fmin(low, prev))
        tr[0] = np.nan
        table.add("true_range", tr, "ranges", "ranges", "log_true_range", {}, True)
    if spec.gaps:
        table.add("gap", np.log(o / prev), "gaps", "gaps", "log_gap", {}, True)
    if spec.volume_z.windows:
        lv = pd.Series(
            np.log1p(np.clip(bars["volume"].to_numpy(dtype=np.float64), 0, None)), index=bars.index
        )
        for w in spec.volume_z.windows:
            table.add(
                f"volume_z_{w}",
                st.rolling_zscore(lv, w).to_numpy(),
                "volume_z",
                "volume_z",
                "rolling_zscore",
                {"window": w},
                True,
            )
    ret = np.full(lc.shape[0], np.nan)
    ret[1:] = np.diff(lc)
    return pd.Series(ret, index=bars.index)


def _rolling_std(x: pd.Series, window: int) -> pd.Series:
    return x.rolling(window, min_periods=window).std()


def _statistical(bars: pd.DataFrame, ret: pd.Series, spec: FeaturesSpec, table: _Table) -> None:
    s = spec.statistical
    close = bars["close"].astype(np.float64)
    add = table.add
    # (windows, [(column prefix, input, rolling function, indicator name), ...]) in column order
    rolling = (
        (s.zscore_windows, [("close_z", close, st.rolling_zscore, "rolling_zscore")]),
        (
            s.moment_windows,
            [
                ("ret_skew", ret, st.rolling_skew, "rolling_skew"),
                ("ret_kurt", ret, st.rolling_kurtosis, "rolling_excess_kurtosis"),
            ],
        ),
        (s.autocorr_windows, [("ret_autocorr", ret, st.rolling_autocorr, "rolling_autocorr")]),
        (s.volatility_windows, [("ret_vol", ret, _rolling_std, "rolling_std")]),
    )
    for windows, stats in rolling:
        for w in windows:
            for prefix, x, fn, name in stats:
                values = fn(x, w).to_numpy()
                add(
                    f"{prefix}_{w}", values, "statistical", "statistical", name, {"window": w}, True
                )
    if s.regime is not None:
        label = st.volatility_regime(ret, s.regime.window, s.regime.lookback)
        add(
            "vol_regime",
            label.to_numpy(),
            "statistical",
            "statistical",
            "volatility_regime",
            {"window": s.regime.window, "lookback": s.regime.lookback},
            True,
        )


def _reference(ret: pd.Series, reference: pd.DataFrame, spec: FeaturesSpec, table: _Table) -> None:
    ref_close = reference["close"].astype(np.float64).reindex(ret.index)
    ref_ret = np.log(ref_close).diff()
    for w in spec.reference.windows:
        bc = st.rolling_beta_corr(ret, ref_ret, w)
        table.add(
            f"ref_beta_{w}",
            bc["beta"].to_numpy(),
            "reference",
            "reference",
            "rolling_beta",
            {"window": w},
            True,
        )
        table.add(
            f"ref_corr_{w}",
            bc["corr"].to_numpy(),
            "reference",
            "reference",
            "rolling_corr",
            {"window": w},
            True,
        )


def _compute(bars: pd.DataFrame, spec: FeaturesSpec, reference: pd.DataFrame | None) -> FeatureSet:
    table = _Table(bars.index)
    skipped: list[dict[str, Any]] = []
    _technical(bars, spec, table, skipped)
    ret = _price_features(bars, spec, table)
    _statistical(bars, ret, spec, table)
    if reference is not None:
        _reference(ret, reference, spec, table)
    data = pd.DataFrame(table.columns, index=bars.index, copy=False)
    info = pd.DataFrame.from_dict(table.info, orient="index", columns=INFO_COLUMNS)
    info.index.name = "feature"
    return FeatureSet(data, info, skipped)


# --------------------------------------------------------------------------- cache


def _cache_key(bars: pd.DataFrame, spec: FeaturesSpec, reference: pd.DataFrame | None) -> str:
    plan = [
        (ind.name, params, getattr(ind, "outputs", None)) for ind, params in technical_plan(spec)
    ]
    parts = [
        FEATURES_VERSION,
        data_fingerprint(bars),
        spec_hash(spec),
        json.dumps(plan, sort_keys=True, default=str),
        data_fingerprint(reference) if reference is not None else "-",
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def _read_cache(path: Path) -> FeatureSet | None:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, ValueError):
        return None
    meta = json.loads(table.schema.metadata[b"explore_features"])
    data = table.to_pandas()
    info = pd.DataFrame(meta["info"]).set_index("feature")[INFO_COLUMNS]
    info["scale_free"] = info["scale_free"].astype(object)
    return FeatureSet(data, info, meta["skipped"], from_cache=True)


def _write_cache(path: Path, fs: FeatureSet) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(fs.data, preserve_index=True)
    meta = {
        "info": fs.info.reset_index().to_dict(orient="records"),
        "skipped": json.loads(json.dumps(fs.skipped, default=str)),
    }
    merged = dict(table.schema.metadata or {})
    merged[b"explore_features"] = json.dumps(meta, default=str).encode()
    tmp = path.with_suffix(".tmp")
    pq.write_table(table.replace_schema_metadata(merged), tmp)
    tmp.replace(path)  # atomic: a killed run never leaves a half-written cache entry


def build_features(
    bars: pd.DataFrame,
    spec: FeaturesSpec,
    *,
    reference: pd.DataFrame | None = None,
    cache_dir: str | Path | None = None,
) -> FeatureSet:
    """Compute (or read from the cache) the feature table of one symbol's bars.

    Args:
        bars: one symbol's bars (see the bars contract).
        spec: the ``features`` section of the exploration spec.
        reference: a second symbol's bars for the ``reference`` features (optional).
        cache_dir: folder of the Parquet cache; ``None`` computes without caching. After a
            write the least recently used entries are deleted until the folder's entries
            hold at most ``$QR_CACHE_MAX_EXPLORE`` (default 4 GB; :mod:`data_loaders.lru`).

    Returns:
        A :class:`FeatureSet`; ``data`` has one float64 column per feature.
    """
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / f"features-{_cache_key(bars, spec, reference)}.parquet"
        if path.exists():
            cached = _read_cache(path)
            if cached is not None:
                touch(path)  # last use, for the size cap's least-recently-used eviction
                return cached
    fs = _compute(bars, spec, reference)
    if path is not None:
        _write_cache(path, fs)
        area = CacheArea("explore", (path.parent,), ("features-*.parquet",))
        evict(area, cache_cap("explore"), keep=[path])
    return fs
