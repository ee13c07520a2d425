"""``research run``: one experiment spec in, one run folder out. Read :func:`run_experiment` first.

The flow (each step one call, typed hand-offs between them)::

    spec (+ overrides) -> data -> plan (folds, execution; checks before a folder exists)
    -> open run folder (resume or new) -> record start (config.yaml, run.json)
    -> [explore] -> search (strategy x optimizer walk-forward) -> judge (checks, gates,
    leaderboard) -> importance -> results (RunResults) -> artifacts (leaderboard.csv, series)
    -> results.json -> [report.html] -> [MLflow] -> finish

The run folder layout and the resume rule are :mod:`research.run.store`'s: rerunning the same
command after a crash reopens the unfinished folder, and every search continues its studies in
``study.db`` (completed trials are kept, the missing ones run). The same spec and seed give the
same leaderboard. Annualisation: ``data.periods_per_year`` or
:func:`data_loaders.bars.bars_per_year` of the data (see :mod:`research.run.data`).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from data_loaders.errors import ConfigError
from research._json import to_jsonable
from research._timing import StageTimes
from research.crashlog import set_run_folder
from research.judge import (
    Judgement,
    SearchOutcome,
    evaluation_time_limit,
    importance_by_strategy,
    judge,
    stability_grid,
)
from research.judge.trial_count import OOSBudget
from research.optimize.identity import library_versions, strategy_files
from research.optimize.storage import safe_url
from research.run.artifacts import champion_prices, champion_trades, write_artifacts
from research.run.budget import budget_for_run
from research.run.data import load_experiment_data
from research.run.lookahead import check_run_lookahead
from research.run.plan import RunPlan, plan_run
from research.run.preflight import preflight
from research.run.results import RunResults
from research.run.stages import (
    Exploration,
    check_stale_studies,
    explore_stage,
    search_stage,
    universe_explore_stage,
)
from research.run.store import (
    RunDir,
    atomic_write_text,
    code_version,
    finish_run,
    prepare_run_dir,
    release_run,
    resume_key,
    write_run_record,
)
from research.run.summarize import build_results, explore_summary

__all__ = ["RunResult", "run_experiment", "prepare_spec"]


@dataclass
class RunResult:
    """What :func:`run_experiment` returns: the run folder and what it holds.

    Attributes:
        run_dir: the run folder.
        results: the content of ``results.json``.
        leaderboard: the ranked candidates (``leaderboard.csv``).
        resumed: whether an unfinished run was continued.
        seconds: wall time of this call.
        mlflow_run_id: the MLflow run logged (tracking ``mlflow``), else None.
    """

    run_dir: Path
    results: RunResults
    leaderboard: pd.DataFrame
    resumed: bool = False
    seconds: float = 0.0
    mlflow_run_id: str | None = None

    @property
    def passed(self) -> bool:
        """Whether a candidate passed every gate (there is a champion)."""
        return self.results.verdict.passed

    @property
    def champion(self) -> dict[str, Any] | None:
        """The champion's leaderboard row (as in results.json), or None."""
        return self.results.to_json()["verdict"]["champion"]

    def summary(self) -> str:
        """A few lines for the terminal: verdict, top of the leaderboard, where the report is."""
        r = self.results
        metric = r.ranking_metric
        lines = [f"{r.experiment} run {r.run_id}" + (" (resumed)" if self.resumed else "")]
        lines.append(r.verdict.message)
        top = r.leaderboard[0] if r.leaderboard else None
        if top is not None and not top.passed and top.explanations:
            lines.append(f"Why {top.candidate} is not champion:")
            lines += [f"  - {why}" for why in top.explanations]
        lines.append("")
        lines.append(
            f"{'#':>2}  {'candidate':<28} {'OOS ' + metric:>18}  {'DSR':>5}  {'PBO':>5}  gates"
        )
        for row in r.leaderboard[:10]:
            gates = "passed" if row.passed else f"fails {row.failed_gates}"
            lines.append(
                f"{row.rank:>2}  {row.candidate:<28} {_num(row.metric(metric)):>18}  "
                f"{_num(row.stats.dsr, 2):>5}  {_num(row.stats.pbo, 2):>5}  {gates}"
            )
        lines.append("")
        report = self.run_dir / "report.html"
        if report.is_file():
            lines.append(f"report: {report}")
        lines.append(f"run folder: {self.run_dir}  ({self.seconds:.1f} s)")
        return "\n".join(lines)


