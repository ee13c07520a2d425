"""Moved to :mod:`research.overfitting.stability` (its helpers are public there:
``resolve_space``, ``step_info``, ``trial_params``). Old names kept for one release."""

from research.overfitting import stability as _stability
from research.overfitting.stability import *  # noqa: F403 - every public name

_resolve_space = _stability.resolve_space
_step_info = _stability.step_info
_trial_params = _stability.trial_params

__all__ = list(_stability.__all__)
