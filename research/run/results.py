"""``results.json``: its one schema, its one writer (:meth:`RunResults.write`) and its one reader
(:meth:`RunResults.load`).

Everything that reads a finished run (the report, ``research runs``/``compare``, tracking and
nightly) goes through :class:`RunResults`, never the raw file (the report's plots of the plain
sections read its :meth:`RunResults.to_json` form, already upgraded to the current version). The classes mirror the file one to one
(field name = JSON key, except ``SearchFold.is_metrics`` which is written ``"is"``); nested
sections that only the report draws (``overfitting``, ``importance``, ``pareto``, ``explore``)
stay plain JSON mappings.

Schema versions:

* **1** (no ``schema_version`` key; written before 2026-12): the gates of each leaderboard row
  held ``max_drawdown`` as a negative floor (``{"value": -0.2, "threshold": -0.5}``).
  :meth:`RunResults.from_json` converts it to version 2 on reading.
* **2**: ``schema_version: 2``; every ``max_drawdown`` gate is a positive fraction, as in the
  spec (``{"value": 0.2, "threshold": 0.5}``).

Numbers that are not finite are written as ``null`` (read back as None).
"""

from __future__ import annotations

import json
import math
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from data_loaders.errors import ConfigError

__all__ = [
    "SCHEMA_VERSION",
    "RunResults",
    "DataInfo",
    "Objective",
    "Verdict",
    "LeaderboardRow",
    "CandidateStats",
    "GateOutcome",
    "Benchmark",
    "Span",
    "FoldWindow",
    "SearchSummary",
    "SearchFold",
    "TrialCounts",
]

SCHEMA_VERSION = 2

Json = Any  # plain JSON data: dict / list / str / float / int / bool / None


@dataclass(frozen=True)
class DataInfo:
    """The data a run used: source, symbols, span, bar count, bars per year, fingerprint."""

    source: str
    symbols: tuple[str, ...]
    start: str
    end: str
    n_bars: int
    periods_per_year: float
    fingerprint: str | None = None


@dataclass(frozen=True)
class Objective:
    metric: str
    direction: str


@dataclass(frozen=True)
class GateOutcome:
    """One gate of one candidate: its input (in the gate's convention), threshold, outcome."""

    value: float | None
    threshold: float | None
    passed: bool


@dataclass(frozen=True)
class CandidateStats:
    """The overfitting statistics of one candidate (None: not computed)."""

    sharpe_per_period: float | None = None
    psr: float | None = None
    dsr: float | None = None
    n_trials: float | None = None
    effective_trials: float | None = None
    pbo: float | None = None
    stability: float | None = None
    wfe: float | None = None
    spa_pvalue: float | None = None


@dataclass(frozen=True)
class LeaderboardRow:
    """One ranked candidate (a strategy x optimizer walk-forward search)."""

    rank: int
    candidate: str
    strategy: str
    strategy_ref: str
    optimizer: str
    kind: str
    params: Mapping[str, Json]
    fold_params: tuple[Json, ...]
    features_mode: Json
    oos_metrics: Mapping[str, float | None]
    score: float | None
    stats: CandidateStats
    stability_note: str | None
    gates: Mapping[str, GateOutcome]
    passed: bool
    failed_gates: str
    notes: str
    explanations: tuple[str, ...] = ()

    def metric(self, name: str) -> float | None:
        """An out-of-sample metric, None when absent or not finite."""
        return self.oos_metrics.get(name)

    def failed(self) -> list[str]:
        """Names of the gates this candidate failed."""
        return [k for k, g in self.gates.items() if not g.passed]

    def to_json(self) -> dict[str, Any]:
        """The row as in results.json."""
        return _encode(self)


@dataclass(frozen=True)
class Verdict:
    """The run's answer: whether a champion exists, the sentence, champion and top rows."""

    passed: bool
    message: str
    champion: LeaderboardRow | None
    best: LeaderboardRow | None

    @property
    def lead(self) -> LeaderboardRow | None:
        """The champion, else the top of the leaderboard (shown with its gates failed)."""
        return self.champion or self.best


@dataclass(frozen=True)
class Benchmark:
    name: str
    oos_metrics: Mapping[str, float | None]


@dataclass(frozen=True)
class Span:
    start: str
    end: str
    n_bars: int


@dataclass(frozen=True)
class FoldWindow:
    """One walk-forward fold's windows (dates inclusive) and sizes in bars."""

    number: int
    train_start: str
    train_end: str
    test_start: str
    test_end: str
    train_bars: int
    test_bars: int


@dataclass(frozen=True)
class SearchFold:
    """One fold of one search: the pick, its in-sample and out-of-sample metrics, counts."""

    number: int
    params: Mapping[str, Json] | None
    best_number: int | None
    is_metrics: Mapping[str, float | None] = field(metadata={"key": "is"})
    oos: Mapping[str, float | None] = field(default_factory=dict)
    wfe: float | None = None
    n_trials: int = 0
    n_pruned: int = 0
    n_failed: int = 0
    n_feasible: int = 0
    study_name: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class TrialCounts:
    total: int
    complete: int
    pruned: int
    failed: int
    feasible: int


@dataclass(frozen=True)
class SearchSummary:
    """One strategy x optimizer search: folds, final pick, stitched OOS metrics, counts."""

    key: str
    strategy: str
    strategy_ref: str
    optimizer: str
    final_params: Mapping[str, Json] | None
    folds: tuple[SearchFold, ...]
    oos_metrics: Mapping[str, float | None]
    wfe: float | None
    counts: TrialCounts
    evaluations_saved: float | None
    study_names: tuple[str, ...]
    storage: str | None
    features: Json = None


