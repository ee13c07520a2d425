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

``dry_run=True`` does all the computing in a temporary folder and returns the decision without
writing anything under ``runs/`` (no run folder, no champion, no history, no lock file, no
targets, no notification, no data store update).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

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
from research.run.compare import list_runs
from research.run.data import load_experiment_data
from research.run.handoff import hand_off, night_summary, notify, refresh_data
from research.run.pending import clear_pending, load_pending, save_pending
from research.run.pipeline import RunResult, run_experiment
from research.run.store import atomic_write_json
from research.run.window import evaluate_params, recent_window
from research.spec.build import (
    experiment_bars_per_year,
    ranking_direction,
)

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
]

#: exit status of ``research nightly`` when another nightly run holds the lock (EX_TEMPFAIL;
#: the same value as ``research.cli.EXIT_LOCKED``)
EXIT_LOCKED = 75


@dataclass
class NightlyDecision:
    """What a night decided (also the line appended to the champion history)."""

    experiment: str
    decision: str  # "promoted" | "kept" | "no_champion"
    promoted: bool
    reasons: list[str]
    metric: str
    window: dict[str, Any]
    champion: dict[str, Any] | None
    challenger: dict[str, Any] | None
    run_dir: str | None
    warm_start: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False
    time: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    #: what :func:`research.run.handoff.hand_off` did (targets, refit, data update, error)
    handoff: dict[str, Any] = field(default_factory=dict)
    #: the notify command's outcome (None: no ``nightly.notify``, or a dry run)
    notify: dict[str, Any] | None = None

    @property
    def handoff_failed(self) -> list[str]:
        """One line per hand-off step that failed (targets, notify); empty when all went well."""
        out = [self.handoff["error"]] if self.handoff.get("error") else []
        if self.notify is not None and not self.notify.get("ok"):
            out.append(self.notify["message"])
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "experiment": self.experiment,
            "decision": self.decision,
            "promoted": self.promoted,
            "reasons": self.reasons,
            "metric": self.metric,
            "window": self.window,
            "champion": self.champion,
            "challenger": self.challenger,
            "run_dir": self.run_dir,
            "warm_start": self.warm_start,
            "dry_run": self.dry_run,
            "handoff": self.handoff,
            "notify": self.notify,
        }

    def summary(self) -> str:
        lines = [
            f"nightly {self.experiment}: {self.decision.upper()}"
            + (" (dry run: nothing written)" if self.dry_run else "")
        ]
        w = self.window
        lines.append(f"  window: {w.get('start')} -> {w.get('end')} ({w.get('n_bars')} bars)")
        for who, c in (("champion", self.champion), ("challenger", self.challenger)):
            if c:
                val = (c.get("window_metrics") or {}).get(self.metric)
                val_s = "n/a" if val is None else f"{val:.4f}"
                lines.append(
                    f"  {who}: {c.get('candidate')} {c.get('params')} "
                    f"{self.metric} on window = {val_s}"
                )
            else:
                lines.append(f"  {who}: none")
        if self.warm_start:
            lines.append(
                "  warm start: " + ", ".join(f"{k}: {v} trials" for k, v in self.warm_start.items())
            )
        lines.extend(f"  - {r}" for r in self.reasons)
        if self.run_dir:
            lines.append(f"  run folder: {self.run_dir}")
        t = self.handoff.get("targets")
        if t:
            held = ", ".join(f"{r['symbol']} {r['target']:+.4g}" for r in t["targets"])
            lines.append(f"  targets for the next bar: {held} (data to {t['data_timestamp']})")
        for u in (self.handoff.get("data_update") or {}).get("updates", []):
            lines.append(f"  data: {u['message']}")
        if self.notify is not None:
            lines.append(f"  notify: {self.notify['message']}")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# the night
# --------------------------------------------------------------------------------------------
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


def challenger_dsr(
    chall: Mapping[str, Any],
    champ: Mapping[str, Any] | None,
    n_obs: int,
    looks: int,
    bars: Any,
    exp: Any,
) -> dict[str, Any]:
    """The challenger's deflated Sharpe ratio on the recent window, counted as a ``challenger``
    record (:func:`research.judge.trial_count.trial_count`): ``N`` = the night's challenger and
    champion plus ``looks`` earlier nights. Normal returns assumed (the window's skew and
    kurtosis are not kept); Sharpe ratios from ``window_metrics`` (annualised)."""
    from research.judge.trial_count import trial_count
    from research.overfitting import deflated_sharpe_ratio

    ppy = float(experiment_bars_per_year(exp, bars))
    sharpes = [
        float(r["window_metrics"]["sharpe_ratio"]) / ppy**0.5
        for r in (chall, champ)
        if r is not None and (r.get("window_metrics") or {}).get("sharpe_ratio") is not None
    ]
    if not sharpes or n_obs < 3:
        return {"note": "not computed: no window Sharpe ratio"}
    count = trial_count(
        record="challenger", candidate_sharpes=sharpes, n_obs=n_obs, prior_looks=looks
    )
    dsr = deflated_sharpe_ratio(sharpes[0], n_obs, count.n_trials, count.sharpe_variance)
    return {"dsr": dsr, "n_trials": count.n_trials, "note": count.note}


