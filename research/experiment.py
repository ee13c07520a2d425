"""Experiment specs: one YAML file describes a whole research run.

A spec is read with :func:`load_experiment` (file) or :func:`parse_experiment` (mapping), checked
key by key, and returned as an :class:`Experiment` whose sections are small frozen dataclasses.
Unknown keys are refused with a "did you mean"; wrong types and values name the dotted key
(``walk_forward.train``), the rule and the value received. :func:`validate_experiment` then checks
the references against what is installed (strategy names and their parameters, optimizers).

Every default lives in the dataclasses below, and nowhere else. ``research run --show-defaults``
prints them as YAML; ``docs/experiments.md`` explains each key. A minimal spec::

    name: my-first
    data: {source: sample:sp500}
    strategies: [sma_cross]

A fuller one::

    name: quickstart
    seed: 7
    data: {source: sample:sp500, start: 2006-01-01}
    strategies:
      - name: sma_cross
        space: {fast: {low: 5, high: 50}, slow: {high: 200}}
      - name: my_strats.py:Breakout          # a user strategy: file.py:ClassName
        space: {lookback: [20, 55, 100], exit_mode: atr}   # choices; a fixed value
    optimizers: [tpe, ga]
    budget: {n_trials: 30}                   # per fold, per strategy x optimizer
    walk_forward: {train: 3Y, test: 1Y}
    objectives: [{metric: sharpe_ratio, direction: maximize}]
    gates: {min_dsr: 0.95, max_pbo: 0.5}

Space overrides (``strategies[i].space``), per declared parameter:

* a scalar fixes the value (``exit_mode: atr``);
* a list gives the allowed choices (``lookback: [20, 55, 100]``);
* a mapping narrows numeric bounds (``{low: 5, high: 50, step: 5, log: false}``); the new bounds
  must lie inside the declared ones.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from data_loaders.errors import ConfigError, did_you_mean
from research.optimize.objectives import DEFAULT_DIRECTIONS, METRICS

__all__ = [
    "Experiment",
    "DataSpec",
    "ExploreSpec",
    "StrategySpec",
    "OptimizerSpec",
    "BudgetSpec",
    "WalkForwardSpec",
    "ObjectiveSpec",
    "GuardrailSpec",
    "CostSpec",
    "GateSpec",
    "RankingSpec",
    "TrackingSpec",
    "ReportSpec",
    "NightlySpec",
    "METRICS",
    "DEFAULT_DIRECTIONS",
    "load_experiment",
    "resolve_strategy",
    "parse_experiment",
    "validate_experiment",
    "default_experiment_dict",
    "apply_overrides",
    "spec_hash",
]

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_EXECUTIONS = ("next-open", "close")
_DIRECTIONS = ("both", "longonly", "shortonly")
_TRACKERS = ("none", "mlflow")


# --------------------------------------------------------------------------------------------
# sections (every default lives here)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DataSpec:
    """Where the bars come from.

    ``source``: ``sample:NAME`` (bundled), a ``.csv``/``.parquet`` file, a folder of one file per
    symbol, or an online source ``yfinance:SYMBOL`` / ``ccxt:EXCHANGE:SYMBOL`` (extra ``online``).
    Relative paths are looked up from the working directory, then from the spec's folder.
    ``symbols`` picks symbols from a multi-symbol source (all when empty). ``start``/``end``
    (inclusive, ISO dates, UTC) cut the range; ``resample`` (``"1D"``, ``"4h"``) makes coarser
    bars; ``periods_per_year`` annualises metrics (inferred from the bar spacing when empty).
    """

    source: str = ""
    symbols: tuple[str, ...] = ()
    start: str | None = None
    end: str | None = None
    resample: str | None = None
    adjust: bool = True
    tz: str | None = None
    periods_per_year: int | None = None


@dataclass(frozen=True)
class ExploreSpec:
    """Feature exploration before the search (``research.explore``).

    ``spec``: an exploration spec file path or an inline mapping (the default spec when empty).
    Needed when a strategy asks for ``features: explore``.
    """

    enabled: bool = False
    spec: str | dict | None = None


@dataclass(frozen=True)
class StrategySpec:
    """One strategy to search: ``name`` is a registry name or ``path/file.py:ClassName``.

    ``label`` names it in the leaderboard (default: ``name``, or ``ClassName`` for a file). ``space`` overrides the declared
    space (see the module docstring). ``features``: none, ``explore`` (the selected set of the
    exploration, computed per training window) or an explicit list of feature columns.
    """

    name: str
    label: str = ""
    space: dict = field(default_factory=dict)
    features: str | tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", self.name.rsplit(":", 1)[-1])


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimizer plug-in (``tpe``, ``cmaes``, ``gp``, ``random``, ``grid``, ``nsga2``, ``ga``,
    ``deap_nsga2``; see ``research.optimize``) and its options (passed through)."""

    name: str
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class BudgetSpec:
    """Search budget: ``n_trials`` per fold for each strategy x optimizer; ``timeout`` in seconds
    per fold (none: no limit); ``pruner``: ``hyperband`` / ``successive_halving`` for
    multi-fidelity search (trials report at each data fraction), none to evaluate fully."""

    n_trials: int = 50
    timeout: float | None = None
    pruner: str | None = None


