"""Fixtures shared by the run tests."""

from __future__ import annotations

import pytest

from research.spec import parse_experiment


@pytest.fixture(scope="module")
def exp(request):
    """The test module's ``RAW`` spec, parsed once per module."""
    return parse_experiment(request.module.RAW)
