"""Random search: independent uniform (or log-uniform) draws from the declared space.

The baseline every smarter optimizer must beat at equal budget.
"""

from __future__ import annotations

from typing import Any

from research.optimize._optuna import OptunaOptimizer

__all__ = ["RandomOptimizer"]


class RandomOptimizer(OptunaOptimizer):
    """Optuna ``RandomSampler`` (no options)."""

    name = "random"
    OPTIONS: dict[str, Any] = {}
    native_constraints = False

    def make_sampler(self, seed: int) -> Any:
        import optuna

        return optuna.samplers.RandomSampler(seed=seed)
