"""The exploration spec: what to compute, which horizons, which train window, which limits.

A spec is YAML. ``default_spec.yaml`` (next to this module) is the single source of the defaults;
a user spec lists only what it changes and is merged onto it key by key (mappings merge, lists
and scalars replace). Every key is checked: an unknown key raises
:class:`~data_loaders.errors.ConfigError` naming its dotted path with a "did you mean"; a value of
the wrong type or out of range names the key, the rule and the value.

>>> spec = load_spec({"horizons": [1, 10], "screening": {"fdr": 0.1}})
>>> spec.horizons, spec.screening.fdr
((1, 10), 0.1)
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from data_loaders.errors import ConfigError, did_you_mean
from research._yaml import load_yaml

__all__ = [
    "ExploreSpec",
    "TechnicalSpec",
    "WindowsSpec",
    "MutualInfoSpec",
    "LightGBMSpec",
    "FeaturesSpec",
    "StatisticalSpec",
    "RegimeSpec",
    "ReferenceSpec",
    "TrainSpec",
    "StationaritySpec",
    "ScreeningSpec",
    "TestsSpec",
    "AuditSpec",
    "FAMILIES",
    "DEFAULT_SPEC_PATH",
    "load_spec",
    "default_spec",
    "spec_hash",
    "spec_to_dict",
]

#: families of the indicator catalog (see strategies/indicators)
FAMILIES = ("momentum", "trend", "volatility", "volume", "others", "price")
DEFAULT_SPEC_PATH = Path(__file__).with_name("default_spec.yaml")
_CALENDARS = ("auto", "business", "continuous", "session")


def _fail(path: str, rule: str, value: Any) -> ConfigError:
    return ConfigError(f"exploration spec: `{path}` {rule}, got {value!r}")


def _positive_ints(path: str, values: tuple[int, ...], *, allow_empty: bool = True) -> None:
    if not values and not allow_empty:
        raise _fail(path, "must list at least one value", list(values))
    for v in values:
        if v < 1:
            raise _fail(path, "must hold integers >= 1", list(values))
    if len(set(values)) != len(values):
        raise _fail(path, "must not repeat values", list(values))


def _all_at_least(path: str, values: tuple[int, ...], low: int, what: str) -> None:
    if any(v < low for v in values):
        raise _fail(path, f"must hold {what} >= {low}", list(values))


def _in_range(path: str, value: float, lo: float, hi: float, *, lo_open: bool = False) -> None:
    bad = value <= lo if lo_open else value < lo
    if bad or value > hi or not math.isfinite(value):
        bracket = "(" if lo_open else "["
        raise _fail(path, f"must be in {bracket}{lo}, {hi}]", value)


# A field's rule sits on the field (dataclass metadata); :meth:`_Section.check` applies them in
# the order of the fields, and a section with a rule across fields adds it in its own ``check``.


def _min(low: int) -> Any:
    """A number that must be ``>= low``."""
    return field(metadata={"min": low})


def _within(lo: float, hi: float, *, lo_open: bool = False) -> Any:
    """A finite number in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``)."""
    return field(metadata={"range": (lo, hi, lo_open)})


def _ints(low: int = 1, what: str = "windows", *, allow_empty: bool = True) -> Any:
    """Distinct positive integers, each ``>= low`` (``what`` names them in the message)."""
    return field(metadata={"ints": (low, what, allow_empty)})


class _Section:
    """A section of the spec whose fields carry their rules (:func:`_min`, :func:`_within`,
    :func:`_ints`)."""

    def check(self, path: str) -> None:
        """Refuse the first field (in declaration order) that breaks its rule."""
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            where = f"{path}.{f.name}" if path else f.name
            value = getattr(self, f.name)
            if "min" in f.metadata and value < f.metadata["min"]:
                raise _fail(where, f"must be >= {f.metadata['min']}", value)
            if "range" in f.metadata:
                lo, hi, lo_open = f.metadata["range"]
                _in_range(where, value, lo, hi, lo_open=lo_open)
            if "ints" in f.metadata:
                low, what, allow_empty = f.metadata["ints"]
                _positive_ints(where, value, allow_empty=allow_empty)
                _all_at_least(where, value, low, what)


@dataclass(frozen=True)
class TechnicalSpec(_Section):
    """Indicators of the catalog: which families, which names, how many grid points each."""

    enabled: bool
    families: tuple[str, ...]
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    max_per_indicator: int = _min(1)

    def check(self, path: str) -> None:
        for fam in self.families:
            if fam not in FAMILIES:
                raise ConfigError(
                    f"exploration spec: `{path}.families` has unknown family {fam!r}"
                    f"{did_you_mean(fam, FAMILIES)}"
                )
        super().check(path)


@dataclass(frozen=True)
class WindowsSpec(_Section):
    windows: tuple[int, ...] = _ints()


@dataclass(frozen=True)
class RegimeSpec(_Section):
    """Volatility-regime label: realised vol over ``window`` ranked in its trailing ``lookback``."""

    window: int = _min(2)
    lookback: int = _min(10)


@dataclass(frozen=True)
class StatisticalSpec(_Section):
    zscore_windows: tuple[int, ...] = _ints(3)
    moment_windows: tuple[int, ...] = _ints(3)
    autocorr_windows: tuple[int, ...] = _ints(3)
    volatility_windows: tuple[int, ...] = _ints(3)
    regime: RegimeSpec | None


@dataclass(frozen=True)
class ReferenceSpec(_Section):
    """Rolling beta and correlation of returns to a second symbol of a bars dict."""

    symbol: str | None
    windows: tuple[int, ...] = _ints(3)


@dataclass(frozen=True)
class FeaturesSpec:
    """The ``features:`` section of an exploration spec (one feature of the indicator catalog
    is a :data:`strategies.indicators.FeatureSpec`)."""

    technical: TechnicalSpec
    returns: WindowsSpec
    ranges: bool
    gaps: bool
    volume_z: WindowsSpec
    statistical: StatisticalSpec
    reference: ReferenceSpec

    def check(self, path: str) -> None:
        _all_at_least(f"{path}.volume_z.windows", self.volume_z.windows, 2, "windows")


@dataclass(frozen=True)
class TrainSpec(_Section):
    """The training window screening may look at: up to ``end``, else the first ``fraction``."""

    end: str | None
    fraction: float = _within(0.0, 1.0, lo_open=True)

    def check(self, path: str) -> None:
        super().check(path)
        if self.end is not None:
            try:
                pd.Timestamp(self.end)
            except (ValueError, TypeError):
                raise _fail(f"{path}.end", "must be a date or timestamp", self.end) from None


@dataclass(frozen=True)
class StationaritySpec(_Section):
    alpha: float = _within(0.0, 0.5, lo_open=True)
    max_obs: int = _min(50)
    apply_transforms: bool
    zscore_window: int = _min(3)


@dataclass(frozen=True)
class MutualInfoSpec(_Section):
    enabled: bool
    rows: int = _min(50)
    neighbors: int = _min(1)


@dataclass(frozen=True)
class LightGBMSpec(_Section):
    enabled: bool
    rows: int = _min(100)
    n_estimators: int = _min(1)
    num_leaves: int = _min(2)
    learning_rate: float = _within(0.0, 1.0, lo_open=True)
    n_jobs: int = _min(1)


@dataclass(frozen=True)
class ScreeningSpec(_Section):
    fdr: float = _within(0.0, 1.0, lo_open=True)
    min_batch: int = _min(2)
    n_periods: int = _min(2)
    max_rows: int = _min(1000)
    max_nan_share: float = _within(0.0, 1.0)
    cluster_threshold: float = _within(0.0, 1.0, lo_open=True)
    max_selected: int = _min(1)
    mutual_info: MutualInfoSpec
    lightgbm: LightGBMSpec


@dataclass(frozen=True)
class TestsSpec(_Section):
    """Statistical tests reported as findings (on the train window)."""

    __test__ = False  # not a pytest class

    acf_lags: int = _min(1)
    ljung_box_lags: tuple[int, ...] = _ints(1, "lags", allow_empty=False)
    variance_ratio_lags: tuple[int, ...] = _ints(2, "lags", allow_empty=False)
    hurst_max_lag: int = _min(4)


@dataclass(frozen=True)
class AuditSpec(_Section):
    calendar: str
    outlier_z: float = _within(0.0, 1e6, lo_open=True)
    outlier_window: int = _min(10)
    stale_min_run: int = _min(2)
    zero_volume_min_run: int = _min(1)
    imbalance_threshold: float = _within(0.0, 0.5)
    shift_alpha: float = _within(0.0, 1.0, lo_open=True)

    def check(self, path: str) -> None:
        if self.calendar not in _CALENDARS:
            raise ConfigError(
                f"exploration spec: `{path}.calendar` must be one of {list(_CALENDARS)}, "
                f"got {self.calendar!r}"
            )
        super().check(path)


@dataclass(frozen=True)
class ExploreSpec(_Section):
    """A resolved, validated exploration spec (see ``default_spec.yaml`` for every key)."""

    features: FeaturesSpec
    horizons: tuple[int, ...] = _ints(1, "horizons", allow_empty=False)
    train: TrainSpec
    stationarity: StationaritySpec
    screening: ScreeningSpec
    tests: TestsSpec
    audit: AuditSpec
    seed: int = _min(0)
    n_jobs: int = _min(1)


# --------------------------------------------------------------------------- building


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _convert(value: Any, tp: Any, path: str) -> Any:
    """Convert a YAML value to the annotated type ``tp`` or raise ConfigError naming ``path``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _convert(value, args[0], path)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise _fail(path, "must be a mapping", value)
        return _build(tp, value, path)
    if origin is tuple:
        (item_tp, _) = typing.get_args(tp)
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise _fail(path, f"must be a list of {_type_name(item_tp)}", value)
        return tuple(_convert(v, item_tp, f"{path}[{i}]") for i, v in enumerate(value))
    if tp is bool:
        if not isinstance(value, bool):
            raise _fail(path, "must be true or false", value)
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(path, "must be an integer", value)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(path, "must be a number", value)
        return float(value)
    if tp is str:
        if isinstance(value, (pd.Timestamp,)) or hasattr(value, "isoformat"):
            return str(value)  # YAML parses bare dates into date objects
        if not isinstance(value, str):
            raise _fail(path, "must be a string", value)
        return value
    raise TypeError(f"unsupported spec field type {tp!r} at {path}")  # programming error


