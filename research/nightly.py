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
   crash leaves the previous version intact, never half a file.

``dry_run=True`` does all the computing in a temporary folder and returns the decision without
writing anything under ``runs/`` (no run folder, no champion, no history, no lock file).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from data_loaders.errors import ResearchError

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
]

#: exit status of ``research nightly`` when another nightly run holds the lock (EX_TEMPFAIL;
#: the same value as ``research.cli.EXIT_LOCKED``)
EXIT_LOCKED = 75


class NightlyLocked(ResearchError):
    """Another nightly run of the same experiment is in progress."""


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
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------
def champion_path(runs_root: str | Path, experiment: str) -> Path:
    return Path(runs_root) / experiment / "champion.json"


def history_path(runs_root: str | Path, experiment: str) -> Path:
    return Path(runs_root) / experiment / "champion_history.jsonl"


def lock_path(runs_root: str | Path, experiment: str) -> Path:
    return Path(runs_root) / experiment / "nightly.lock"


def read_champion(runs_root: str | Path, experiment: str) -> dict[str, Any] | None:
    """The current champion record, or None when there is none yet."""
    p = champion_path(runs_root, experiment)
    if not p.is_file():
        return None
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ResearchError(
            f"{p}: champion file is not valid JSON ({exc}); restore it from "
            "champion_history.jsonl or delete it"
        ) from None


def read_history(runs_root: str | Path, experiment: str) -> list[dict[str, Any]]:
    """Every decision recorded so far, oldest first."""
    p = history_path(runs_root, experiment)
    if not p.is_file():
        return []
    return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line]


def _append_history(runs_root: Path, experiment: str, entry: Mapping[str, Any]) -> None:
    from research.runs import _json_safe, atomic_write_text

    p = history_path(runs_root, experiment)
    old = p.read_text(encoding="utf-8") if p.is_file() else ""
    if old and not old.endswith("\n"):
        old += "\n"
    atomic_write_text(p, old + json.dumps(_json_safe(entry), sort_keys=False) + "\n")


