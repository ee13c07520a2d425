"""Moved to :mod:`research.run.nightly` (this path keeps old imports working)."""

from research.run.nightly import *  # noqa: F403
from research.run.nightly import __all__  # noqa: F401