@dataclass(frozen=True)
class WalkForwardSpec:
    """Walk-forward layout (``backtest.splitters.WalkForward``): sizes in bars (int) or pandas
    durations (``"3Y"``, ``"6M"``, ``"180D"``, ``"12h"``); ``step`` defaults to ``test``; ``purge`` and
    ``embargo`` in bars."""

    train: str | int = "3Y"
    test: str | int = "1Y"
    step: str | int | None = None
    anchored: bool = False
    purge: int = 0
    embargo: int = 0


@dataclass(frozen=True)
class ObjectiveSpec:
    """One objective: a metric of :data:`METRICS` and ``maximize``/``minimize``."""

    metric: str = "sharpe_ratio"
    direction: str = "maximize"


@dataclass(frozen=True)
class GuardrailSpec:
    """Constraints every trial must meet during the search (infeasible trials are not picked).

    ``max_drawdown`` is a positive fraction (0.5: no drawdown deeper than 50%)."""

    min_trades: int | None = None
    max_drawdown: float | None = None
    max_turnover: float | None = None


@dataclass(frozen=True)
class CostSpec:
    """Trading costs and execution (``backtest.costs.Costs`` and engine options)."""

    fees: float = 0.001
    fixed_fees: float = 0.0
    slippage_bps: float = 0.0
    execution: str = "next-open"
    direction: str = "both"
    init_cash: float = 100_000.0


@dataclass(frozen=True)
class GateSpec:
    """Thresholds a candidate must pass to be picked (none disables a gate).

    ``min_dsr``: deflated Sharpe ratio (probability); ``max_pbo``: probability of backtest
    overfitting; ``min_stability``: neighbourhood / pick performance ratio; ``min_trades``:
    out-of-sample trades; ``max_drawdown``: positive fraction; ``min_wfe``: walk-forward
    efficiency (OOS / IS); ``max_spa_pvalue``: Hansen's SPA p-value against buy-and-hold.
    ``dsr_trials``: what the deflated Sharpe ratio counts as trials (``candidates``: the
    candidates compared out of sample plus earlier looks at the same data, the default;
    ``all_trials``: every in-sample trial; ``effective``: correlation clusters of the
    candidates), see :mod:`research.dsr_trials` and docs/gates.md.
    """

    min_dsr: float | None = 0.95
    max_pbo: float | None = 0.5
    min_stability: float | None = 0.5
    min_trades: int | None = 10
    max_drawdown: float | None = 0.5
    min_wfe: float | None = None
    max_spa_pvalue: float | None = None
    dsr_trials: str = "candidates"


@dataclass(frozen=True)
class RankingSpec:
    """Leaderboard: rank candidates by an out-of-sample ``metric``; ``top_k`` distinct trials per
    strategy x optimizer are re-evaluated out of sample as candidates (and form the PBO matrix)."""

    metric: str = "sharpe_ratio"
    top_k: int = 10


@dataclass(frozen=True)
class TrackingSpec:
    """Experiment tracking: ``none`` or ``mlflow`` (``uri`` default: ``sqlite:///<runs>/mlflow.db``)."""

    backend: str = "none"
    uri: str | None = None
    experiment: str | None = None


@dataclass(frozen=True)
class ReportSpec:
    """HTML report options."""

    enabled: bool = True
    title: str | None = None
    top_n: int = 25
    max_trades: int = 500


@dataclass(frozen=True)
class NightlySpec:
    """Nightly champion/challenger re-optimization (``research nightly``).

    ``n_trials`` per fold (default: ``budget.n_trials``); ``window``: the most recent
    out-of-sample window both are judged on (default: ``walk_forward.test``); ``min_improvement``:
    how much the challenger's ``ranking.metric`` must beat the champion's on that window;
    ``warm_start``: how many best trials of the last study seed the search.
    """

    n_trials: int | None = None
    window: str | int | None = None
    min_improvement: float = 0.0
    warm_start: int = 5


