"""Moved to :mod:`research.judge.importance` (this path keeps old imports working)."""

from research.judge.importance import *  # noqa: F403
from research.judge.importance import __all__  # noqa: F401
