"""Moved to :mod:`research.spec` (sections, parse, validate, build); this module re-exports the
old names for one release. ``ExploreSpec`` is now :class:`research.spec.ExploreSection` (the
exploration's own spec keeps the name :class:`research.explore.ExploreSpec`) and ``spec_hash``
is :func:`research.spec.experiment_hash`."""

from research import spec as _spec
from research.optimize.objectives import DEFAULT_DIRECTIONS, METRICS
from research.spec import *  # noqa: F403 - every public name of research.spec

ExploreSpec = _spec.ExploreSection  # old name (one release)
spec_hash = _spec.experiment_hash  # old name (one release)

__all__ = [*_spec.__all__, "METRICS", "DEFAULT_DIRECTIONS"]