@contextmanager
def nightly_lock(runs_root: str | Path, experiment: str) -> Iterator[Path]:
    """Hold ``runs/<experiment>/nightly.lock`` (exclusive, non-blocking flock) for the block.

    Raises :class:`NightlyLocked` naming the holder's pid and start time when it is held. The
    lock is released by the kernel if the process dies, so a crash never leaves it stuck.
    """
    p = lock_path(runs_root, experiment)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            info = json.loads(p.read_text() or "{}")
        except (OSError, ValueError):
            info = {}
        os.close(fd)
        raise NightlyLocked(
            f"another nightly run of {experiment!r} is in progress (pid {info.get('pid', '?')}, "
            f"since {info.get('since', '?')}; lock {p}); not starting a second one"
        ) from None
    try:
        payload = json.dumps(
            {"pid": os.getpid(), "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        ).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, payload, 0)
        yield p
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


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
        spec: an :class:`~research.experiment.Experiment` or the path of its YAML file.
        runs_root: the folder holding ``<experiment>/`` (champion, history, run folders).
        dry_run: compute everything in a temporary folder, write nothing under ``runs_root``.
        n_trials: override of ``nightly.n_trials`` (per fold).
        bars: already-loaded bars instead of reading the spec's data source (tests, scripts).
        progress: show progress bars.

    Raises:
        NightlyLocked: another nightly run of this experiment holds the lock.
    """
    from research.experiment import Experiment, load_experiment

    exp = spec if isinstance(spec, Experiment) else load_experiment(spec)
    runs_root = Path(runs_root)
    if dry_run:
        p = lock_path(runs_root, exp.name)
        if p.is_file():  # report a live lock without creating or holding anything
            fd = os.open(p, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                fcntl.flock(fd, fcntl.LOCK_UN)
            except BlockingIOError:
                raise NightlyLocked(
                    f"another nightly run of {exp.name!r} is in progress "
                    f"(lock {p}); a dry run would not start either"
                ) from None
            finally:
                os.close(fd)
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
    from research.runner import evaluate_params, load_experiment_data, recent_window, run_experiment
    from research.runs import atomic_write_json, code_version

    metric = exp.ranking.metric
    champion = read_champion(runs_root, exp.name)
    if bars is None:
        bars = load_experiment_data(exp)
    start, n_bars_total = recent_window(exp, bars)
    index = _index(bars)
    window = {
        "start": str(index[start]),
        "end": str(index[-1]),
        "n_bars": int(n_bars_total - start),
        "start_position": int(start),
    }
    warm = _warm_start(exp, runs_root, champion)
    budget = n_trials or exp.nightly.n_trials or exp.budget.n_trials
    night_exp = replace(
        exp,
        budget=replace(exp.budget, n_trials=int(budget)),
        tracking=replace(exp.tracking, backend="none") if dry_run else exp.tracking,
    )
    run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S") + "-nightly"
    out_dir = work_root / exp.name / run_id
    n = 1
    while out_dir.exists():
        n += 1
        out_dir = work_root / exp.name / f"{run_id}-{n}"
    history_bars = _slice(bars, 0, start)
    result = run_experiment(
        night_exp,
        out_dir=out_dir,
        progress=progress,
        bars=history_bars,
        warm_start=warm,
        runs_root=work_root,
    )
    challenger_row = (result.results.get("verdict") or {}).get("champion")
    best_row = challenger_row or ((result.results.get("leaderboard") or [None])[0])
    reasons: list[str] = []

    def judged(row: Mapping[str, Any] | None, source: str) -> dict[str, Any] | None:
        if row is None:
            return None
        ev = evaluate_params(
            exp,
            row["strategy_ref"],
            row["params"],
            bars,
            start=start,
            features_mode=row.get("features_mode"),
        )
        return {
            "candidate": row.get("candidate"),
            "strategy": row.get("strategy"),
            "strategy_ref": row.get("strategy_ref"),
            "optimizer": row.get("optimizer"),
            "params": row.get("params"),
            "features_mode": row.get("features_mode"),
            "gates_passed": bool(row.get("passed")),
            "failed_gates": [
                k for k, g in (row.get("gates") or {}).items() if (g or {}).get("passed") is False
            ],
            "oos_metrics": row.get("oos_metrics"),
            "window_metrics": ev,
            "source": source,
        }

    chall = judged(best_row, "challenger") if best_row else None
    champ = judged(champion, "champion") if champion else None
    c_val = (chall or {}).get("window_metrics", {}).get(metric) if chall else None
    k_val = (champ or {}).get("window_metrics", {}).get(metric) if champ else None
    better = _direction(exp, metric) == "maximize"

    promoted = False
    if chall is None:
        decision = "kept" if champ else "no_champion"
        reasons.append("the re-optimization produced no candidate")
    elif not chall["gates_passed"]:
        decision = "kept" if champ else "no_champion"
        reasons.append(
            f"challenger {chall['candidate']} fails gates: "
            f"{', '.join(chall['failed_gates']) or 'see its report'}"
        )
    elif champ is None:
        decision, promoted = "promoted", True
        reasons.append(f"no champion yet; challenger {chall['candidate']} passes every gate")
    elif c_val is None or k_val is None:
        decision = "kept"
        reasons.append(
            f"{metric} on the window is undefined (challenger {c_val}, champion "
            f"{k_val}); keeping the champion"
        )
    else:
        margin = exp.nightly.min_improvement
        gain = (c_val - k_val) if better else (k_val - c_val)
        if gain > margin:
            decision, promoted = "promoted", True
            reasons.append(
                f"challenger passes every gate and beats the champion on the window: "
                f"{metric} {c_val:.4f} vs {k_val:.4f} (improvement {gain:.4f} > "
                f"{margin})"
            )
        else:
            decision = "kept"
            reasons.append(
                f"challenger passes every gate but does not beat the champion by more "
                f"than {margin} on the window: {metric} {c_val:.4f} vs {k_val:.4f}"
            )
    out = NightlyDecision(
        experiment=exp.name,
        decision=decision,
        promoted=promoted,
        reasons=reasons,
        metric=metric,
        window=window,
        champion=champ,
        challenger=chall,
        run_dir=None if dry_run else str(result.run_dir),
        warm_start={k: len(v) for k, v in warm.items()},
        dry_run=dry_run,
    )
    if dry_run:
        return out
    if promoted and chall is not None:
        record = {
            **chall,
            "experiment": exp.name,
            "promoted": out.time,
            "run_dir": str(result.run_dir),
            "data_fingerprint": (result.results.get("data") or {}).get("fingerprint"),
            "code_version": code_version(),
            "window": window,
        }
        atomic_write_json(champion_path(runs_root, exp.name), record)
    _append_history(runs_root, exp.name, out.to_dict())
    return out


def _direction(exp: Any, metric: str) -> str:
    from research.experiment import DEFAULT_DIRECTIONS

    for o in exp.objectives:
        if o.metric == metric:
            return o.direction
    return DEFAULT_DIRECTIONS.get(metric, "maximize")


def _warm_start(
    exp: Any, runs_root: Path, champion: Mapping[str, Any] | None
) -> dict[str, list[dict[str, Any]]]:
    """Parameter sets to enqueue first, per strategy label: the champion's, then the best
    distinct trials of the last run's study (its ``series/trials.parquet``)."""
    import pandas as pd

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
    from research.runs import list_runs

    for info in list_runs(runs_root, experiment):
        if info.status == "finished":
            return info.path
    return None


def _index(bars: Any):
    if isinstance(bars, Mapping):
        return next(iter(bars.values())).index
    return bars.index


def _slice(bars: Any, start: int, stop: int) -> Any:
    if isinstance(bars, Mapping):
        return {k: v.iloc[start:stop] for k, v in bars.items()}
    return bars.iloc[start:stop]
