"""Moved to :mod:`research.judge` (gates in ``judge.gates``, ranking in ``judge.leaderboard``).

``Candidate`` is the old name of :class:`research.judge.LeaderboardEntry`. Note the sign:
``Gates.max_drawdown`` is a positive fraction now (0.5 allows a 50 % drawdown), as in the spec.
"""

from research.judge.gates import Gates
from research.judge.leaderboard import Leaderboard, LeaderboardEntry, build_leaderboard

Candidate = LeaderboardEntry

__all__ = ["Candidate", "Gates", "Leaderboard", "LeaderboardEntry", "build_leaderboard"]