def run_experiment(
    exp: Any,
    *,
    out_dir: str | Path | None = None,
    trials: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    storage: str | None = None,
    progress: bool = True,
    runs_root: str | Path = "runs",
    new: bool = False,
    bars: Any = None,
    warm_start: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    allow_changed_code: bool = False,
) -> RunResult:
    """Run an experiment and write its run folder (the flow is the module docstring's).

    Args:
        exp: an :class:`~research.spec.Experiment` or the path of its YAML file.
        out_dir: the run folder (default ``runs_root/<experiment>/<run-id>/``; resumed when it
            holds an unfinished run of the same spec).
        trials, seed, workers, scheduler, storage: command-line overrides of the spec.
        progress: stage lines on stderr and the searches' progress bars.
        runs_root: where run folders go when ``out_dir`` is not given.
        new: start a fresh folder even if an unfinished run of the same spec exists.
        bars: already-loaded bars instead of the spec's data source (nightly, tests).
        warm_start: parameter sets tried first, per strategy label.
        allow_changed_code: resume or reuse studies made by an edited strategy file or other
            library versions (refused by default, see :mod:`research.optimize.identity`).

    Raises:
        ConfigError: bad spec or overrides, an unusable run folder.
        DataValidationError, DataTooShortError: bad or too little data.
    """
    clock = Clock(progress)
    exp = prepare_spec(
        exp, n_trials=trials, seed=seed, workers=workers, scheduler=scheduler, storage=storage
    )
    preflight(exp, out_dir=out_dir, runs_root=runs_root)  # before the data and the folder
    bars, plan, lookahead = load_and_plan(exp, bars, clock, warm_start or {}, allow_changed_code)
    run = prepare_run_dir(exp.name, exp.to_dict(), out=out_dir, root=runs_root, new=new)
    set_run_folder(run.path)  # crash logs go to the run folder; held progress lines are shown
    try:
        storage_url = record_start(run, exp, plan, clock)
        exploration = explore_step(exp, bars, plan, run, clock)
        searches = search_stage(
            exp, bars, plan, exploration, storage=storage_url, run_dir=run.path,
            warm_start=warm_start or {}, progress=progress, say=clock.say,
            allow_changed_code=allow_changed_code,
        )  # fmt: skip
        clock.lap("search")
        judgement = judge_step(
            exp, plan, searches, clock, budget_for_run(run.path, run.run_id, exp.name, plan, bars)
        )
        importance = importance_step(exp, plan, searches, clock)
        results = results_step(
            exp, run, plan, bars, searches, judgement, importance, clock,
            exploration=exploration, storage_url=storage_url, lookahead=lookahead,
        )  # fmt: skip
        write_report(run, exp, clock)
        mlflow_id = track(run, exp, out_dir, runs_root, clock)
        write_run_record(run, seconds=round(clock.elapsed(), 2), **clock.record())
        finish_run(run)
    except BaseException:
        release_run(run)  # the marker stays: rerunning the command resumes
        raise
    finally:
        clock.close()
    clock.say(f"done in {clock.elapsed():.1f} s")
    table = judgement.leaderboard.table
    return RunResult(run.path, results, table, run.resumed, clock.elapsed(), mlflow_id)


def _user_strategy_files(exp: Any) -> dict[str, str]:
    """``{file: sha256[:16]}`` of the strategy files the spec names (``path.py:Class``)."""
    from research.spec import resolve_strategy

    out: dict[str, str] = {}
    for i, s in enumerate(exp.strategies):
        if ":" in s.name:
            files = strategy_files(resolve_strategy(s, key=f"strategies[{i}]"))
            out.update({f: h for f, h in files.items() if not f.startswith("strategies/")})
    return out


# --------------------------------------------------------------------------------------------
# the steps
# --------------------------------------------------------------------------------------------
def prepare_spec(exp: Any, *, storage: str | None = None, **overrides: Any) -> Any:
    """Load (a path), apply the command-line overrides and validate; the checks that need no
    data (a Dask scheduler needs a shared storage; MLflow tracking needs mlflow)."""
    from research.spec import (
        Experiment,
        apply_overrides,
        load_experiment,
        validate_experiment,
    )

    if not isinstance(exp, Experiment):
        exp = load_experiment(exp)
    exp = apply_overrides(exp, **overrides, storage=storage)
    validate_experiment(exp)
    if exp.scheduler and not exp.storage:
        raise ConfigError(
            "--scheduler: a Dask scheduler needs a shared --storage URL "
            "(e.g. postgresql://user@host/db) that every worker host can reach"
        )
    if exp.tracking.backend == "mlflow":
        from research.run.tracking import mlflow_available

        if not mlflow_available():
            raise ConfigError(
                f"{exp.path or '<spec>'}: tracking.backend: 'mlflow' needs the mlflow package; "
                "pip install -e '.[tracking]' (or set tracking: none)"
            )
    return exp