@dataclass(frozen=True)
class RunResults:
    """The content of ``results.json`` (see the module docstring)."""

    experiment: str
    description: str
    run_id: str
    created: str
    seed: int
    code_version: Mapping[str, str | None]
    data: DataInfo
    ranking_metric: str
    ranking_direction: str
    objectives: tuple[Objective, ...]
    gates: Mapping[str, float | str | None]
    verdict: Verdict
    leaderboard: tuple[LeaderboardRow, ...]
    benchmark: Benchmark
    oos_span: Span
    folds: tuple[FoldWindow, ...]
    searches: tuple[SearchSummary, ...]
    overfitting: Mapping[str, Json]
    importance: Mapping[str, Json]
    pareto: Json = None
    explore: Json = None
    universe: Json = None
    champion_trades: int | None = None
    storage: str | None = None
    timings: Mapping[str, float] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    # ---- reading and writing ---------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """Plain JSON data (``schema_version`` first; non-finite numbers as None)."""
        out = _encode(self)
        return {"schema_version": out.pop("schema_version"), **out}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunResults:
        """Read any schema version (older ones converted, see the module docstring).

        Raises:
            ConfigError: a newer schema than this code knows, or a missing key.
        """
        version = int(data.get("schema_version", 1))
        if version > SCHEMA_VERSION:
            raise ConfigError(
                f"results.json has schema_version {version}; this code reads up to "
                f"{SCHEMA_VERSION} (update the package)"
            )
        if version == 1:
            data = _upgrade_v1(data)
        return _decode(cls, {**data, "schema_version": SCHEMA_VERSION}, "results.json")

    def write(self, run_dir: str | Path) -> Path:
        """Write ``run_dir/results.json`` atomically; returns its path."""
        from research.run.store import atomic_write_json

        path = Path(run_dir) / "results.json"
        atomic_write_json(path, self.to_json())
        return path

    @classmethod
    def load(cls, run_dir: str | Path) -> RunResults:
        """``results.json`` of a run folder.

        Raises:
            ConfigError: the folder is missing, unfinished, not a run's, or the file is not a
                valid results file.
        """
        from research.run.store import MARKER

        p = Path(run_dir)
        if not p.is_dir():
            raise ConfigError(f"run folder {str(p)!r} not found")
        f = p / "results.json"
        if not f.is_file():
            state = (
                "unfinished (rerun its command to resume)"
                if (p / MARKER).exists()
                else "not a run folder"
            )
            raise ConfigError(f"{str(p)!r} has no results.json: it is {state}")
        try:
            raw = json.loads(f.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ConfigError(f"{str(f)!r} is not valid JSON: {exc}") from None
        try:
            return cls.from_json(raw)
        except ConfigError as exc:
            raise ConfigError(f"{f}: {exc}") from None


# --------------------------------------------------------------------------------------------
# the generic walk (field types drive the decoding)
# --------------------------------------------------------------------------------------------
def _key(f: Any) -> str:
    return f.metadata.get("key", f.name)


def _encode(v: Any) -> Any:
    if is_dataclass(v) and not isinstance(v, type):
        return {_key(f): _encode(getattr(v, f.name)) for f in fields(v)}
    if isinstance(v, Mapping):
        return {str(k): _encode(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_encode(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _decode(tp: Any, v: Any, where: str) -> Any:
    if isinstance(tp, type) and is_dataclass(tp):
        if not isinstance(v, Mapping):
            raise ConfigError(f"{where}: expected an object, got {type(v).__name__}")
        hints = typing.get_type_hints(tp)
        kwargs = {}
        for f in fields(tp):
            k = _key(f)
            if k in v:
                kwargs[f.name] = _decode(hints[f.name], v[k], f"{where}.{k}")
            elif f.default is MISSING and f.default_factory is MISSING:  # required
                raise ConfigError(f"{where}: missing key {k!r}")
        return tp(**kwargs)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if v is None:
        return None
    if origin in (typing.Union, _UnionType):
        inner = [a for a in args if a is not type(None)]
        return _decode(inner[0], v, where) if len(inner) == 1 else v
    if origin is tuple:
        return tuple(_decode(args[0], x, f"{where}[{i}]") for i, x in enumerate(v))
    if origin in (Mapping, dict, typing.Mapping):
        return {str(k): _decode(args[1], x, f"{where}.{k}") for k, x in v.items()}
    return v


_UnionType = type(int | None)


def _upgrade_v1(data: Mapping[str, Any]) -> dict[str, Any]:
    """Version 1 -> 2: ``max_drawdown`` gates of the rows as positive fractions."""

    def row(r: Any) -> Any:
        if not isinstance(r, Mapping):
            return r
        g = dict(r.get("gates") or {})
        dd = g.get("max_drawdown")
        if isinstance(dd, Mapping) and (dd.get("threshold") or 0) < 0:
            g["max_drawdown"] = {
                **dd,
                "value": None if dd.get("value") is None else -dd["value"],
                "threshold": -dd["threshold"],
            }
        return {**r, "gates": g}

    out = dict(data)
    if isinstance(data.get("leaderboard"), list):
        out["leaderboard"] = [row(r) for r in data["leaderboard"]]
    if isinstance(data.get("verdict"), Mapping):
        out["verdict"] = {
            **data["verdict"],
            **{k: row(data["verdict"].get(k)) for k in ("champion", "best")},
        }
    return out