@dataclass(frozen=True)
class Experiment:
    """A validated experiment spec. ``path`` is the file it came from (None when built in code)."""

    name: str
    data: DataSpec
    strategies: tuple[StrategySpec, ...]
    description: str = ""
    seed: int = 0
    explore: ExploreSpec = field(default_factory=ExploreSpec)
    optimizers: tuple[OptimizerSpec, ...] = (OptimizerSpec("tpe"),)
    budget: BudgetSpec = field(default_factory=BudgetSpec)
    walk_forward: WalkForwardSpec = field(default_factory=WalkForwardSpec)
    objectives: tuple[ObjectiveSpec, ...] = (ObjectiveSpec(),)
    guardrails: GuardrailSpec = field(default_factory=GuardrailSpec)
    costs: CostSpec = field(default_factory=CostSpec)
    gates: GateSpec = field(default_factory=GateSpec)
    ranking: RankingSpec = field(default_factory=RankingSpec)
    storage: str | None = None
    workers: int = 1
    scheduler: str | None = None
    tracking: TrackingSpec = field(default_factory=TrackingSpec)
    report: ReportSpec = field(default_factory=ReportSpec)
    nightly: NightlySpec = field(default_factory=NightlySpec)
    path: str | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The resolved spec as plain YAML-able data (what the run folder saves)."""
        out = _plain(asdict(self))
        out.pop("path", None)
        return out

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=False)

    @property
    def multi_objective(self) -> bool:
        return len(self.objectives) > 1

    def with_overrides(self, **changes: Any) -> Experiment:
        """A copy with some top-level fields replaced (``None`` values are ignored)."""
        return apply_overrides(self, **changes)


# --------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------
_TOP_KEYS = {f.name for f in fields(Experiment)} - {"path"} | {"optimizer", "objective"}


def load_experiment(path: str | Path) -> Experiment:
    """Read and check a YAML experiment file; raises :class:`ConfigError` naming the key."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"experiment file {str(p)!r} not found")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{p}:{where} is not valid YAML: {problem}") from None
    return parse_experiment(raw, source=str(p))


def parse_experiment(raw: Any, *, source: str = "<spec>") -> Experiment:
    """Check a mapping (as read from YAML) and build an :class:`Experiment`.

    Raises :class:`ConfigError` whose message starts with ``source`` and the dotted key.
    """
    r = _Reader(source)
    m = r.mapping(raw, "")
    r.keys(m, "", _TOP_KEYS)
    if "name" not in m:
        raise r.err("name", "is required (a short identifier such as 'quickstart')")
    name = r.str_(m["name"], "name")
    if not _NAME_RE.match(name):
        raise r.err("name", f"must be letters, digits, '_', '.', '-' (a folder name), got {name!r}")
    if "data" not in m:
        raise r.err("data", "is required (e.g. data: {source: sample:sp500})")
    if "strategies" not in m:
        raise r.err("strategies", "is required (e.g. strategies: [sma_cross])")
    kw: dict[str, Any] = {
        "name": name,
        "data": _data(r, m["data"]),
        "strategies": _strategies(r, m["strategies"]),
        "path": None if source == "<spec>" else source,
    }
    if m.get("description") is not None:
        if not isinstance(m["description"], str):
            raise r.err("description", f"must be text, got {_short(m['description'])}")
        kw["description"] = m["description"]
    if "seed" in m:
        kw["seed"] = r.int_(m["seed"], "seed", low=0)
    if "explore" in m:
        kw["explore"] = _explore(r, m["explore"])
    if "optimizer" in m and "optimizers" in m:
        raise r.err("optimizer", "give either `optimizer` or `optimizers`, not both")
    if "optimizer" in m or "optimizers" in m:
        key = "optimizer" if "optimizer" in m else "optimizers"
        kw["optimizers"] = _optimizers(r, m[key], key)
    if "objective" in m and "objectives" in m:
        raise r.err("objective", "give either `objective` or `objectives`, not both")
    if "objective" in m or "objectives" in m:
        key = "objective" if "objective" in m else "objectives"
        kw["objectives"] = _objectives(r, m[key], key)
    for key in _SECTION_READERS:
        if key in m:
            kw[key] = _SECTION_READERS[key](r, m[key], key)
    if "storage" in m and m["storage"] is not None:
        kw["storage"] = r.str_(m["storage"], "storage")
    if "workers" in m:
        kw["workers"] = r.int_(m["workers"], "workers", low=1)
    if "scheduler" in m and m["scheduler"] is not None:
        kw["scheduler"] = r.str_(m["scheduler"], "scheduler")
    exp = Experiment(**kw)
    _cross_checks(r, exp)
    return exp


def default_experiment_dict() -> dict[str, Any]:
    """Every key with its default value (``name``, ``data.source`` and ``strategies`` are
    required and shown as placeholders)."""
    exp = Experiment(
        name="my-experiment",
        data=DataSpec(source="sample:sp500"),
        strategies=(StrategySpec(name="sma_cross"),),
    )
    return exp.to_dict()


def apply_overrides(
    exp: Experiment,
    *,
    n_trials: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    storage: str | None = None,
) -> Experiment:
    """Apply command-line overrides (``--trials/--seed/--workers/--scheduler/--storage``)."""
    r = _Reader("command line")
    changes: dict[str, Any] = {}
    if n_trials is not None:
        changes["budget"] = replace(exp.budget, n_trials=r.int_(n_trials, "--trials", low=1))
    if seed is not None:
        changes["seed"] = r.int_(seed, "--seed", low=0)
    if workers is not None:
        changes["workers"] = r.int_(workers, "--workers", low=1)
    if scheduler is not None:
        changes["scheduler"] = str(scheduler)
    if storage is not None:
        changes["storage"] = str(storage)
    return replace(exp, **changes) if changes else exp