def load_and_plan(
    exp: Any, bars: Any, clock: Clock, warm_start: Mapping[str, Any], allow_changed_code: bool
) -> tuple[Any, RunPlan, Any]:
    """The bars (loaded unless given), the run plan, the look-ahead check and (unless
    ``allow_changed_code``) the check for studies made by other code: everything that can
    refuse the run before a folder exists. Returns ``(bars, plan, lookahead record)``."""
    if bars is None:
        clock.say(f"loading {exp.data.source}")
        bars = load_experiment_data(exp)
        clock.lap("load")
    plan = plan_run(exp, bars)  # folds, execution, objectives: raises before a folder exists
    lookahead = check_run_lookahead(exp, plan, bars, clock.say)
    if not allow_changed_code:
        check_stale_studies(exp, plan, bars, warm_start)
    clock.lap("lookahead")
    return bars, plan, lookahead


def record_start(run: RunDir, exp: Any, plan: RunPlan, clock: Clock) -> str:
    """Write ``config.yaml`` (the resolved spec) and the run record ``run.json``; returns the
    Optuna storage URL of the run (the spec's, else ``study.db`` in the folder)."""
    from research.spec import experiment_hash

    if run.resumed:
        clock.say(f"resuming the unfinished run in {run.path}")
    storage_url = exp.storage or run.storage_url
    atomic_write_text(run.path / "config.yaml", exp.to_yaml())
    write_run_record(
        run,
        experiment=exp.name,
        seed=exp.seed,
        data=to_jsonable(asdict(plan.data)),
        data_fingerprint=plan.data.fingerprint,
        code_version=code_version(),
        spec_hash=experiment_hash(exp),
        resume_key=resume_key(exp.to_dict()),
        storage=safe_url(storage_url),
        libraries=library_versions(),
        strategy_files=_user_strategy_files(exp),
        trade_layers=to_jsonable(plan.layers_record()),
        execution=to_jsonable(plan.execution.to_dict()),
    )
    clock.lap("setup")
    return storage_url


def explore_step(
    exp: Any, bars: Any, plan: RunPlan, run: RunDir, clock: Clock
) -> Exploration | None:
    """The exploration (``explore.enabled``), its screening ending at the first training stop; a
    universe run (no strategy using explored features) ranks the symbols by cross-sectional
    information coefficients instead (:func:`research.run.stages.universe_explore_stage`)."""
    if not exp.explore.enabled:
        return None
    need = any(s.features == "explore" for s in exp.strategies)
    train_stop = int(plan.folds[0].train.stop)
    universe = exp.universe.mode or any(s.mode for s in exp.strategies)
    if universe and isinstance(bars, Mapping) and not need:
        out = universe_explore_stage(bars, train_stop, clock.say)
        clock.lap("explore")
        return out
    out = explore_stage(exp, bars, train_stop, run.path / "explore", clock.say, need=need)
    clock.lap("explore")
    return out


def judge_step(
    exp: Any,
    plan: RunPlan,
    searches: list[SearchOutcome],
    clock: Clock,
    budget: OOSBudget | None = None,
) -> Judgement:
    """:func:`research.judge.judge` with the spec's gates and ranking; ``budget``: the earlier
    looks at the same out-of-sample data (:func:`research.run.budget.budget_for_run`)."""
    clock.say("judging the candidates: out-of-sample re-evaluation, DSR, PBO, stability, SPA")
    with evaluation_time_limit(exp.budget.trial_timeout):
        judgement = judge(
            searches,
            plan.execution,
            gates=plan.gates,
            metric=exp.ranking.metric,
            direction=plan.direction,
            top_k=exp.ranking.top_k,
            seed=exp.seed,
            budget=budget,
        )
    clock.lap("judge")
    return judgement


def importance_step(
    exp: Any, plan: RunPlan, searches: list[SearchOutcome], clock: Clock
) -> dict[str, Any]:
    """Hyperparameter importance per strategy label (its searches pooled)."""
    clock.say("hyperparameter importance")
    direction = plan.objectives[0].direction
    out = {
        label: importance_by_strategy(
            [s for s in searches if s.label == label], direction, exp.seed
        )
        for label in dict.fromkeys(s.label for s in searches)
    }
    clock.lap("importance")
    return out


