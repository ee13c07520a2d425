"""One walk-forward efficiency ratio, two entry points; the package layout keeps old imports."""

from __future__ import annotations

import math

import pytest

from data_loaders.errors import DataValidationError
from research.overfitting import sharpe_efficiency, walk_forward_efficiency


def test_sharpe_efficiency_is_the_ratio_when_in_sample_is_positive():
    assert sharpe_efficiency(0.6, 1.2) == 0.5
    assert sharpe_efficiency(-0.3, 1.5) == pytest.approx(-0.2)
    assert math.isnan(sharpe_efficiency(0.6, 0.0))
    assert math.isnan(sharpe_efficiency(0.6, -1.0))
    assert math.isnan(sharpe_efficiency(float("nan"), 1.0))


def test_walk_forward_efficiency_is_mean_oos_over_mean_is():
    is_ = [1.0, 2.0, 3.0]
    oos = [0.5, 0.0, 1.0]
    assert walk_forward_efficiency(is_, oos) == pytest.approx((1.5 / 3) / (6 / 3))
    assert walk_forward_efficiency(is_, oos) == sharpe_efficiency(0.5, 2.0)
    assert math.isnan(walk_forward_efficiency([-1.0, 0.5], [1.0, 1.0]))
    with pytest.raises(DataValidationError, match="one value per fold"):
        walk_forward_efficiency([1.0, 2.0], [1.0])


def test_the_search_uses_the_same_ratio():
    from research.optimize.results import efficiency

    assert efficiency is sharpe_efficiency


def test_stability_helpers_are_public_and_the_old_module_still_imports():
    from research import _stability as old
    from research.overfitting import stability

    assert old._resolve_space is stability.resolve_space
    assert {"resolve_space", "step_info", "trial_params"} <= set(stability.__all__)
