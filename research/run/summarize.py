"""From the stages' outputs to :class:`~research.run.results.RunResults` (what results.json holds).

:func:`build_results` is the one place the run's typed hand-offs (plan, searches, judgement,
importance, exploration) become the results schema; every helper here builds one section.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from backtest.metric_table import names_of
from backtest.metrics import compute_metrics
from data_loaders.bars import bars_index
from research._json import finite, to_jsonable
from research._version import code_version
from research.judge import Judgement, SearchOutcome
from research.judge.explain import explain_row
from research.judge.gates import Gates
from research.overfitting import expected_max_sharpe, return_moments
from research.run.plan import RunPlan
from research.run.results import (
    Benchmark,
    CandidateStats,
    GateOutcome,
    LeaderboardRow,
    RunResults,
    SearchFold,
    SearchSummary,
    Span,
    TrialCounts,
    Verdict,
)
from research.run.stages import Exploration

__all__ = [
    "failure_reasons",
    "build_results",
    "leaderboard_rows",
    "universe_section",
    "search_summary",
    "overfitting_section",
    "dsr_trials_section",
    "pareto_section",
    "explore_summary",
]

#: the out-of-sample metrics a leaderboard row of results.json keeps: the running-sum metrics,
#: the trade counts and ratios (not the expectancy, a cash amount) and exposure / turnover
ROW_METRICS = (
    *names_of("returns"),
    *(m for m in names_of("trades") if m != "expectancy"),
    *names_of("positions"),
)


def build_results(
    exp: Any,
    run_id: str,
    plan: RunPlan,
    bars: Any,
    searches: Sequence[SearchOutcome],
    judgement: Judgement,
    *,
    importance: Mapping[str, Any],
    grid: Mapping[str, Any] | None,
    exploration: Mapping[str, Any] | None,
    trades: pd.DataFrame | None,
    storage: str | None,
    timings: Mapping[str, float],
) -> RunResults:
    """The :class:`RunResults` of a finished run."""
    index = bars_index(bars)
    rows = leaderboard_rows(judgement, plan.gates, plan.execution.periods_per_year)
    champion = next((r for r in rows if r.candidate == judgement.champion_key), None)
    span = judgement.span
    first, last = judgement.span_times
    if first is None:
        first, last = index[span[0]], index[span[1] - 1]
    bench = judgement.benchmark
    ppy = plan.execution.periods_per_year
    bench_metrics = compute_metrics(bench.to_numpy(), periods_per_year=ppy) if len(bench) else {}
    return RunResults(
        experiment=exp.name,
        description=exp.description,
        run_id=run_id,
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        seed=exp.seed,
        code_version=code_version(),
        data=plan.data,
        ranking_metric=exp.ranking.metric,
        ranking_direction=plan.direction,
        objectives=plan.objectives,
        gates=exp.to_dict()["gates"],
        verdict=Verdict(
            passed=champion is not None,
            message=judgement.leaderboard.verdict,
            champion=champion,
            best=rows[0] if rows else None,
        ),
        leaderboard=tuple(rows),
        benchmark=Benchmark("buy and hold", _metrics(bench_metrics)),
        oos_span=Span(
            start=first.isoformat(),
            end=last.isoformat(),
            n_bars=int(span[1] - span[0]),
        ),
        folds=plan.fold_windows(index),
        searches=tuple(search_summary(s) for s in searches),
        overfitting=overfitting_section(judgement, grid),
        importance=to_jsonable(dict(importance)),
        pareto=pareto_section(searches) if len(plan.objectives) > 1 else None,
        explore=to_jsonable(exploration),
        universe=universe_section(judgement, exp.ranking.metric),
        champion_trades=None if trades is None else int(len(trades)),
        storage=storage,
        timings=dict(timings),
    )


def universe_section(judgement: Judgement, metric: str) -> Any:
    """results.json's ``universe``: per group of a universe run, the symbol x fold OOS Sharpe,
    each symbol's OOS Sharpe, the breadth, the book notes, and the summary across symbols
    (rows that pass every gate, median OOS ``metric`` of the rows); None outside universe runs."""
    groups = judgement.universe.get("groups")
    if not groups:
        return None
    table = judgement.leaderboard.table.set_index("name")
    out = []
    for g in groups:
        rows = table.loc[[k for k in g["keys"] if k in table.index]]
        values = rows[metric].astype(float) if metric in rows else pd.Series(dtype=float)
        out.append(
            {
                **{k: v for k, v in g.items() if k != "keys"},
                "candidates": list(g["keys"]),
                "n_symbols": len(g["symbols"]),
                "n_pass": int(rows["passed"].sum()) if "passed" in rows else 0,
                "median_oos": float(values.median()) if len(values) else None,
                "metric": metric,
            }
        )
    return to_jsonable({"groups": out})


def leaderboard_rows(
    judgement: Judgement, gates: Gates, periods_per_year: float = 252.0
) -> list[LeaderboardRow]:
    """The leaderboard as results.json rows (table order), gates in :data:`GATES` convention,
    each failed gate explained in one sentence (Sharpe ratios annualised by
    ``periods_per_year``)."""
    rows = []
    for rec in judgement.leaderboard.table.to_dict("records"):
        s = judgement.searches[rec["name"]]
        stab = judgement.stability.get(s.key)
        rows.append(
            LeaderboardRow(
                rank=int(rec["rank"]),
                candidate=s.key,
                strategy=s.label,
                strategy_ref=s.ref,
                optimizer=s.optimizer,
                kind="walk-forward",
                params=to_jsonable(s.result.final_params or {}),
                fold_params=tuple(to_jsonable(f.best_params) for f in s.result.folds),
                features_mode=to_jsonable(s.features_mode),
                oos_metrics={k: finite(rec.get(k)) for k in ROW_METRICS if k in rec},
                score=finite(rec.get("score")),
                stats=CandidateStats(
                    **{f: finite(rec.get(f)) for f in CandidateStats.__dataclass_fields__}
                ),
                stability_note=str(stab) if isinstance(stab, Exception) else None,
                gates={
                    rule.name: GateOutcome(
                        value=finite(rule.value_of(rec)),
                        threshold=threshold,
                        passed=bool(rec.get(f"gate_{rule.name}")),
                    )
                    for rule, threshold in gates.enabled()
                },
                passed=bool(rec["passed"]),
                failed_gates=rec.get("failed_gates") or "",
                notes="; ".join(n for n in (rec.get("notes"), closeout_note(s)) if n),
                explanations=_explanations(rec, judgement, gates, periods_per_year),
            )
        )
    return rows


def failure_reasons(trials: pd.DataFrame) -> list[tuple[str, int]]:
    """``[(reason, count)]`` of the failed trials (state ``fail``), most common first; a
    reason is the first line of the trial's recorded error."""
    if not len(trials) or "state" not in trials:
        return []
    failed = trials[trials["state"] == "fail"]
    reasons = failed.get("reason", pd.Series("", index=failed.index)).fillna("").astype(str)
    first = reasons.map(lambda r: r.strip().splitlines()[0] if r.strip() else "no reason given")
    counts = first.value_counts(sort=True)
    return [(str(m), int(n)) for m, n in counts.items()]


