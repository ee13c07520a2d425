"""The two working stages of a run: exploration (optional) and the walk-forward searches.

* :func:`explore_stage` runs the spec's feature exploration with its screening window ending at
  the first fold's training stop, so the selected features never saw an out-of-sample bar (the
  features themselves are causal and computed over all bars).
* :func:`search_stage` runs :func:`research.optimize.walk_forward_optimize` for every strategy x
  optimizer pair of the spec and returns one :class:`research.judge.SearchOutcome` each.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from data_loaders.bars import bars_index, first_frame
from data_loaders.errors import ConfigError, ResearchError
from research._json import finite
from research._timing import stage
from research.judge import SearchOutcome
from research.run.plan import RunPlan
from research.run.universe import SearchJob, search_jobs

__all__ = [
    "Exploration",
    "explore_stage",
    "universe_explore_stage",
    "features_for",
    "search_stage",
    "search_args",
    "check_stale_studies",
]

Say = Callable[[str], None]


@dataclass(frozen=True, eq=False)
class Exploration:
    """What the exploration stage hands on: the result, its feature matrix, the features used.

    ``cross_section``: a universe run's :class:`research.explore.cross_section.CrossSectionIC`
    (then ``result`` is None, see :func:`universe_explore_stage`).
    ``selected`` are the features that passed the false-discovery control, or (when a strategy
    needs features and none passed) the ten best-scored ones, with ``note`` saying so.
    """

    result: Any = None
    features: pd.DataFrame | None = None
    selected: list[str] = field(default_factory=list)
    note: str = ""
    cross_section: Any = None


def explore_stage(
    exp: Any, bars: Any, train_stop: int, out: Path | None, say: Say, *, need: bool = True
) -> Exploration:
    """Run the spec's exploration with its screening window ending at bar ``train_stop``.

    ``need``: a strategy uses the explored features (then an empty selection falls back to the
    ten best-scored features). ``out``: where the exploration's files go (None: nowhere).
    """
    from research.explore import explore
    from research.explore.artifacts import write_exploration

    spec = exp.explore.spec
    if isinstance(spec, str) and exp.path and not Path(spec).exists():
        beside = Path(exp.path).parent / spec
        spec = str(beside) if beside.exists() else spec
    index = bars_index(bars)
    say(f"exploring features on the first training window (to {index[train_stop - 1].date()})")
    res = explore(bars, spec, train_end=index[train_stop - 1])
    selected = list(res.selected)
    note = ""
    if not selected and need:
        selected = [str(f) for f in res.screening.scores.index[:10]]
        note = (
            "the screening found no feature significant after the false-discovery control; the "
            f"{len(selected)} best-scored features are used instead"
        )
    if out is not None:
        write_exploration(res, out)
    return Exploration(result=res, features=res.features, selected=selected, note=note)


#: the factors a universe run's exploration ranks the symbols by (built-in scores, defaults)
UNIVERSE_FACTORS = ("xs_momentum", "xs_reversal", "xs_low_vol")


def universe_explore_stage(bars: Any, train_stop: int, say: Say) -> Exploration:
    """Cross-sectional rank ICs (:func:`research.explore.cross_section.cross_sectional_ic`) of
    the built-in cross-sectional scores (:data:`UNIVERSE_FACTORS`, default parameters) across
    the symbols, on the bars before ``train_stop`` (the first training window) only."""
    from data_loaders.universe import align_universe
    from research.explore.cross_section import cross_sectional_ic
    from strategies.registry import get_strategy

    uni = align_universe(bars, source="universe")
    if uni.shape[1] < 3:
        return Exploration(note=f"cross-sectional ICs need 3 symbols or more, got {uni.shape[1]}")
    say(f"exploring across {uni.shape[1]} symbols: cross-sectional rank ICs (first window)")
    factors = {name: get_strategy(name)().scores(uni) for name in UNIVERSE_FACTORS}
    res = cross_sectional_ic(uni, factors, train_stop=train_stop, min_symbols=min(5, uni.shape[1]))
    return Exploration(cross_section=res)


def features_for(
    spec: Any, bars: Any, exploration: Exploration | None, key: str
) -> tuple[pd.DataFrame | None, Any]:
    """``(feature matrix or None, the features mode recorded in results)`` of one strategy."""
    if spec.features is None:
        return None, None
    if spec.features == "explore":
        assert exploration is not None  # the spec's cross-checks require explore: true
        return exploration.features[exploration.selected], list(exploration.selected)
    cols = list(spec.features)
    if exploration is not None and all(c in exploration.features.columns for c in cols):
        return exploration.features[cols], cols
    from strategies.indicators import compute_features

    try:
        feats = compute_features(first_frame(bars), cols)
    except (ResearchError, KeyError) as exc:
        raise ConfigError(
            f"{key}.features: {exc} (give catalog indicator names, or exploration feature "
            "columns with explore: true)"
        ) from None
    return feats, cols


def search_stage(
    exp: Any,
    bars: Any,
    plan: RunPlan,
    exploration: Exploration | None,
    *,
    storage: str,
    run_dir: Path,
    warm_start: Mapping[str, Sequence[Mapping[str, Any]]],
    progress: bool,
    say: Say,
    allow_changed_code: bool = False,
) -> list[SearchOutcome]:
    """One walk-forward search per strategy x optimizer pair, in spec order (strategy-major);
    under ``universe.mode: per_symbol`` one per symbol as well (:mod:`research.run.universe`).
    With ``workers > 1`` the searches share one local process pool
    (:func:`research.optimize._workers.shared_pool`)."""
    from research.optimize._workers import shared_pool

    ctx = {
        "say": say, "storage": storage, "run_dir": run_dir, "warm_start": warm_start,
        "progress": progress, "allow_changed_code": allow_changed_code,
    }  # fmt: skip
    src = exp.path or "<spec>"
    out = []
    jobs = []
    for s in exp.strategies:
        key = f"{src}: strategies[{exp.strategies.index(s)}]"
        found = search_jobs(exp, s, plan.strategies[s.label], bars, key, plan.splitter)
        for job in found:
            if job.skipped:
                say(f"{s.label}: {job.symbol} not searched: {job.skipped}")
        # strategy-major, then optimizer, then symbol (per_symbol)
        jobs += [(s, o, job, key) for o in exp.optimizers for job in found if not job.skipped]
    with shared_pool(exp.workers):  # one process pool for all the searches, not one each
        for n, (s, o, job, key) in enumerate(jobs, 1):
            out.append(_search_one(exp, plan, exploration, s, o, job, key, n, len(jobs), ctx))
    return out


def _search_one(
    exp: Any,
    plan: RunPlan,
    exploration: Exploration | None,
    s: Any,
    o: Any,
    job: SearchJob,
    key: str,
    n: int,
    total: int,
    ctx: dict[str, Any],
) -> SearchOutcome:
    """One walk-forward search (strategy entry ``s`` x optimizer ``o`` x ``job``)."""
    say = ctx["say"]
    metrics = [o.metric for o in plan.objectives]
    cls, sbars = job.strategy_cls, job.bars
    feats, mode = features_for(s, sbars, exploration, key)
    on = f" on {job.symbol}" if job.symbol else ""
    folds = job.splitter.split(sbars.index) if job.splitter is not None else plan.folds
    say(
        f"[{n}/{total}] searching {s.label}{on} with {o.name}: {len(folds)} folds x "
        f"{exp.budget.n_trials} trials"
    )
    started = time.perf_counter()
    with stage(f"search/{s.label}/{o.name}"):
        res = _optimize(exp, plan, o, job, feats, ctx, ctx["warm_start"].get(s.label))
    _check_not_all_failed(res.trials, f"{exp.path or '<spec>'}: {s.label}{on} with {o.name}")
    shown = metrics[0] if metrics[0] in res.oos_metrics() else "sharpe_ratio"
    oos = finite(res.oos_metrics().get(shown))
    say(
        f"      {len(res.trials)} trials in {time.perf_counter() - started:.1f} s; stitched "
        f"OOS {shown} {'n/a' if oos is None else f'{oos:.3f}'}"
    )
    prefix = f"{job.symbol}:" if job.symbol else ""
    return SearchOutcome(
        key=f"{prefix}{s.label}/{o.name}",
        label=s.label,
        ref=s.name,
        optimizer=o.name,
        strategy_cls=cls,
        result=res,
        bars=sbars,
        features=feats,
        features_mode=mode,
        symbol=job.symbol,
    )


def _optimize(
    exp: Any, plan: RunPlan, o: Any, job: SearchJob, feats: Any, ctx: dict[str, Any], warm: Any
) -> Any:
    """:func:`research.optimize.walk_forward_optimize` of one search job."""
    from research.optimize import walk_forward_optimize

    args = search_args(exp, plan, o, feats, ctx["storage"], ctx["run_dir"], warm)
    if job.splitter is not None:
        args["splitter"] = job.splitter
    return walk_forward_optimize(
        job.strategy_cls, job.bars, **args,
        allow_changed_code=ctx["allow_changed_code"], progress=ctx["progress"],
    )  # fmt: skip


def search_args(
    exp: Any, plan: RunPlan, o: Any, feats: Any, storage: Any, run_dir: Any, warm: Any
) -> dict[str, Any]:
    """The keyword arguments of :func:`research.optimize.walk_forward_optimize` for optimizer
    ``o`` of the spec (all but the class, the bars, progress and the changed-code flag)."""
    from research.optimize.derived import expression_metric

    objectives = [
        expression_metric(ob.expression, ob.metric) if ob.expression else ob.metric
        for ob in exp.objectives
    ]
    return dict(
        splitter=plan.splitter,
        optimizer=o.name,
        optimizer_options=o.options or None,
        n_trials=exp.budget.n_trials,
        objective=objectives,
        directions=[ob.direction for ob in plan.objectives],
        guardrails=exp.guardrails,
        execution=plan.execution,
        seed=exp.seed,
        storage=storage,
        run_dir=run_dir,
        workers=exp.workers,
        scheduler=exp.scheduler,
        warm_start=list(warm or []) or None,
        pruner=exp.budget.pruner,
        timeout=exp.budget.timeout,
        trial_timeout=exp.budget.trial_timeout,
        features=feats,
    )


def _check_not_all_failed(trials: pd.DataFrame, what: str) -> None:
    """Raise StrategyError when every trial of a search failed: the most common reasons."""
    from data_loaders.errors import StrategyError
    from research.run.summarize import failure_reasons

    if not len(trials) or not (trials["state"] == "fail").all():
        return
    reasons = failure_reasons(trials)
    top = "; ".join(f"{n} x {m[:200]}" for m, n in reasons[:3])
    more = f"; and {len(reasons) - 3} other reasons" if len(reasons) > 3 else ""
    raise StrategyError(f"{what}: every one of the {len(trials)} trials failed: {top}{more}")


def check_stale_studies(
    exp: Any, plan: RunPlan, bars: Any, warm_start: Mapping[str, Sequence[Mapping[str, Any]]]
) -> None:
    """Before the run folder exists: with a shared ``storage:``, refuse (ConfigError) when a
    study this run would reopen holds trials made by other code (see
    :func:`research.optimize.walkforward.check_study_code`). Strategies fed explored features
    are checked when their search starts."""
    from research.optimize.walkforward import check_study_code

    if not exp.storage:
        return
    src = exp.path or "<spec>"
    for s in exp.strategies:
        if s.features not in (None, "none"):
            continue
        key = f"{src}: strategies[{exp.strategies.index(s)}]"
        for job in search_jobs(exp, s, plan.strategies[s.label], bars, key, plan.splitter):
            for o in exp.optimizers:
                if job.skipped:
                    continue
                warm = warm_start.get(s.label)
                args = search_args(exp, plan, o, None, exp.storage, Path("."), warm)
                if job.splitter is not None:
                    args["splitter"] = job.splitter
                check_study_code(job.strategy_cls, job.bars, **args)
