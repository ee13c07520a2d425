"""The settings sections of a spec (``data``, ``explore``, ``budget``, ``walk_forward``,
``guardrails``, ``costs``, ``gates``, ``ranking``, ``tracking``, ``report``, ``nightly``,
``universe``): one rule table per section, read by :meth:`Reader.section`
(:data:`SECTION_READERS` maps a top-level key to its reader).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from backtest.execution import DIRECTIONS, EXECUTIONS
from research.optimize.objectives import METRICS
from research.spec.layers import read_exits, read_sizing
from research.spec.reader import Reader, rule, short_repr
from research.spec.sections import (
    DSR_TRIALS,
    BudgetSpec,
    CostSpec,
    DataSpec,
    ExploreSection,
    GateSpec,
    GuardrailSpec,
    NightlySpec,
    RankingSpec,
    ReportSpec,
    TrackingSpec,
    UniverseSpec,
    WalkForwardSpec,
)

__all__ = ["read_data", "read_explore", "SECTION_READERS"]

_TRACKERS = ("none", "mlflow")
_DATA = {
    "symbols": rule("str_list", "skip"),
    "start": rule("date", "skip"),
    "end": rule("date", "skip"),
    "resample": rule("str_", "skip"),
    "adjust": rule("bool_"),
    "tz": rule("str_", "skip"),
    "periods_per_year": rule("int_", "skip", low=1),
}


def read_data(r: Reader, raw: Any) -> DataSpec:
    if isinstance(raw, str):
        raw = {"source": raw}
    m = r.mapping(raw, "data")
    r.keys(m, "data", DataSpec)
    if "source" not in m:
        raise r.err("data.source", "is required (sample:NAME, a file, a folder or yfinance:SYM)")
    kw: dict[str, Any] = {"source": r.str_(m["source"], "data.source"), **r.read(m, "data", _DATA)}
    if kw.get("start") and kw.get("end"):
        import pandas as pd

        if pd.Timestamp(kw["start"]) >= pd.Timestamp(kw["end"]):
            raise r.err(
                "data.end", f"must be after data.start, got start={kw['start']}, end={kw['end']}"
            )
    for what in ("resample", "tz"):
        if kw.get(what) is not None:
            kw[what] = _checked(r, what, kw[what])
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


def read_explore(r: Reader, raw: Any) -> ExploreSection:
    if isinstance(raw, bool):
        return ExploreSection(enabled=raw)
    if isinstance(raw, str):
        return ExploreSection(enabled=True, spec=raw)
    m = r.mapping(raw, "explore")
    r.keys(m, "explore", ExploreSection)
    spec = m.get("spec")
    if spec is not None and not isinstance(spec, str | Mapping):
        raise r.err("explore.spec", f"must be a file path or a mapping, got {short_repr(spec)}")
    enabled = r.bool_(m["enabled"], "explore.enabled") if "enabled" in m else True
    return ExploreSection(enabled=enabled, spec=dict(spec) if isinstance(spec, Mapping) else spec)


_BUDGET = {
    "n_trials": rule("int_", low=1),
    "timeout": rule("float_", "skip", low=0, low_open=True),
    "trial_timeout": rule("float_", "skip", low=0, low_open=True),
    "pruner": rule("str_", "skip", choices=("hyperband", "successive_halving")),
}
_WALK_FORWARD = {
    "train": rule("size"),
    "test": rule("size"),
    "step": rule("size", "skip"),
    "anchored": rule("bool_"),
    "purge": rule("int_", low=0),
    "embargo": rule("int_", low=0),
}
_GUARDRAILS = {
    "min_trades": rule("int_", "skip", low=0),
    "max_drawdown": rule("fraction", "skip"),
    "max_turnover": rule("float_", "skip", low=0, low_open=True),
}
_RATE = {"low": 0, "high": 10}
_COSTS = {
    "fees": rule("float_", low=0, high=0.5),
    "fixed_fees": rule("float_", low=0),
    "slippage_bps": rule("float_", low=0, high=5000),
    "execution": rule("str_", choices=EXECUTIONS),
    "direction": rule("str_", choices=tuple(DIRECTIONS)),
    "init_cash": rule("float_", low=0, low_open=True),
    "min_fee": rule("float_", low=0),
    "spread_bps": rule("float_", low=0, high=5000),
    "borrow_rate": rule("float_", **_RATE),
    "cash_rate": rule("float_", **_RATE),
    "debit_rate": rule("float_", **_RATE),
    "max_leverage": rule("float_", low=1, high=100),
    "maintenance_margin": rule("float_", low=0, high=1),
    "participation": rule("float_", low=0, high=1),
    "sell_fees": rule("float_", "keep", low=0, high=0.5),
    "notional": rule("float_", "keep", low=0, low_open=True),
    "whole_units": rule("bool_"),
}
_GATES = {
    **{
        k: rule("float_", "keep", low=0, high=1)
        for k in ("min_dsr", "max_pbo", "max_spa_pvalue", "min_breadth")
    },
    "min_stability": rule("float_", "keep"),
    "min_wfe": rule("float_", "keep"),
    "min_trades": rule("int_", "keep", low=0),
    "max_drawdown": rule("fraction", "keep"),
    "dsr_trials": rule("str_", choices=DSR_TRIALS),
}
_RANKING = {"metric": rule("str_", choices=METRICS), "top_k": rule("int_", low=1)}
_TRACKING = {
    "backend": rule("str_", choices=_TRACKERS),
    "uri": rule("str_", "skip"),
    "experiment": rule("str_", "skip"),
}
_REPORT = {
    "enabled": rule("bool_"),
    "title": rule("str_", "skip"),
    "top_n": rule("int_", low=1),
    "max_trades": rule("int_", low=0),
}
_NIGHTLY = {
    "n_trials": rule("int_", "skip", low=1),
    "window": rule("size", "skip"),
    "min_improvement": rule("float_", low=0),
    "warm_start": rule("int_", low=0),
    "timeout": rule("float_", "skip", low=0, low_open=True),
    "refit": rule("bool_"),
    "notify": rule("str_", "skip"),
}


def _budget(r: Reader, raw: Any, key: str) -> BudgetSpec:
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = {"n_trials": raw}
    return r.section(raw, key, BudgetSpec, _BUDGET)


def _walk_forward(r: Reader, raw: Any, key: str) -> WalkForwardSpec:
    return r.section(raw, key, WalkForwardSpec, _WALK_FORWARD)


def _guardrails(r: Reader, raw: Any, key: str) -> GuardrailSpec:
    spec = r.section(raw, key, GuardrailSpec, _GUARDRAILS, nullable=True)
    rules = (raw or {}).get("rules")
    if rules is None:
        return spec
    from research.optimize.derived import expression_metric

    texts = r.str_list([rules] if isinstance(rules, str) else rules, f"{key}.rules")
    for i, text in enumerate(texts):
        expression_metric(text, f"rule{i + 1}", where=f"{r.source}: {key}.rules[{i}]")
    return replace(spec, rules=texts)


def _costs(r: Reader, raw: Any, key: str) -> CostSpec:
    return r.section(raw, key, CostSpec, _COSTS)


def _gates(r: Reader, raw: Any, key: str) -> GateSpec:
    return r.section(raw, key, GateSpec, _GATES, nullable=True)


def _ranking(r: Reader, raw: Any, key: str) -> RankingSpec:
    return r.section({"metric": raw} if isinstance(raw, str) else raw, key, RankingSpec, _RANKING)


def _tracking(r: Reader, raw: Any, key: str) -> TrackingSpec:
    if isinstance(raw, str) or raw is None:
        raw = {"backend": raw}
    if isinstance(raw, Mapping) and "backend" in raw and not raw["backend"]:
        raw = {**raw, "backend": "none"}  # `backend:` left empty means no tracking
    return r.section(raw, key, TrackingSpec, _TRACKING)


def _report(r: Reader, raw: Any, key: str) -> ReportSpec:
    return r.section({"enabled": raw} if isinstance(raw, bool) else raw, key, ReportSpec, _REPORT)


def _nightly(r: Reader, raw: Any, key: str) -> NightlySpec:
    return r.section(raw, key, NightlySpec, _NIGHTLY, nullable=True)


def _universe(r: Reader, raw: Any, key: str) -> UniverseSpec:
    from backtest.portfolio import SCHEDULES
    from research.spec.sections import AGGREGATES, UNIVERSE_MODES
    from strategies.allocation import ALLOCATIONS

    rules = {
        "mode": rule("str_", "skip", choices=UNIVERSE_MODES),
        "aggregate": rule("str_", choices=AGGREGATES),
        "rebalance": rule("str_", choices=SCHEDULES),
        "max_gross": rule("float_", low=0, low_open=True),
        "max_net": rule("float_", low=0, low_open=True),
        "allocation": rule("str_", choices=ALLOCATIONS),
    }
    raw = {"mode": raw} if isinstance(raw, str) else raw
    return r.section(raw, key, UniverseSpec, rules, nullable=True)


SECTION_READERS = {
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