def closeout_note(s: SearchOutcome) -> str:
    """A note naming each test window whose book was closed out (equity <= 0 at a close:
    ``liquidated_at`` of :func:`backtest.evaluate_batch`), empty when none was."""
    index = bars_index(s.bars)
    parts = []
    for f in s.result.folds:
        bar = finite((f.oos_metrics or {}).get("liquidated_at"))
        if bar is not None and 0 <= int(bar) < len(index):
            parts.append(f"fold {f.fold} at {index[int(bar)].date()}")
    if not parts:
        return ""
    return "book closed out (equity <= 0; flat afterwards) in " + ", ".join(parts)


def _explanations(
    rec: Mapping[str, Any], judgement: Judgement, gates: Gates, periods_per_year: float
) -> tuple[str, ...]:
    """One sentence per failed gate of a leaderboard record (:func:`explain_row`)."""
    if rec["passed"]:
        return ()
    s = judgement.searches[rec["name"]]
    moments = return_moments(judgement.oos_returns[s.key].to_numpy())
    count = judgement.trial_count
    return tuple(
        explain_row(
            rec,
            gates,
            n_obs=int(moments["n_obs"]),
            skew=float(moments["skew"]) if math.isfinite(moments["skew"]) else 0.0,
            periods_per_year=periods_per_year,
            n_prior=0 if count is None else count.n_prior,
            tradeable=s.result.final_params is not None,
        )
    )


