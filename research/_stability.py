"""Moved to :mod:`research.overfitting.stability` (its helpers are public there:
``resolve_space``, ``step_info``, ``trial_params``). Old names kept for one release."""

from research.overfitting.stability import (  # noqa: F401
    StabilityResult,
    neighbourhood,
    parameter_stability,
    parameter_stability_from_trials,
    resolve_space,
    stability_heatmap,
    step_info,
    trial_params,
)

_resolve_space = resolve_space
_step_info = step_info
_trial_params = trial_params

__all__ = [
    "StabilityResult",
    "neighbourhood",
    "parameter_stability",
    "parameter_stability_from_trials",
    "stability_heatmap",
    "resolve_space",
    "step_info",
    "trial_params",
]
