"""Judging a run: "is it a real edge?" (overfitting checks, gates, leaderboard, importance).

The run's searches go in (:class:`SearchOutcome`), a :class:`Judgement` comes out::

    judge(searches, setup, gates=..., metric=..., direction=..., top_k=..., seed=...)
        -> checks (honest trial count, PBO, effective N, stability, SPA vs buy-and-hold)
        -> leaderboard (rank out of sample, apply the gates, name the champion)

Modules: ``reevaluate`` (re-running parameter sets out of sample), ``checks`` (one function per
check), ``gates`` (the one gate definition), ``leaderboard``, ``judge``, ``importance`` (the
regression / fANOVA / narrowing library) and ``importance_summary`` (a run's importance per
strategy).
"""

from research.judge.checks import stability_grid
from research.judge.gates import GATES, Gates, evaluate_gates, gates_from_spec
from research.judge.importance_summary import importance_by_strategy
from research.judge.judge import Judgement, judge
from research.judge.leaderboard import Leaderboard, LeaderboardEntry, build_leaderboard
from research.judge.reevaluate import SearchOutcome, evaluate_sets, window_backtest

__all__ = [
    "GATES",
    "Gates",
    "Judgement",
    "Leaderboard",
    "LeaderboardEntry",
    "SearchOutcome",
    "build_leaderboard",
    "evaluate_gates",
    "evaluate_sets",
    "gates_from_spec",
    "importance_by_strategy",
    "judge",
    "stability_grid",
    "window_backtest",
]