def search_summary(s: SearchOutcome) -> SearchSummary:
    """The ``searches[i]`` entry of results.json."""
    r = s.result
    t = r.trials
    states = t["state"] if len(t) else pd.Series(dtype=object)
    return SearchSummary(
        key=s.key,
        strategy=s.label,
        strategy_ref=s.ref,
        optimizer=s.optimizer,
        final_params=to_jsonable(r.final_params),
        folds=tuple(
            SearchFold(
                number=int(f.fold),
                params=to_jsonable(f.best_params),
                best_number=to_jsonable(f.best_number),
                is_metrics=_metrics(f.is_metrics),
                oos=_metrics(f.oos_metrics),
                wfe=finite(f.wfe),
                n_trials=int(f.n_trials),
                n_pruned=int(f.n_pruned),
                n_failed=int(f.n_failed),
                n_feasible=int(f.n_feasible),
                study_name=f.study_name,
                seconds=round(float(f.seconds), 3),
            )
            for f in r.folds
        ),
        oos_metrics=_metrics(r.oos_metrics()),
        wfe=finite(r.wfe),
        counts=TrialCounts(
            total=int(len(t)),
            complete=int((states == "complete").sum()),
            pruned=int((states == "pruned").sum()),
            failed=int((states == "fail").sum()),
            feasible=int(t["feasible"].sum()) if len(t) else 0,
        ),
        evaluations_saved=finite(r.evaluations_saved),
        study_names=tuple(r.study_names),
        storage=r.storage,
        features=to_jsonable(s.features_mode),
        failures=[{"reason": m, "count": n} for m, n in failure_reasons(t)] or None,
    )


def overfitting_section(judgement: Judgement, grid: Mapping[str, Any] | None) -> dict[str, Any]:
    """``overfitting`` of results.json: trial counts, PBO, SPA and stability (with the grid)."""
    sharpes = judgement.trials_sharpes
    enough = sharpes is not None and sharpes.size >= 2
    variance = float(np.var(sharpes, ddof=1)) if enough else None
    stability = {k: _stability_entry(v) for k, v in judgement.stability.items()}
    return to_jsonable(
        {
            "n_trials_total": int(sharpes.size) if sharpes is not None else 0,
            "effective_n_trials": None
            if judgement.effective is None
            else int(judgement.effective.n_effective),
            "trials_sharpe_variance": variance,
            "expected_max_sharpe": finite(expected_max_sharpe(sharpes.size, variance))
            if enough
            else None,
            "dsr_trials": dsr_trials_section(judgement),
            "pbo": dict(judgement.pbo),
            "spa": {"all candidates": judgement.spa_family} if judgement.spa_family else {},
            "stability": {**stability, "grid": grid},
        }
    )