def _judged(exp: Any, row: Mapping[str, Any], bars: Any, start: int, source: str) -> dict[str, Any]:
    """A leaderboard row (or the champion record) with its metrics on the recent window."""
    ev = evaluate_params(
        exp,
        row["strategy_ref"],
        row["params"],
        bars,
        start=start,
        features_mode=row.get("features_mode"),
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


# --------------------------------------------------------------------------------------------
# the decision (pure)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Decision:
    """What :func:`decide` returns: ``promoted`` / ``kept`` / ``no_champion`` and why."""

    decision: str
    promoted: bool
    reasons: tuple[str, ...]


def decide(
    challenger: Mapping[str, Any] | None,
    champion: Mapping[str, Any] | None,
    *,
    metric: str,
    direction: str,
    margin: float,
) -> Decision:
    """Promote the challenger or keep the champion (no I/O; see the module docstring, step 5).

    ``challenger`` / ``champion``: ``{"candidate", "gates_passed", "failed_gates",
    "window_metrics": {metric: value}}`` (None: there is none). The challenger is promoted when
    it passed every gate of its run and, if a champion exists, beats the champion's ``metric``
    on the window by more than ``margin`` in ``direction`` (``maximize`` / ``minimize``). An
    undefined value on the window keeps the champion.
    """
    keep = "kept" if champion else "no_champion"
    if challenger is None:
        return Decision(keep, False, ("the re-optimization produced no candidate",))
    name = challenger.get("candidate")
    if not challenger.get("gates_passed"):
        failed = ", ".join(challenger.get("failed_gates") or []) or "see its report"
        return Decision(keep, False, (f"challenger {name} fails gates: {failed}",))
    if champion is None:
        return Decision(
            "promoted", True, (f"no champion yet; challenger {name} passes every gate",)
        )
    c_val = (challenger.get("window_metrics") or {}).get(metric)
    k_val = (champion.get("window_metrics") or {}).get(metric)
    if c_val is None or k_val is None:
        why = (
            f"{metric} on the window is undefined (challenger {c_val}, champion {k_val}); "
            "keeping the champion"
        )
        return Decision("kept", False, (why,))
    gain = (c_val - k_val) if direction == "maximize" else (k_val - c_val)
    if gain > margin:
        why = (
            f"challenger passes every gate and beats the champion on the window: "
            f"{metric} {c_val:.4f} vs {k_val:.4f} (improvement {gain:.4f} > {margin})"
        )
        return Decision("promoted", True, (why,))
    why = (
        f"challenger passes every gate but does not beat the champion by more than "
        f"{margin} on the window: {metric} {c_val:.4f} vs {k_val:.4f}"
    )
    return Decision("kept", False, (why,))


def warm_start_sets(
    exp: Any, runs_root: Path, champion: Mapping[str, Any] | None
) -> dict[str, list[dict[str, Any]]]:
    """Parameter sets to enqueue first, per strategy label: the champion's, then the best
    distinct trials of the last run's study (its ``series/trials.parquet``)."""

    labels = [s.label or s.name for s in exp.strategies]
    out: dict[str, list[dict[str, Any]]] = {}
    if champion and champion.get("strategy") in labels:
        out.setdefault(champion["strategy"], []).append(dict(champion["params"]))
    k = exp.nightly.warm_start
    last = _last_run_dir(runs_root, exp.name)
    if k > 0 and last is not None and (last / "series" / "trials.parquet").is_file():
        trials = pd.read_parquet(last / "series" / "trials.parquet")
        trials = trials[trials["state"] == "COMPLETE"].dropna(subset=["value"])
        for label in labels:
            t = trials[trials["strategy"] == label]
            if t.empty:
                continue
            asc = (t["direction"].iloc[0] == "minimize") if "direction" in t else False
            seen = {json.dumps(p, sort_keys=True) for p in out.get(label, [])}
            added = 0
            for p in t.sort_values("value", ascending=asc)["params"]:
                if p in seen or json.dumps(json.loads(p), sort_keys=True) in seen:
                    continue
                seen.add(json.dumps(json.loads(p), sort_keys=True))
                out.setdefault(label, []).append(json.loads(p))
                added += 1
                if added >= k:
                    break
    return out


def _last_run_dir(runs_root: Path, experiment: str) -> Path | None:
    for info in list_runs(runs_root, experiment):
        if info.status == "finished":
            return info.path
    return None
