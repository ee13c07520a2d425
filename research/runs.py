"""Moved to :mod:`research.run.store` and :mod:`research.run.compare` (old imports keep working)."""

from research.run import compare as _compare
from research.run import store as _store
from research.run.compare import *  # noqa: F403 - the old module re-exports both
from research.run.store import *  # noqa: F403

__all__ = [*_store.__all__, *_compare.__all__]