def _build(cls: type, data: Mapping[str, Any], path: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in names:
            where = f"{path}.{key}" if path else str(key)
            raise ConfigError(
                f"exploration spec: unknown key `{where}`{did_you_mean(str(key), names)}"
            )
    kwargs = {}
    for name in names:
        where = f"{path}.{name}" if path else name
        if name not in data:
            raise ConfigError(f"exploration spec: missing key `{where}`")
        kwargs[name] = _convert(data[name], hints[name], where)
    obj = cls(**kwargs)
    obj.check(path)
    return obj


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = load_yaml(Path(path), what="exploration spec")
    except FileNotFoundError:
        raise ConfigError(f"exploration spec: file not found: {path}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"exploration spec {path}: must be a mapping of keys, got {type(data).__name__}"
        )
    return data


def load_spec(source: str | Path | Mapping[str, Any] | ExploreSpec | None = None) -> ExploreSpec:
    """Resolve an exploration spec.

    Args:
        source: ``None`` (the default spec), a path to a YAML file, a mapping (as parsed from
            YAML), or an :class:`ExploreSpec` (returned as is). Files and mappings are merged
            onto ``default_spec.yaml``.

    Returns:
        The validated spec.

    Raises:
        ConfigError: unknown or missing key (with a suggestion), wrong type, value out of range,
            unreadable file or invalid YAML.
    """
    if isinstance(source, ExploreSpec):
        return source
    base = _read_yaml(DEFAULT_SPEC_PATH)
    if source is None:
        user: Mapping[str, Any] = {}
    elif isinstance(source, Mapping):
        user = source
    else:
        user = _read_yaml(Path(source))
    return _build(ExploreSpec, _merge(base, user), "")


def default_spec() -> ExploreSpec:
    """The spec of ``default_spec.yaml``."""
    return load_spec(None)


def spec_to_dict(spec: Any) -> dict[str, Any]:
    """Plain (JSON/YAML-ready) mapping of a spec or of one of its sections."""

    def plain(x: Any) -> Any:
        if dataclasses.is_dataclass(x):
            return {f.name: plain(getattr(x, f.name)) for f in dataclasses.fields(x)}
        if isinstance(x, tuple):
            return [plain(v) for v in x]
        return x

    return plain(spec)


def spec_hash(section: Any) -> str:
    """Stable sha256 hex of a spec (or spec section), for cache keys."""
    text = json.dumps(spec_to_dict(section), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