def spec_hash(exp: Experiment) -> str:
    """Short stable hash of the resolved spec (identifies "the same command" for resume)."""
    text = json.dumps(exp.to_dict(), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------------------------
# validation against what is installed
# --------------------------------------------------------------------------------------------
def validate_experiment(exp: Experiment) -> None:
    """Check references: strategies load, space overrides name real parameters within their
    declared bounds, optimizers exist, take their options and can handle the objectives and the
    pruner. Raises :class:`ConfigError` naming the key."""
    src = exp.path or "<spec>"
    for i, s in enumerate(exp.strategies):
        resolve_strategy(s, key=f"{src}: strategies[{i}]")
    names = _optimizer_names()
    if names is None:
        return
    from data_loaders.errors import ParameterError, ResearchError
    from research.optimize import get_optimizer, optimizer_class

    for i, o in enumerate(exp.optimizers):
        key = f"{src}: optimizers[{i}]"
        if o.name not in names:
            raise ConfigError(
                f"{key}.name: unknown optimizer {o.name!r}{did_you_mean(o.name, names)}"
            )
        try:
            opt = get_optimizer(o.name, **o.options)
        except ParameterError as exc:
            raise ConfigError(f"{key}.options: {exc}") from None
        except ResearchError as exc:  # a missing optional dependency
            raise ConfigError(f"{key}.name: {exc}") from None
        if exp.multi_objective and not opt.multi_objective:
            multi = [n for n in names if optimizer_class(n).multi_objective]
            raise ConfigError(
                f"{key}.name: {o.name!r} handles one objective and the spec has "
                f"{len(exp.objectives)}; use one of {multi}"
            )
        if exp.budget.pruner is not None and not opt.supports_pruning:
            raise ConfigError(
                f"{key}.name: {o.name!r} cannot prune, and budget.pruner is "
                f"{exp.budget.pruner!r}; use an Optuna optimizer (tpe, random, cmaes) or drop "
                "the pruner"
            )
    if exp.budget.pruner is not None and exp.multi_objective:
        raise ConfigError(
            f"{src}: budget.pruner: pruning needs one objective, the spec has "
            f"{len(exp.objectives)}; drop the pruner or keep one objective"
        )


def resolve_strategy(spec: StrategySpec, *, key: str = "strategies[0]") -> type:
    """The strategy class of ``spec`` with its space overrides applied.

    Returns the registered class itself when there are no overrides, otherwise a subclass whose
    overridden parameters are re-declared (fixed value: a one-choice ``Categorical``; choices: a
    ``Categorical``; narrowed bounds: the same ``Int``/``Float`` type with the new bounds). Raises
    :class:`ConfigError` naming ``key`` for an unknown strategy or parameter, or an override
    outside the declared space.
    """
    from data_loaders.errors import ResearchError
    from strategies.registry import get_strategy

    try:
        cls = get_strategy(spec.name)
    except ResearchError as exc:
        raise ConfigError(f"{key}.name: {exc}") from None
    if not spec.space:
        return cls
    declared = cls.space()
    attrs: dict[str, Any] = {}
    for pname, ov in spec.space.items():
        pkey = f"{key}.space.{pname}"
        if pname not in declared:
            raise ConfigError(
                f"{pkey}: unknown parameter of {cls.label()}{did_you_mean(pname, declared)}"
            )
        attrs[pname] = _override_param(declared[pname], ov, pkey)
    attrs.update(
        {
            "__module__": cls.__module__,
            "__qualname__": cls.__qualname__,
            "__doc__": cls.__doc__,
            "name": cls.label(),
            "space_overrides": copy.deepcopy(spec.space),
        }
    )
    return type(cls.__name__, (cls,), attrs)


def _override_param(p: Any, ov: Any, key: str) -> Any:
    from data_loaders.errors import ParameterError
    from strategies.params import Categorical, Float, Int

    try:
        if isinstance(ov, Mapping):
            if not isinstance(p, Int | Float):
                raise ConfigError(
                    f"{key}: bounds apply to numeric parameters; {p.name!r} is categorical "
                    f"with choices {list(p.choices)} (give a list of choices instead)"
                )
            low = ov.get("low", p.low)
            high = ov.get("high", p.high)
            if low < p.low or high > p.high:
                raise ConfigError(
                    f"{key}: bounds [{low}, {high}] must lie inside the declared "
                    f"[{p.low}, {p.high}]"
                )
            log = ov.get("log", p.log)
            step = ov.get("step", p.step)
            if isinstance(p, Int):
                default = min(max(p.default, low), high)
                return Int(
                    int(low),
                    int(high),
                    step=int(step or 1),
                    log=log,
                    when=p.when,
                    default=_snap_int(default, int(low), int(high), int(step or 1)),
                )
            default = min(max(p.default, low), high)
            if step:
                default = low + round((default - low) / step) * step
                default = min(max(default, low), high)
            return Float(float(low), float(high), step=step, log=log, when=p.when, default=default)
        if isinstance(ov, list):
            choices = [p.validate(v) for v in ov]
            default = p.default if p.default in choices else choices[0]
            return Categorical(choices, default=default, when=p.when)
        value = p.validate(ov)
        return Categorical([value], default=value, when=p.when)
    except ParameterError as exc:
        raise ConfigError(f"{key}: {exc}") from None


def _snap_int(value: int, low: int, high: int, step: int) -> int:
    k = round((value - low) / step)
    return int(min(max(low + k * step, low), high))


def _optimizer_names() -> list[str] | None:
    try:
        from research.optimize import list_optimizers
    except ImportError:
        return None
    return sorted(list_optimizers())


# --------------------------------------------------------------------------------------------
# section readers
# --------------------------------------------------------------------------------------------
class _Reader:
    """Small typed reader that names the dotted key in every error."""

    def __init__(self, source: str) -> None:
        self.source = source

    def err(self, key: str, rule: str) -> ConfigError:
        where = f"{self.source}: {key}" if key else self.source
        return ConfigError(f"{where}: {rule}")

    def mapping(self, value: Any, key: str) -> dict:
        if not isinstance(value, Mapping):
            what = "the file" if not key else key
            raise ConfigError(
                f"{self.source}: {what}: must be a mapping (key: value), "
                f"got {type(value).__name__} {_short(value)}"
            )
        for k in value:
            if not isinstance(k, str):
                raise self.err(key, f"keys must be strings, got {k!r}")
        return dict(value)

    def keys(self, m: Mapping, key: str, allowed: set[str]) -> None:
        for k in m:
            if k not in allowed:
                full = f"{key}.{k}" if key else k
                raise self.err(full, f"unknown key{did_you_mean(k, allowed)}")

    def str_(self, value: Any, key: str, choices: Sequence[str] | None = None) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.err(key, f"must be a non-empty string, got {_short(value)}")
        if choices is not None and value not in choices:
            raise self.err(
                key, f"must be one of {list(choices)}, got {value!r}{did_you_mean(value, choices)}"
            )
        return value

    def bool_(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.err(key, f"must be true or false, got {_short(value)}")
        return value

    def int_(self, value: Any, key: str, *, low: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.err(key, f"must be an integer, got {_short(value)}")
        if isinstance(value, float) and not value.is_integer():
            raise self.err(key, f"must be an integer, got {value!r}")
        value = int(value)
        if low is not None and value < low:
            raise self.err(key, f"must be >= {low}, got {value}")
        return value

    def float_(
        self,
        value: Any,
        key: str,
        *,
        low: float | None = None,
        high: float | None = None,
        low_open: bool = False,
    ) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            raise self.err(key, f"must be a number, got {_short(value)}")
        value = float(value)
        if low is not None and (value < low or (low_open and value == low)):
            op = ">" if low_open else ">="
            raise self.err(key, f"must be {op} {low}, got {value}")
        if high is not None and value > high:
            raise self.err(key, f"must be <= {high}, got {value}")
        return value

    def opt(self, fn, value: Any, key: str, **kw: Any) -> Any:
        return None if value is None else fn(value, key, **kw)

    def size(self, value: Any, key: str) -> str | int:
        """A walk-forward size: positive int bars or a duration like ``3Y``, ``6M``, ``180D``
        (checked by ``backtest.splitters.parse_size``, the parser the splitter uses)."""
        from backtest.splitters import parse_size
        from data_loaders.errors import ParameterError

        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int | str) or isinstance(value, bool):
            raise self.err(
                key, f"must be a number of bars or a duration like '3Y', got {_short(value)}"
            )
        try:
            parse_size(value.strip() if isinstance(value, str) else value, key.split(".")[-1])
        except ParameterError as exc:
            raise self.err(key, str(exc)) from None
        return value.strip() if isinstance(value, str) else value

    def date(self, value: Any, key: str) -> str:
        import datetime as dt

        if isinstance(value, dt.date):
            return value.isoformat()
        if not isinstance(value, str):
            raise self.err(key, f"must be an ISO date like 2010-01-31, got {_short(value)}")
        import pandas as pd

        try:
            pd.Timestamp(value)
        except (ValueError, TypeError):
            raise self.err(key, f"must be an ISO date like 2010-01-31, got {value!r}") from None
        return value

    def str_list(self, value: Any, key: str) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple):
            raise self.err(key, f"must be a list of strings, got {_short(value)}")
        return tuple(self.str_(v, f"{key}[{i}]") for i, v in enumerate(value))


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fields_of(cls: type) -> set[str]:
    return {f.name for f in fields(cls)}


def _data(r: _Reader, raw: Any) -> DataSpec:
    if isinstance(raw, str):
        raw = {"source": raw}
    m = r.mapping(raw, "data")
    r.keys(m, "data", _fields_of(DataSpec))
    if "source" not in m:
        raise r.err("data.source", "is required (sample:NAME, a file, a folder or yfinance:SYM)")
    kw: dict[str, Any] = {"source": r.str_(m["source"], "data.source")}
    if m.get("symbols") is not None:
        kw["symbols"] = r.str_list(m["symbols"], "data.symbols")
    for k in ("start", "end"):
        if m.get(k) is not None:
            kw[k] = r.date(m[k], f"data.{k}")
    if kw.get("start") and kw.get("end"):
        import pandas as pd

        if pd.Timestamp(kw["start"]) >= pd.Timestamp(kw["end"]):
            raise r.err(
                "data.end", f"must be after data.start, got start={kw['start']}, end={kw['end']}"
            )
    if m.get("resample") is not None:
        kw["resample"] = r.str_(m["resample"], "data.resample")
    if "adjust" in m:
        kw["adjust"] = r.bool_(m["adjust"], "data.adjust")
    if m.get("tz") is not None:
        kw["tz"] = r.str_(m["tz"], "data.tz")
    if m.get("periods_per_year") is not None:
        kw["periods_per_year"] = r.int_(m["periods_per_year"], "data.periods_per_year", low=1)
    return DataSpec(**kw)


def _explore(r: _Reader, raw: Any) -> ExploreSpec:
    if isinstance(raw, bool):
        return ExploreSpec(enabled=raw)
    if isinstance(raw, str):
        return ExploreSpec(enabled=True, spec=raw)
    m = r.mapping(raw, "explore")
    r.keys(m, "explore", _fields_of(ExploreSpec))
    spec = m.get("spec")
    if spec is not None and not isinstance(spec, str | Mapping):
        raise r.err("explore.spec", f"must be a file path or a mapping, got {_short(spec)}")
    enabled = r.bool_(m["enabled"], "explore.enabled") if "enabled" in m else True
    return ExploreSpec(enabled=enabled, spec=dict(spec) if isinstance(spec, Mapping) else spec)


def _strategies(r: _Reader, raw: Any) -> tuple[StrategySpec, ...]:
    if isinstance(raw, str | Mapping):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise r.err("strategies", f"must be a non-empty list, got {_short(raw)}")
    out: list[StrategySpec] = []
    for i, item in enumerate(raw):
        key = f"strategies[{i}]"
        if isinstance(item, str):
            item = {"name": item}
        m = r.mapping(item, key)
        r.keys(m, key, _fields_of(StrategySpec))
        if "name" not in m:
            raise r.err(f"{key}.name", "is required (a registry name or path/file.py:ClassName)")
        name = r.str_(m["name"], f"{key}.name")
        if m.get("label") is not None:
            label = r.str_(m["label"], f"{key}.label")
        else:  # default: the registry name, or the class name of a file:Class reference
            label = name.rsplit(":", 1)[-1] if ":" in name else name
        space = r.mapping(m.get("space") or {}, f"{key}.space")
        for pname, ov in space.items():
            _check_override_shape(r, ov, f"{key}.space.{pname}")
        features = m.get("features")
        if features is not None:
            if isinstance(features, str):
                if features != "explore":
                    raise r.err(
                        f"{key}.features",
                        f"must be 'explore' or a list of feature columns, got {features!r}",
                    )
            else:
                features = r.str_list(features, f"{key}.features")
        out.append(
            StrategySpec(name=name, label=label, space=copy.deepcopy(space), features=features)
        )
    labels = [s.label for s in out]
    for i, lab in enumerate(labels):
        if labels.index(lab) != i:
            raise r.err(
                f"strategies[{i}].label",
                f"duplicate strategy label {lab!r}; give each repeated strategy a distinct `label`",
            )
    return tuple(out)


_OVERRIDE_KEYS = {"low", "high", "step", "log"}


def _check_override_shape(r: _Reader, ov: Any, key: str) -> None:
    if isinstance(ov, Mapping):
        r.keys(ov, key, _OVERRIDE_KEYS)
        for k in ("low", "high", "step"):
            if ov.get(k) is not None:
                r.float_(ov[k], f"{key}.{k}")
        if "log" in ov:
            r.bool_(ov["log"], f"{key}.log")
    elif isinstance(ov, list):
        if not ov:
            raise r.err(key, "a list of choices must not be empty")
    elif ov is None:
        raise r.err(key, "must be a value, a list of choices or {low, high, step, log}, got null")


def _optimizers(r: _Reader, raw: Any, key: str) -> tuple[OptimizerSpec, ...]:
    if isinstance(raw, str | Mapping):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise r.err(key, f"must be an optimizer name or a non-empty list, got {_short(raw)}")
    out = []
    for i, item in enumerate(raw):
        k = f"{key}[{i}]"
        if isinstance(item, str):
            out.append(OptimizerSpec(name=r.str_(item, k)))
            continue
        m = r.mapping(item, k)
        r.keys(m, k, {"name", "options"})
        if "name" not in m:
            raise r.err(f"{k}.name", "is required (e.g. tpe, cmaes, ga)")
        options = r.mapping(m.get("options") or {}, f"{k}.options")
        out.append(OptimizerSpec(name=r.str_(m["name"], f"{k}.name"), options=options))
    names = [o.name for o in out]
    for i, n in enumerate(names):
        if names.index(n) != i:
            raise r.err(f"{key}[{i}]", f"optimizer {n!r} is listed twice")
    return tuple(out)


def _objectives(r: _Reader, raw: Any, key: str) -> tuple[ObjectiveSpec, ...]:
    if isinstance(raw, str | Mapping):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise r.err(key, f"must be a metric name or a non-empty list, got {_short(raw)}")
    out = []
    for i, item in enumerate(raw):
        k = f"{key}[{i}]"
        if isinstance(item, str):
            item = {"metric": item}
        m = r.mapping(item, k)
        r.keys(m, k, _fields_of(ObjectiveSpec))
        metric = r.str_(m.get("metric", "sharpe_ratio"), f"{k}.metric", METRICS)
        direction = m.get("direction", DEFAULT_DIRECTIONS[metric])
        direction = r.str_(direction, f"{k}.direction", ("maximize", "minimize"))
        out.append(ObjectiveSpec(metric=metric, direction=direction))
    metrics = [o.metric for o in out]
    for i, n in enumerate(metrics):
        if metrics.index(n) != i:
            raise r.err(f"{key}[{i}].metric", f"metric {n!r} is an objective twice")
    return tuple(out)


def _budget(r: _Reader, raw: Any, key: str) -> BudgetSpec:
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = {"n_trials": raw}
    m = r.mapping(raw, key)
    r.keys(m, key, _fields_of(BudgetSpec))
    kw: dict[str, Any] = {}
    if "n_trials" in m:
        kw["n_trials"] = r.int_(m["n_trials"], f"{key}.n_trials", low=1)
    if m.get("timeout") is not None:
        kw["timeout"] = r.float_(m["timeout"], f"{key}.timeout", low=0, low_open=True)
    if m.get("pruner") is not None:
        kw["pruner"] = r.str_(m["pruner"], f"{key}.pruner", ("hyperband", "successive_halving"))
    return BudgetSpec(**kw)


def _walk_forward(r: _Reader, raw: Any, key: str) -> WalkForwardSpec:
    m = r.mapping(raw, key)
    r.keys(m, key, _fields_of(WalkForwardSpec))
    kw: dict[str, Any] = {}
    for k in ("train", "test"):
        if k in m:
            kw[k] = r.size(m[k], f"{key}.{k}")
    if m.get("step") is not None:
        kw["step"] = r.size(m["step"], f"{key}.step")
    if "anchored" in m:
        kw["anchored"] = r.bool_(m["anchored"], f"{key}.anchored")
    for k in ("purge", "embargo"):
        if k in m:
            kw[k] = r.int_(m[k], f"{key}.{k}", low=0)
    return WalkForwardSpec(**kw)


def _guardrails(r: _Reader, raw: Any, key: str) -> GuardrailSpec:
    m = r.mapping(raw or {}, key)
    r.keys(m, key, _fields_of(GuardrailSpec))
    kw: dict[str, Any] = {}
    if m.get("min_trades") is not None:
        kw["min_trades"] = r.int_(m["min_trades"], f"{key}.min_trades", low=0)
    if m.get("max_drawdown") is not None:
        kw["max_drawdown"] = _positive_fraction(r, m["max_drawdown"], f"{key}.max_drawdown")
    if m.get("max_turnover") is not None:
        kw["max_turnover"] = r.float_(
            m["max_turnover"], f"{key}.max_turnover", low=0, low_open=True
        )
    return GuardrailSpec(**kw)


def _positive_fraction(r: _Reader, value: Any, key: str) -> float:
    v = r.float_(value, key)
    if not 0 < v <= 1:
        hint = f" (write {abs(v)} for a {abs(v):.0%} drawdown)" if -1 <= v < 0 else ""
        raise r.err(key, f"must be a positive fraction in (0, 1], got {v}{hint}")
    return v


def _costs(r: _Reader, raw: Any, key: str) -> CostSpec:
    m = r.mapping(raw, key)
    r.keys(m, key, _fields_of(CostSpec))
    kw: dict[str, Any] = {}
    if "fees" in m:
        kw["fees"] = r.float_(m["fees"], f"{key}.fees", low=0, high=0.5)
    if "fixed_fees" in m:
        kw["fixed_fees"] = r.float_(m["fixed_fees"], f"{key}.fixed_fees", low=0)
    if "slippage_bps" in m:
        kw["slippage_bps"] = r.float_(m["slippage_bps"], f"{key}.slippage_bps", low=0, high=5000)
    if "execution" in m:
        kw["execution"] = r.str_(m["execution"], f"{key}.execution", _EXECUTIONS)
    if "direction" in m:
        kw["direction"] = r.str_(m["direction"], f"{key}.direction", _DIRECTIONS)
    if "init_cash" in m:
        kw["init_cash"] = r.float_(m["init_cash"], f"{key}.init_cash", low=0, low_open=True)
    return CostSpec(**kw)


def _gates(r: _Reader, raw: Any, key: str) -> GateSpec:
    m = r.mapping(raw or {}, key)
    r.keys(m, key, _fields_of(GateSpec))
    kw: dict[str, Any] = {}
    for k in ("min_dsr", "max_pbo", "max_spa_pvalue"):
        if k in m:
            kw[k] = r.opt(r.float_, m[k], f"{key}.{k}", low=0, high=1)
    if "min_stability" in m:
        kw["min_stability"] = r.opt(r.float_, m["min_stability"], f"{key}.min_stability")
    if "min_wfe" in m:
        kw["min_wfe"] = r.opt(r.float_, m["min_wfe"], f"{key}.min_wfe")
    if "min_trades" in m:
        kw["min_trades"] = r.opt(r.int_, m["min_trades"], f"{key}.min_trades", low=0)
    if "max_drawdown" in m:
        v = m["max_drawdown"]
        kw["max_drawdown"] = None if v is None else _positive_fraction(r, v, f"{key}.max_drawdown")
    if "dsr_trials" in m:
        from research.dsr_trials import DSR_TRIALS

        kw["dsr_trials"] = r.str_(m["dsr_trials"], f"{key}.dsr_trials", DSR_TRIALS)
    return GateSpec(**kw)


def _ranking(r: _Reader, raw: Any, key: str) -> RankingSpec:
    if isinstance(raw, str):
        raw = {"metric": raw}
    m = r.mapping(raw, key)
    r.keys(m, key, _fields_of(RankingSpec))
    kw: dict[str, Any] = {}
    if "metric" in m:
        kw["metric"] = r.str_(m["metric"], f"{key}.metric", METRICS)
    if "top_k" in m:
        kw["top_k"] = r.int_(m["top_k"], f"{key}.top_k", low=1)
    return RankingSpec(**kw)


def _tracking(r: _Reader, raw: Any, key: str) -> TrackingSpec:
    if isinstance(raw, str) or raw is None:
        raw = {"backend": raw or "none"}
    m = r.mapping(raw, key)
    r.keys(m, key, _fields_of(TrackingSpec))
    kw: dict[str, Any] = {}
    if "backend" in m:
        kw["backend"] = r.str_(m["backend"] or "none", f"{key}.backend", _TRACKERS)
    if m.get("uri") is not None:
        kw["uri"] = r.str_(m["uri"], f"{key}.uri")
    if m.get("experiment") is not None:
        kw["experiment"] = r.str_(m["experiment"], f"{key}.experiment")
    return TrackingSpec(**kw)


def _report(r: _Reader, raw: Any, key: str) -> ReportSpec:
    if isinstance(raw, bool):
        raw = {"enabled": raw}
    m = r.mapping(raw, key)
    r.keys(m, key, _fields_of(ReportSpec))
    kw: dict[str, Any] = {}
    if "enabled" in m:
        kw["enabled"] = r.bool_(m["enabled"], f"{key}.enabled")
    if m.get("title") is not None:
        kw["title"] = r.str_(m["title"], f"{key}.title")
    if "top_n" in m:
        kw["top_n"] = r.int_(m["top_n"], f"{key}.top_n", low=1)
    if "max_trades" in m:
        kw["max_trades"] = r.int_(m["max_trades"], f"{key}.max_trades", low=0)
    return ReportSpec(**kw)


def _nightly(r: _Reader, raw: Any, key: str) -> NightlySpec:
    m = r.mapping(raw or {}, key)
    r.keys(m, key, _fields_of(NightlySpec))
    kw: dict[str, Any] = {}
    if m.get("n_trials") is not None:
        kw["n_trials"] = r.int_(m["n_trials"], f"{key}.n_trials", low=1)
    if m.get("window") is not None:
        kw["window"] = r.size(m["window"], f"{key}.window")
    if "min_improvement" in m:
        kw["min_improvement"] = r.float_(m["min_improvement"], f"{key}.min_improvement", low=0)
    if "warm_start" in m:
        kw["warm_start"] = r.int_(m["warm_start"], f"{key}.warm_start", low=0)
    return NightlySpec(**kw)


_SECTION_READERS = {
    "budget": _budget,
    "walk_forward": _walk_forward,
    "guardrails": _guardrails,
    "costs": _costs,
    "gates": _gates,
    "ranking": _ranking,
    "tracking": _tracking,
    "report": _report,
    "nightly": _nightly,
}


def _cross_checks(r: _Reader, exp: Experiment) -> None:
    if any(s.features == "explore" for s in exp.strategies) and not exp.explore.enabled:
        i = next(i for i, s in enumerate(exp.strategies) if s.features == "explore")
        raise r.err(
            f"strategies[{i}].features", "is 'explore' but exploration is off; add `explore: true`"
        )
    if exp.scheduler and not exp.storage:
        raise r.err(
            "scheduler",
            "a Dask scheduler needs a shared `storage` URL "
            "(e.g. postgresql://user@host/db) that every worker host can reach",
        )


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