def dsr_trials_section(judgement: Judgement) -> dict[str, Any]:
    """``overfitting.dsr_trials`` of results.json: the deflated Sharpe ratio's count (``N``,
    ``V``, why), its luck benchmark (per-period expected maximum Sharpe of ``N`` zero-skill
    candidates) and the out-of-sample budget sentence."""
    count, budget = judgement.trial_count, judgement.budget
    mode = judgement.leaderboard.gates.dsr_trials
    if count is None:
        return {"mode": mode, "note": "not computed: the trial record is used"}
    out: dict[str, Any] = {
        "mode": count.mode,
        "record": count.record,
        "n_trials": count.n_trials,
        "sharpe_variance": count.sharpe_variance,
        "n_this_run": count.n_this_run,
        "n_prior": count.n_prior,
        "variance_source": count.variance_source,
        "expected_max_sharpe": finite(expected_max_sharpe(count.n_trials, count.sharpe_variance)),
        "note": count.note,
    }
    if budget is not None:
        n_this = int(count.n_this_run) if count.mode == "candidates" else 0
        out["budget"] = {
            "n_runs": budget.n_runs,
            "n_candidates": budget.n_candidates,
            "run_ids": list(budget.run_ids),
            "sentence": budget.sentence(n_this),
        }
    return out


def pareto_section(searches: Sequence[SearchOutcome]) -> dict[str, list[dict[str, Any]]]:
    """Each search's Pareto front (several objectives): fold, trial number, params, values."""
    out = {}
    for s in searches:
        p = s.result.pareto
        if p is None or p.empty:
            out[s.key] = []
            continue
        cols = [c for c in p.columns if c.startswith("value_")]
        out[s.key] = [
            {
                "fold": int(r["fold"]),
                "number": int(r["number"]),
                "params": r["params"],
                **{c[len("value_") :]: r[c] for c in cols},
            }
            for r in p.to_dict("records")
        ]
    return to_jsonable(out)


def _stability_entry(v: Any) -> dict[str, Any]:
    if isinstance(v, Exception):
        return {"note": f"not computed: {v}"}
    return {
        "score": finite(v.score),
        "pick_value": finite(v.pick_value),
        "neighbour_median": finite(v.neighbour_median),
        "n_neighbours": int(v.n_neighbours),
        "share_above_half": finite(v.share_above_half),
    }


def _metrics(m: Mapping[str, Any]) -> dict[str, float | None]:
    """Numeric entries as floats (None when not finite); other entries dropped."""
    out: dict[str, float | None] = {}
    for k, v in m.items():
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        out[k] = finite(f)
    return out


def _cross_section_summary(ex: Exploration) -> dict[str, Any]:
    """``explore`` of a universe run: the cross-sectional rank IC table (first window only)."""
    cs = ex.cross_section
    if cs is None:
        return to_jsonable({"summary": {"note": ex.note}, "selected": [], "html": ""})
    t = cs.table
    summary = {
        "train window ends at bar": int(cs.train_stop),
        "factors x horizons tested": int(len(t)),
        "significant after FDR": int(t["significant"].sum()),
        "false-discovery rate": float(cs.fdr),
    }
    return to_jsonable(
        {"summary": summary, "selected": [], "note": ex.note, "html": "",
         "cross_section": t.to_dict("records")}
    )  # fmt: skip


def explore_summary(ex: Exploration | None) -> dict[str, Any] | None:
    """``explore`` of results.json: a summary table, the selected features, the rendered
    section (HTML, empty when it could not be rendered) and the folder of its files."""
    if ex is None:
        return None
    if ex.result is None:
        return _cross_section_summary(ex)
    from research.explore import render_explore_section

    f = ex.result.findings
    screening = f.get("screening") or {}
    summary = {
        "train window ends": f["train"]["end"],
        "features computed": f["features"]["n_computed"],
        "features screened": f["features"]["n_screened"],
        "significant after FDR": len(ex.result.selected),
        "selected": len(ex.selected),
        "top feature": (screening.get("top") or [{}])[0].get("feature"),
    }
    try:
        html = render_explore_section(ex.result, include_plotlyjs=False)
    except Exception as exc:  # noqa: BLE001 - the summary table still tells the story
        html = ""
        summary["note"] = f"exploration section not rendered: {exc}"
    if ex.note:
        summary["note"] = ex.note
    return to_jsonable(
        {
            "summary": summary,
            "selected": ex.selected,
            "note": ex.note,
            "html": html,
            "folder": "explore",
        }
    )
