"""Read an experiment spec (a YAML file or a mapping) into an :class:`Experiment`.

Unknown keys are refused with a "did you mean"; wrong types and values name the dotted key
(``walk_forward.train``), the rule and the value received. One reader function per section
(:data:`_SECTION_READERS`), then the checks that span sections (:func:`_cross_checks`).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from backtest.execution import DIRECTIONS, EXECUTIONS
from data_loaders.errors import ConfigError
from research.optimize.objectives import DEFAULT_DIRECTIONS, METRICS
from research.spec.layers import read_exits, read_sizing
from research.spec.reader import Reader, short_repr
from research.spec.sections import (
    DSR_TRIALS,
    BudgetSpec,
    CostSpec,
    DataSpec,
    Experiment,
    ExploreSection,
    GateSpec,
    GuardrailSpec,
    NightlySpec,
    ObjectiveSpec,
    OptimizerSpec,
    RankingSpec,
    ReportSpec,
    StrategySpec,
    TrackingSpec,
    UniverseSpec,
    WalkForwardSpec,
)

__all__ = [
    "load_experiment",
    "parse_experiment",
    "default_experiment_dict",
    "apply_overrides",
    "experiment_hash",
]

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_TRACKERS = ("none", "mlflow")
_TOP_KEYS = {f.name for f in fields(Experiment)} - {"path"} | {"optimizer", "objective"}


def load_experiment(path: str | Path) -> Experiment:
    """Read and check a YAML experiment file; raises :class:`ConfigError` naming the key."""
    from research._yaml import load_yaml

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"experiment file {str(p)!r} not found")
    raw = load_yaml(p)
    return parse_experiment(raw, source=str(p))


def parse_experiment(raw: Any, *, source: str = "<spec>") -> Experiment:
    """Check a mapping (as read from YAML) and build an :class:`Experiment`.

    Raises :class:`ConfigError` whose message starts with ``source`` and the dotted key.
    """
    r = Reader(source)
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
            raise r.err("description", f"must be text, got {short_repr(m['description'])}")
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
    if "lookahead" in m:  # YAML 1.1 reads a bare `off` as false
        value = {False: "off", True: "error"}.get(m["lookahead"], m["lookahead"])
        kw["lookahead"] = r.str_(value, "lookahead", ("error", "warn", "off"))
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
    r = Reader("command line")
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


def experiment_hash(exp: Experiment) -> str:
    """Short stable hash of the resolved spec (identifies "the same command" for resume)."""
    text = json.dumps(exp.to_dict(), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _fields_of(cls: type) -> set[str]:
    return {f.name for f in fields(cls)}


def _data(r: Reader, raw: Any) -> DataSpec:
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
        kw["resample"] = _checked(r, "resample", r.str_(m["resample"], "data.resample"))
    if "adjust" in m:
        kw["adjust"] = r.bool_(m["adjust"], "data.adjust")
    if m.get("tz") is not None:
        kw["tz"] = _checked(r, "tz", r.str_(m["tz"], "data.tz"))
    if m.get("periods_per_year") is not None:
        kw["periods_per_year"] = r.int_(m["periods_per_year"], "data.periods_per_year", low=1)
    return DataSpec(**kw)


def _checked(r: Reader, what: str, value: str) -> str:
    """``data.tz`` / ``data.resample`` checked as the loader will use them, naming the key."""
    from data_loaders import check_resample_rule, check_timezone
    from data_loaders.errors import ParameterError

    check = check_timezone if what == "tz" else check_resample_rule
    try:
        return check(value, key=f"data.{what}")
    except ParameterError as exc:
        raise r.err("", str(exc)) from None


def _explore(r: Reader, raw: Any) -> ExploreSection:
    if isinstance(raw, bool):
        return ExploreSection(enabled=raw)
    if isinstance(raw, str):
        return ExploreSection(enabled=True, spec=raw)
    m = r.mapping(raw, "explore")
    r.keys(m, "explore", _fields_of(ExploreSection))
    spec = m.get("spec")
    if spec is not None and not isinstance(spec, str | Mapping):
        raise r.err("explore.spec", f"must be a file path or a mapping, got {short_repr(spec)}")
    enabled = r.bool_(m["enabled"], "explore.enabled") if "enabled" in m else True
    return ExploreSection(enabled=enabled, spec=dict(spec) if isinstance(spec, Mapping) else spec)


def _strategies(r: Reader, raw: Any) -> tuple[StrategySpec, ...]:
    if isinstance(raw, str | Mapping):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise r.err("strategies", f"must be a non-empty list, got {short_repr(raw)}")
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
        layers = {
            k: reader(r, m[k], f"{key}.{k}")
            for k, reader in (("exits", read_exits), ("sizing", read_sizing))
            if m.get(k) is not None
        }
        if m.get("mode") is not None:
            from research.spec.sections import UNIVERSE_MODES

            layers["mode"] = r.str_(m["mode"], f"{key}.mode", UNIVERSE_MODES)
        out.append(
            StrategySpec(
                name=name, label=label, space=copy.deepcopy(space), features=features, **layers
            )
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


def _check_override_shape(r: Reader, ov: Any, key: str) -> None:
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


def _optimizers(r: Reader, raw: Any, key: str) -> tuple[OptimizerSpec, ...]:
    if isinstance(raw, str | Mapping):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise r.err(key, f"must be an optimizer name or a non-empty list, got {short_repr(raw)}")
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


def _objectives(r: Reader, raw: Any, key: str) -> tuple[ObjectiveSpec, ...]:
    if isinstance(raw, str | Mapping):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise r.err(key, f"must be a metric name or a non-empty list, got {short_repr(raw)}")
    out = []
    for i, item in enumerate(raw):
        k = f"{key}[{i}]"
        out.append(_objective(r, item, k))
    metrics = [o.metric for o in out]
    for i, n in enumerate(metrics):
        if metrics.index(n) != i:
            raise r.err(f"{key}[{i}].metric", f"metric {n!r} is an objective twice")
    return tuple(out)


def _objective(r: Reader, item: Any, k: str) -> ObjectiveSpec:
    """One objective: a metric name, ``psr``, an expression, or a mapping of ``metric`` /
    ``expression`` (and its ``name``) with ``direction``."""
    from research.optimize.derived import expression_metric

    if isinstance(item, str):
        is_metric = item in METRICS or item == "psr" or item.isidentifier()
        item = {"metric": item} if is_metric else {"expression": item}
    m = r.mapping(item, k)
    r.keys(m, k, _fields_of(ObjectiveSpec) | {"name"})
    if m.get("expression") is not None:
        text = r.str_(m["expression"], f"{k}.expression")
        if m.get("name") is not None and m.get("metric") is not None:
            raise r.err(k, "name an expression with `name` (or `metric`), not both")
        label = m.get("name") if m.get("name") is not None else m.get("metric")
        name = r.str_(label, f"{k}.name") if label is not None else text.strip()
        expression_metric(text, name, where=f"{r.source}: {k}.expression")
        direction = r.str_(
            m.get("direction", "maximize"), f"{k}.direction", ("maximize", "minimize")
        )
        return ObjectiveSpec(metric=name, direction=direction, expression=text)
    metric = r.str_(m.get("metric", "sharpe_ratio"), f"{k}.metric", (*METRICS, "psr"))
    direction = m.get("direction", DEFAULT_DIRECTIONS.get(metric, "maximize"))
    direction = r.str_(direction, f"{k}.direction", ("maximize", "minimize"))
    return ObjectiveSpec(metric=metric, direction=direction)


def _budget(r: Reader, raw: Any, key: str) -> BudgetSpec:
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = {"n_trials": raw}
    m = r.mapping(raw, key)
    r.keys(m, key, _fields_of(BudgetSpec))
    kw: dict[str, Any] = {}
    if "n_trials" in m:
        kw["n_trials"] = r.int_(m["n_trials"], f"{key}.n_trials", low=1)
    if m.get("timeout") is not None:
        kw["timeout"] = r.float_(m["timeout"], f"{key}.timeout", low=0, low_open=True)
    if m.get("trial_timeout") is not None:
        kw["trial_timeout"] = r.float_(
            m["trial_timeout"], f"{key}.trial_timeout", low=0, low_open=True
        )
    if m.get("pruner") is not None:
        kw["pruner"] = r.str_(m["pruner"], f"{key}.pruner", ("hyperband", "successive_halving"))
    return BudgetSpec(**kw)


def _walk_forward(r: Reader, raw: Any, key: str) -> WalkForwardSpec:
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


def _guardrails(r: Reader, raw: Any, key: str) -> GuardrailSpec:
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
    if m.get("rules") is not None:
        from research.optimize.derived import expression_metric

        rules = [m["rules"]] if isinstance(m["rules"], str) else m["rules"]
        kw["rules"] = r.str_list(rules, f"{key}.rules")
        for i, text in enumerate(kw["rules"]):
            expression_metric(text, f"rule{i + 1}", where=f"{r.source}: {key}.rules[{i}]")
    return GuardrailSpec(**kw)


def _positive_fraction(r: Reader, value: Any, key: str) -> float:
    v = r.float_(value, key)
    if not 0 < v <= 1:
        hint = f" (write {abs(v)} for a {abs(v):.0%} drawdown)" if -1 <= v < 0 else ""
        raise r.err(key, f"must be a positive fraction in (0, 1], got {v}{hint}")
    return v


def _costs(r: Reader, raw: Any, key: str) -> CostSpec:
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
        kw["execution"] = r.str_(m["execution"], f"{key}.execution", EXECUTIONS)
    if "direction" in m:
        kw["direction"] = r.str_(m["direction"], f"{key}.direction", tuple(DIRECTIONS))
    if "init_cash" in m:
        kw["init_cash"] = r.float_(m["init_cash"], f"{key}.init_cash", low=0, low_open=True)
    bounds = {
        "min_fee": {"low": 0},
        "spread_bps": {"low": 0, "high": 5000},
        "borrow_rate": {"low": 0, "high": 10},
        "cash_rate": {"low": 0, "high": 10},
        "debit_rate": {"low": 0, "high": 10},
        "max_leverage": {"low": 1, "high": 100},
        "maintenance_margin": {"low": 0, "high": 1},
        "participation": {"low": 0, "high": 1},
    }
    for k, kwargs in bounds.items():
        if k in m:
            kw[k] = r.float_(m[k], f"{key}.{k}", **kwargs)
    if "sell_fees" in m:
        kw["sell_fees"] = r.opt(r.float_, m["sell_fees"], f"{key}.sell_fees", low=0, high=0.5)
    if "notional" in m:
        kw["notional"] = r.opt(r.float_, m["notional"], f"{key}.notional", low=0, low_open=True)
    if "whole_units" in m:
        kw["whole_units"] = r.bool_(m["whole_units"], f"{key}.whole_units")
    return CostSpec(**kw)


def _gates(r: Reader, raw: Any, key: str) -> GateSpec:
    m = r.mapping(raw or {}, key)
    r.keys(m, key, _fields_of(GateSpec))
    kw: dict[str, Any] = {}
    for k in ("min_dsr", "max_pbo", "max_spa_pvalue", "min_breadth"):
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
        kw["dsr_trials"] = r.str_(m["dsr_trials"], f"{key}.dsr_trials", DSR_TRIALS)
    return GateSpec(**kw)


def _ranking(r: Reader, raw: Any, key: str) -> RankingSpec:
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


def _tracking(r: Reader, raw: Any, key: str) -> TrackingSpec:
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


def _report(r: Reader, raw: Any, key: str) -> ReportSpec:
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


def _nightly(r: Reader, raw: Any, key: str) -> NightlySpec:
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
    if m.get("timeout") is not None:
        kw["timeout"] = r.float_(m["timeout"], f"{key}.timeout", low=0, low_open=True)
    if "refit" in m:
        kw["refit"] = r.bool_(m["refit"], f"{key}.refit")
    if m.get("notify") is not None:
        kw["notify"] = r.str_(m["notify"], f"{key}.notify")
    return NightlySpec(**kw)


def _universe(r: Reader, raw: Any, key: str) -> UniverseSpec:
    from backtest.portfolio import SCHEDULES
    from research.spec.sections import AGGREGATES, UNIVERSE_MODES
    from strategies.allocation import ALLOCATIONS

    if isinstance(raw, str):
        raw = {"mode": raw}
    m = r.mapping(raw or {}, key)
    r.keys(m, key, _fields_of(UniverseSpec))
    kw: dict[str, Any] = {}
    if m.get("mode") is not None:
        kw["mode"] = r.str_(m["mode"], f"{key}.mode", UNIVERSE_MODES)
    if "aggregate" in m:
        kw["aggregate"] = r.str_(m["aggregate"], f"{key}.aggregate", AGGREGATES)
    if "rebalance" in m:
        kw["rebalance"] = r.str_(m["rebalance"], f"{key}.rebalance", SCHEDULES)
    for k in ("max_gross", "max_net"):
        if k in m:
            kw[k] = r.float_(m[k], f"{key}.{k}", low=0, low_open=True)
    if "allocation" in m:
        kw["allocation"] = r.str_(m["allocation"], f"{key}.allocation", ALLOCATIONS)
    return UniverseSpec(**kw)


_SECTION_READERS = {
    "exits": read_exits,
    "sizing": read_sizing,
    "budget": _budget,
    "walk_forward": _walk_forward,
    "guardrails": _guardrails,
    "costs": _costs,
    "gates": _gates,
    "ranking": _ranking,
    "tracking": _tracking,
    "report": _report,
    "nightly": _nightly,
    "universe": _universe,
}


def _cross_checks(r: Reader, exp: Experiment) -> None:
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