def focus_grid(
    focus: Any, plan: RunPlan, metric: str, importance: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The stability heatmap around the focus candidate's pick (a failure is noted, not raised)."""
    if focus is None or not focus.result.final_params:
        return None
    try:
        fanova = (importance.get(focus.label) or {}).get("fanova")
        return stability_grid(
            focus, plan.execution, focus.result.final_params, metric, importance=fanova
        )
    except Exception as exc:  # noqa: BLE001 - a missing heatmap must not lose the run
        return {"note": f"not computed: {exc}"}


def results_step(
    exp: Any,
    run: RunDir,
    plan: RunPlan,
    bars: Any,
    searches: list[SearchOutcome],
    judgement: Judgement,
    importance: dict[str, Any],
    clock: Clock,
    *,
    exploration: Exploration | None,
    storage_url: str,
    lookahead: Any,
) -> RunResults:
    """The focus candidate's stability grid, trades and prices; the artifacts
    (:func:`research.run.artifacts.write_artifacts`); then ``results.json``."""
    focus = judgement.focus
    grid = focus_grid(focus, plan, exp.ranking.metric, importance)
    clock.lap("stability grid")
    trades = champion_trades(focus, plan.execution) if focus is not None else None
    clock.lap("trades")
    prices = champion_prices(focus, judgement.oos_returns.index) if focus is not None else None
    write_artifacts(run.path, judgement, searches, trades, prices)
    clock.lap("write")
    results = build_results(
        exp, run.run_id, plan, bars, searches, judgement, importance=importance, grid=grid,
        exploration=explore_summary(exploration), trades=trades,
        storage=safe_url(storage_url), timings=clock.timings,
    )  # fmt: skip
    results = replace(results, lookahead=to_jsonable(lookahead))
    results.write(run.path)
    clock.lap("results")
    return results


def write_report(run: RunDir, exp: Any, clock: Clock) -> None:
    """``report.html`` (``report.enabled``), its build time recorded in ``run.json``."""
    if not exp.report.enabled:
        return
    from research.report import build_report

    clock.say("writing the report")
    started = time.perf_counter()
    build_report(run.path)
    write_run_record(run, report_seconds=round(time.perf_counter() - started, 3))
    clock.lap("report")


def track(
    run: RunDir, exp: Any, out_dir: str | Path | None, runs_root: str | Path, clock: Clock
) -> str | None:
    """Log the run to MLflow (``tracking.backend: mlflow``); returns its MLflow run id."""
    if exp.tracking.backend != "mlflow":
        return None
    from research.run.tracking import log_run

    clock.say("logging to MLflow")
    mlflow_id = log_run(
        run.path,
        uri=exp.tracking.uri,
        experiment=exp.tracking.experiment,
        runs_root=Path(runs_root) if out_dir is None else run.path.parent.parent,
    )
    clock.lap("tracking")
    return mlflow_id


class Clock:
    """Stage timings and one progress line per stage on stderr (the searches draw their own
    bars on a terminal).

    :meth:`lap` closes a top-level stage (wall and CPU seconds since the previous lap); code
    below the pipeline adds sub-stages (``search/<strategy>/<optimizer>``, ``judge/pbo``, ...)
    with :func:`research._timing.stage` while the clock is open. ``timings`` (wall seconds of
    every stage, sub-stages included) goes in ``results.json``; :meth:`record` (wall and CPU
    seconds per stage, the process's CPU seconds so far) in ``run.json``.
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.t0 = self._mark = time.perf_counter()
        self._cpu_mark = self.cpu_start = time.process_time()
        self.times = StageTimes()
        self._token = self.times.activate()

    @property
    def timings(self) -> dict[str, float]:
        """Wall seconds per stage name (3 decimals), in the order the stages first ran."""
        return {k: round(v, 3) for k, v in self.times.wall.items()}

    def say(self, text: str) -> None:
        if self.enabled:
            print(f"[{self.elapsed():6.1f}s] {text}", file=sys.stderr, flush=True)

    def lap(self, name: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        self.times.add(name, now - self._mark, cpu - self._cpu_mark)
        self._mark, self._cpu_mark = now, cpu

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def record(self) -> dict[str, Any]:
        """``run.json`` entries: ``stage_seconds``, ``cpu_seconds`` (user + system seconds of
        the process since it started, imports included) and ``startup_cpu_seconds`` (those
        spent before the run began: interpreter start-up and imports)."""
        return {
            "stage_seconds": self.times.to_json(),
            "cpu_seconds": round(time.process_time(), 2),
            "startup_cpu_seconds": round(self.cpu_start, 2),
        }

    def close(self) -> None:
        """Stop collecting sub-stages (idempotent)."""
        if self._token is not None:
            self.times.deactivate(self._token)
            self._token = None


def _num(v: Any, digits: int = 3) -> str:
    return "n/a" if v is None or not math.isfinite(float(v)) else f"{float(v):.{digits}f}"
