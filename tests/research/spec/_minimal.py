"""The smallest valid spec, for the spec tests."""

from __future__ import annotations

from research.spec import parse_experiment

MINIMAL = {"name": "demo", "data": {"source": "sample:sp500"}, "strategies": ["sma_cross"]}


def minimal_experiment(**changes):
    """:data:`MINIMAL` with top-level keys replaced, parsed as if read from ``exp.yaml``."""
    return parse_experiment({**MINIMAL, **changes}, source="exp.yaml")
