"""``judge``: from walk-forward searches to a judged leaderboard ("is it a real edge?").

**Candidates.** One per search (strategy x optimizer): the *walk-forward* candidate, whose
parameters are re-picked on each fold's training window and judged on the next test window only.
Its out-of-sample returns are the stitched test windows, so no candidate is ever scored on bars
its parameters were chosen on. The parameters shown (and traded next) are the last fold's pick;
a search whose last fold found no feasible trial has none and fails the ``tradeable`` gate.

**Checks per candidate** (:mod:`research.judge.checks`): DSR with the trial count of
``gates.dsr_trials`` (:mod:`research.judge.trial_count`: by default the candidates compared out
of sample plus the earlier looks at the same data), PBO by
CSCV on the re-evaluated top trials, the effective number of trials, parameter stability of the
last pick, walk-forward efficiency, Hansen's SPA p-value against buy-and-hold. The gates
(:mod:`research.judge.gates`) decide who may be champion; :mod:`research.judge.leaderboard`
ranks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from backtest.execution import Execution
from data_loaders.bars import bars_index
from research._json import finite
from research._timing import stage
from research.judge.checks import (
    dsr_trial_count,
    effective_trials,
    honest_trial_sharpes,
    oos_span,
    pbo_by_search,
    spa_against_benchmark,
    stability_by_search,
)
from research.judge.gates import Gates
from research.judge.leaderboard import Leaderboard, LeaderboardEntry, build_leaderboard
from research.judge.reevaluate import SearchOutcome, buy_and_hold
from research.judge.trial_count import OOSBudget, TrialCount
from research.judge.universe import benchmark_bars, universe_checks
from research.overfitting import EffectiveTrials

__all__ = ["Judgement", "judge", "ranking_score"]


@dataclass(frozen=True, eq=False)
class Judgement:
    """What :func:`judge` hands to the rest of the run.

    Attributes:
        leaderboard: the ranked, gated candidates (``leaderboard.table`` is ``leaderboard.csv``).
        searches: the judged searches, by key.
        trials_sharpes: per-period in-sample Sharpe ratios of every trial (None: no record).
        effective: effective number of trials of the re-evaluated top trials (or None).
        pbo: ``{key: PBO entry}`` (see :func:`research.judge.checks.pbo_by_search`).
        stability: ``{key: StabilityResult | Exception}``.
        spa_family: SPA of all candidates together (or a note, or None).
        oos_returns: stitched out-of-sample returns, one column per candidate.
        benchmark: buy-and-hold returns over the same span.
        span: ``(start, stop)`` bar positions of the out-of-sample span on the benchmark's
            bars (:func:`research.judge.universe.benchmark_bars`; a universe's union calendar).
        span_times: the first and last timestamps of that span.
        trial_count: the deflated Sharpe ratio's ``N`` and ``V`` (``gates.dsr_trials``), or
            None when the trial record was used instead.
        budget: the earlier looks at the same out-of-sample data (None: not counted).
        universe: per-symbol out-of-sample Sharpe and breadth of a universe run
            (:func:`research.judge.universe.universe_checks`; empty otherwise).
    """

    leaderboard: Leaderboard
    searches: Mapping[str, SearchOutcome]
    trials_sharpes: np.ndarray | None
    effective: EffectiveTrials | None
    pbo: Mapping[str, Mapping[str, Any]]
    stability: Mapping[str, Any]
    spa_family: Mapping[str, Any] | None
    oos_returns: pd.DataFrame
    benchmark: pd.Series
    span: tuple[int, int]
    span_times: tuple[Any, Any] = (None, None)
    trial_count: TrialCount | None = None
    budget: OOSBudget | None = None
    universe: Mapping[str, Any] = field(default_factory=dict)

    @property
    def champion_key(self) -> str | None:
        """The champion's candidate key, or None when no candidate passes every gate."""
        c = self.leaderboard.champion
        return None if c is None else c.name

    @property
    def focus_key(self) -> str | None:
        """The champion, else the top of the leaderboard (what the report zooms into)."""
        names = self.leaderboard.table["name"]
        return self.champion_key or (str(names.iloc[0]) if len(names) else None)

    @property
    def focus(self) -> SearchOutcome | None:
        """The search of :attr:`focus_key`, or None for an empty leaderboard."""
        key = self.focus_key
        return None if key is None else self.searches[key]


def judge(
    searches: Sequence[SearchOutcome],
    execution: Execution,
    *,
    gates: Gates,
    metric: str,
    direction: str,
    top_k: int,
    seed: int,
    budget: OOSBudget | None = None,
) -> Judgement:
    """Run every check on the searches and rank their walk-forward candidates.

    Args:
        searches: the run's searches (at least one; they share their folds).
        execution: costs, fills and bars per year of every re-evaluation.
        gates: the thresholds a champion must meet.
        metric, direction: the ranking metric and whether higher or lower is better.
        top_k: distinct trials per search re-evaluated for the PBO matrix.
        seed: seed of every random step (PBO points, stability neighbours, SPA bootstrap).
        budget: earlier looks at the same out-of-sample data, added to the DSR's trial count.
    """
    ppy = execution.periods_per_year
    bench_bars = benchmark_bars(searches)
    index = bars_index(bench_bars)
    span = oos_span(searches, index)
    sharpes = honest_trial_sharpes(searches, ppy)
    with stage("judge/pbo"):
        pbo, matrices = pbo_by_search(searches, execution, top_k=top_k, seed=seed)
        effective = effective_trials(matrices)
    with stage("judge/stability"):
        stability = stability_by_search(
            searches, execution, metric=metric, direction=direction, seed=seed
        )
    with stage("judge/spa"):
        oos = pd.DataFrame({s.key: s.result.oos_returns for s in searches}).fillna(0.0)
        bench = buy_and_hold(execution, bench_bars, span)
        bench = bench.reindex(oos.index).fillna(0.0)
        spa_family, spa_each = spa_against_benchmark(oos, bench, seed=seed)
    with stage("judge/dsr_trials"):
        prior = 0 if budget is None else budget.n_candidates
        count = dsr_trial_count(oos, sharpes, gates.dsr_trials, prior)
    with stage("judge/universe"):
        uni = universe_checks(searches, execution)
        breadth = uni.get("breadth", {})
    with stage("judge/leaderboard"):
        entries = [
            _entry(
                s, sharpes, pbo.get(s.key) or {}, stability.get(s.key), spa_each.get(s.key), count
            )
            for s in searches
        ]
        for e in entries:
            e.breadth = breadth.get(e.name)
        board = build_leaderboard(
            entries,
            gates,
            metric=ranking_score(metric, direction, ppy),
            periods_per_year=ppy,
            pbo_partitions=16,
        )
    return Judgement(
        leaderboard=board,
        searches={s.key: s for s in searches},
        trials_sharpes=sharpes,
        effective=effective,
        pbo=pbo,
        stability=stability,
        spa_family=spa_family,
        oos_returns=oos,
        benchmark=bench,
        span=span,
        span_times=(index[span[0]], index[span[1] - 1]),
        trial_count=count,
        budget=budget,
        universe=uni,
    )


def _entry(
    s: SearchOutcome,
    sharpes: np.ndarray | None,
    pbo: Mapping[str, Any],
    stability: Any,
    spa_pvalue: float | None,
    count: TrialCount | None,
) -> LeaderboardEntry:
    r = s.result
    stab = None if stability is None or isinstance(stability, Exception) else stability.score
    return LeaderboardEntry(
        name=s.key,
        strategy=s.label,
        params=r.final_params or {},
        oos_returns=r.oos_returns.fillna(0.0),
        n_trades=sum(int(f.oos_metrics.get("n_trades", 0) or 0) for f in r.folds),
        trials_sharpes=sharpes,
        pbo=pbo.get("pbo"),
        stability=finite(stab),
        wfe=finite(r.wfe),
        spa_pvalue=spa_pvalue,
        positions=r.oos_positions,
        tradeable=r.final_params is not None,
        dsr_count=None if count is None else (count.n_trials, count.sharpe_variance),
    )


def ranking_score(metric: str, direction: str, periods_per_year: float) -> str | Callable:
    """The leaderboard's ``metric`` argument: the name when higher is better, else a function
    returning the negated metric (the leaderboard ranks higher first)."""
    if direction != "minimize":
        return metric
    from backtest import metrics as bm

    fn = getattr(bm, metric)

    def score(returns: pd.Series) -> float:
        return -float(fn(returns, periods_per_year=periods_per_year))

    score.__name__ = f"neg_{metric}"
    return score
