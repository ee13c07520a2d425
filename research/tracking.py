"""Moved to :mod:`research.run.tracking` (this path keeps old imports working)."""

from research.run.tracking import *  # noqa: F403
from research.run.tracking import __all__  # noqa: F401
