"""Moved to :mod:`research.spec` (sections, parse, validate, build); this module re-exports the
old names for one release. ``ExploreSpec`` is now :class:`research.spec.ExploreSection` (the
exploration's own spec keeps the name :class:`research.explore.ExploreSpec`) and ``spec_hash``
is :func:`research.spec.experiment_hash`."""

from research.optimize.objectives import DEFAULT_DIRECTIONS, METRICS
from research.spec import (
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
    WalkForwardSpec,
    apply_overrides,
    default_experiment_dict,
    experiment_hash,
    load_experiment,
    parse_experiment,
    resolve_strategy,
    validate_experiment,
)

ExploreSpec = ExploreSection  # old name (one release)
spec_hash = experiment_hash  # old name (one release)

__all__ = [
    "Experiment",
    "DataSpec",
    "ExploreSection",
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
    "experiment_hash",
]
