"""Nightly champion/challenger re-optimization (``research nightly EXPERIMENT.yaml``).

One night:

1. take the lock ``runs/<experiment>/nightly.lock`` (``fcntl.flock``, non-blocking); when another
   nightly run of the same experiment holds it, stop at once with :class:`NightlyLocked`
   (the command prints one line and exits with status 75, see ``docs/nightly.md``);
2. load fresh data (the spec's ``data`` section, read again) and set aside the most recent
   out-of-sample window (``nightly.window``, default ``walk_forward.test``);
3. re-optimize on the data before that window with the nightly budget (``nightly.n_trials``),
   warm-started from the current champion's parameters and the best trials of the last study
   (``nightly.warm_start`` per strategy), writing a normal run folder
   ``runs/<experiment>/<run-id>-nightly/``; its leaderboard champion is the *challenger*;
4. evaluate the champion and the challenger on the same recent window (same costs, same bars);
5. promote the challenger only if it passed every gate of its run **and** beats the champion's
   ``ranking.metric`` on the window by more than ``nightly.min_improvement`` (with no champion
   yet, passing every gate is enough);
6. append the decision and its reasons to ``runs/<experiment>/champion_history.jsonl`` and, when
   promoted, replace ``runs/<experiment>/champion.json``. Both files are written atomically
   (temporary file, fsync, ``os.replace``; the history is rewritten whole the same way), so a
   crash leaves the previous version intact, never half a file;
7. hand off (:mod:`research.run.handoff`): write ``targets.json`` / ``targets.csv`` (the
   champion's exposure per symbol for the next bar; ``nightly.refit`` chooses the fit window of
   a learning strategy, recorded in the history), then run ``nightly.notify`` with the night's
   summary on its standard input. When ``data.source`` is a data store folder, step 2 first
   updates it incrementally (:func:`data_loaders.store.update_store`).

A night that was killed (or stopped by ``nightly.timeout``) leaves its run folder unfinished and
its data snapshot beside it (:mod:`research.run.pending`); the next night resumes that folder
on that snapshot, keeping every completed trial, before any fresh night starts.

Universe runs (``universe.mode``): a night re-optimizes the same universe spec; a candidate
is judged and handed off the way it was searched (:func:`research.run.universe.candidate_job`:
a ``per_symbol`` candidate on its symbol's own bars, a ``pooled`` / ``portfolio`` one as its
book over every symbol), and warm starts go to every search of the strategy entry.

The pieces live apart and are re-exported here: :mod:`research.run.promotion` (the decision,
a pure function, and the challenger's window DSR), :mod:`research.run.night_record`
(:class:`NightlyDecision`), :mod:`research.run.warm_start`, :mod:`research.run.window` (the
judging window) and :mod:`research.run.handoff`; this module runs the night.

``dry_run=True`` does all the computing in a temporary folder and returns the decision without
writing anything under ``runs/`` (no run folder, no champion, no history, no lock file, no
targets, no notification, no data store update).
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from data_loaders.bars import bars_index, slice_bars
from research._version import code_version
from research.run.champion import (
    NightlyLocked,
    append_history,
    champion_path,
    check_not_locked,
    history_path,
    lock_path,
    nightly_lock,
    read_champion,
    read_history,
)
from research.run.data import load_experiment_data
from research.run.handoff import hand_off, night_summary, notify, refresh_data
from research.run.night_record import NightlyDecision
from research.run.pending import clear_pending, load_pending, save_pending
from research.run.pipeline import RunResult, run_experiment
from research.run.promotion import Decision, challenger_dsr, decide
from research.run.store import atomic_write_json
from research.run.warm_start import warm_start_sets
from research.run.window import evaluate_params, recent_window
from research.spec.build import ranking_direction

__all__ = [
    "NightlyLocked",
    "NightlyDecision",
    "nightly_lock",
    "run_nightly",
    "read_champion",
    "read_history",
    "champion_path",
    "history_path",
    "lock_path",
    "EXIT_LOCKED",
    "Decision",
    "decide",
    "recent_window",
    "evaluate_params",
    "warm_start_sets",
    "challenger_dsr",
]

#: exit status of ``research nightly`` when another nightly run holds the lock (EX_TEMPFAIL;
#: the same value as ``research.cli.EXIT_LOCKED``)
EXIT_LOCKED = 75


def run_nightly(
    spec: Any,
    *,
    runs_root: str | Path = "runs",
    dry_run: bool = False,
    n_trials: int | None = None,
    bars: Any = None,
    progress: bool = False,
) -> NightlyDecision:
    """Run one night of champion/challenger re-optimization (see the module docstring).

    Args:
        spec: an :class:`~research.spec.Experiment` or the path of its YAML file.
        runs_root: the folder holding ``<experiment>/`` (champion, history, run folders).
        dry_run: compute everything in a temporary folder, write nothing under ``runs_root``.
        n_trials: override of ``nightly.n_trials`` (per fold).
        bars: already-loaded bars instead of reading the spec's data source (tests, scripts).
        progress: show progress bars.

    Raises:
        NightlyLocked: another nightly run of this experiment holds the lock.
    """
    from research.spec import Experiment, load_experiment

    exp = spec if isinstance(spec, Experiment) else load_experiment(spec)
    runs_root = Path(runs_root)
    if dry_run:
        check_not_locked(runs_root, exp.name)  # report a live lock, create or hold nothing
        tmp = Path(tempfile.mkdtemp(prefix=f"nightly-{exp.name}-"))
        try:
            return _night(
                exp, runs_root, tmp, dry_run=True, n_trials=n_trials, bars=bars, progress=progress
            )
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    with nightly_lock(runs_root, exp.name):
        return _night(
            exp,
            runs_root,
            runs_root,
            dry_run=False,
            n_trials=n_trials,
            bars=bars,
            progress=progress,
        )


def _night(
    exp: Any,
    runs_root: Path,
    work_root: Path,
    *,
    dry_run: bool,
    n_trials: int | None,
    bars: Any,
    progress: bool,
) -> NightlyDecision:
    metric = exp.ranking.metric
    champion = read_champion(runs_root, exp.name)
    update = None
    pending = None if dry_run else load_pending(runs_root, exp.name)
    if pending is not None:  # a killed night: resume its folder on its data snapshot
        bars = pending.bars
    elif bars is None:
        update = None if dry_run else refresh_data(exp)
        bars = load_experiment_data(exp)
    start, n_bars_total = recent_window(exp, bars)
    index = bars_index(bars)
    window = {
        "start": str(index[start]),
        "end": str(index[-1]),
        "n_bars": int(n_bars_total - start),
        "start_position": int(start),
    }
    warm = pending.warm if pending is not None else warm_start_sets(exp, runs_root, champion)
    out_dir = pending.run_dir if pending is not None else _new_folder(work_root, exp.name)
    if not dry_run and pending is None:
        save_pending(runs_root, exp.name, out_dir, bars, warm)
    result = _rerun(exp, slice_bars(bars, 0, start), out_dir, warm, n_trials, dry_run, progress)
    lead = result.results.verdict.lead
    chall = _judged(exp, lead.to_json(), bars, start, "challenger") if lead else None
    champ = _judged(exp, champion, bars, start, "champion") if champion else None
    if chall is not None:  # gates.dsr_trials for a challenger (issue 12; reported, not gated)
        looks = len(read_history(runs_root, exp.name))
        chall["window_dsr"] = challenger_dsr(chall, champ, n_bars_total - start, looks, bars, exp)
    verdict = decide(
        chall,
        champ,
        metric=metric,
        direction=ranking_direction(exp),
        margin=exp.nightly.min_improvement,
    )
    out = NightlyDecision(
        experiment=exp.name,
        decision=verdict.decision,
        promoted=verdict.promoted,
        reasons=list(verdict.reasons),
        metric=metric,
        window=window,
        champion=champ,
        challenger=chall,
        run_dir=None if dry_run else str(result.run_dir),
        warm_start={k: len(v) for k, v in warm.items()},
        dry_run=dry_run,
    )
    if not dry_run:
        _record(exp, runs_root, out, result, bars, start, update)
        out.notify = _notify(exp, runs_root, out)
        clear_pending(runs_root, exp.name)
    return out


def _new_folder(work_root: Path, experiment: str) -> Path:
    """``<work_root>/<experiment>/<UTC time>-nightly`` (``-2``, ``-3``... when taken)."""
    run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S") + "-nightly"
    out_dir = work_root / experiment / run_id
    n = 1
    while out_dir.exists():
        n += 1
        out_dir = work_root / experiment / f"{run_id}-{n}"
    return out_dir


def _rerun(
    exp: Any,
    history: Any,
    out_dir: Path,
    warm: Mapping[str, list[dict[str, Any]]],
    n_trials: int | None,
    dry_run: bool,
    progress: bool,
) -> RunResult:
    """The re-optimization on the bars before the window, in the ``-nightly`` run folder
    ``out_dir`` (resumed when a killed night left it unfinished)."""
    budget = n_trials or exp.nightly.n_trials or exp.budget.n_trials
    night_exp = replace(
        exp,
        budget=replace(exp.budget, n_trials=int(budget)),
        tracking=replace(exp.tracking, backend="none") if dry_run else exp.tracking,
    )
    return run_experiment(
        night_exp,
        out_dir=out_dir,
        progress=progress,
        bars=history,
        warm_start=warm,
        runs_root=out_dir.parent.parent,
    )


def _judged(exp: Any, row: Mapping[str, Any], bars: Any, start: int, source: str) -> dict[str, Any]:
    """A leaderboard row (or the champion record) with its metrics on the recent window."""
    ev = evaluate_params(
        exp,
        row["strategy_ref"],
        row["params"],
        bars,
        start=start,
        features_mode=row.get("features_mode"),
        label=row.get("strategy"),
        candidate=row.get("candidate"),
    )
    gates = row.get("gates") or {}
    return {
        "candidate": row.get("candidate"),
        "strategy": row.get("strategy"),
        "strategy_ref": row.get("strategy_ref"),
        "optimizer": row.get("optimizer"),
        "params": row.get("params"),
        "features_mode": row.get("features_mode"),
        "gates_passed": bool(row.get("passed")),
        "failed_gates": [k for k, g in gates.items() if (g or {}).get("passed") is False],
        "oos_metrics": row.get("oos_metrics"),
        "window_metrics": ev,
        "source": source,
    }


def _record(
    exp: Any,
    runs_root: Path,
    out: NightlyDecision,
    result: RunResult,
    bars: Any,
    start: int,
    update: dict[str, Any] | None,
) -> None:
    """Replace ``champion.json`` on promotion, write the targets, append the decision (with
    the hand-off: refit choice, targets, data update) to the history."""
    if out.promoted and out.challenger is not None:
        record = {
            **out.challenger,
            "experiment": exp.name,
            "promoted": out.time,
            "run_dir": str(result.run_dir),
            "data_fingerprint": result.results.data.fingerprint,
            "code_version": code_version(),
            "window": out.window,
        }
        atomic_write_json(champion_path(runs_root, exp.name), record)
    out.handoff = hand_off(
        exp, runs_root, bars, window_start=start, time=out.time, data_update=update
    )
    append_history(runs_root, exp.name, out.to_dict())


def _notify(exp: Any, runs_root: Path, out: NightlyDecision) -> dict[str, Any] | None:
    """Run ``nightly.notify`` with the night's summary (None when there is no command)."""
    if not exp.nightly.notify:
        return None
    folder = champion_path(runs_root, exp.name).parent
    paths = {
        "run_dir": out.run_dir,
        "report": str(Path(out.run_dir) / "report.html") if out.run_dir else None,
        "champion": str(champion_path(runs_root, exp.name)),
        "history": str(history_path(runs_root, exp.name)),
        "targets_json": str(folder / "targets.json") if out.handoff.get("targets") else None,
        "targets_csv": str(folder / "targets.csv") if out.handoff.get("targets") else None,
    }
    return notify(exp.nightly.notify, night_summary(out.to_dict(), paths))
