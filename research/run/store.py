"""The run store: one folder per research run (opening, locking, resuming, finishing).

Listing and comparing finished runs is :mod:`research.run.compare`.

Layout (``runs/<experiment>/<run-id>/``, run id = UTC start time ``YYYYmmdd-HHMMSS``)::

    config.yaml         the resolved experiment spec (every default filled in, CLI overrides applied)
    run.json            run record: experiment, run id, status, seed, data fingerprint, code
                        version, command, start/end times, spec hash
    study.db            Optuna RDB storage (SQLite) holding every trial of every fold
    results.json        everything the report needs besides the series (verdict, leaderboard,
                        folds, overfitting statistics, importance, exploration summary)
    leaderboard.csv     the ranked candidates with their out-of-sample metrics and gate results
    series/*.parquet    stitched out-of-sample returns of the candidates, buy-and-hold, trades
    report.html         the self-contained report (``research report RUN_DIR`` rebuilds it)
    .in_progress        present while the run is unfinished (removed when it completes)

Resume rule: a run folder holding ``.in_progress`` is unfinished. ``research run SPEC --out DIR``
on such a folder resumes it (the optimizers resume from ``study.db``: completed trials are kept,
the remaining ones run). Without ``--out``, the newest unfinished run of the same experiment
whose spec hash matches (same data, strategies, optimizers, layout, objectives, seed and costs)
is resumed; ``--new`` forces a fresh folder. A folder that holds a finished run, or files that
are not a run's, is never written into: the command refuses with a clear error.

While a run works in a folder it holds an exclusive ``flock`` on ``.in_progress``, so a second
process cannot work in the same folder at the same time.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from data_loaders.atomic import atomic_write_text
from data_loaders.errors import ConfigError
from research._json import to_jsonable
from research._version import code_version

__all__ = [
    "RunDir",
    "MARKER",
    "prepare_run_dir",
    "run_record_problem",
    "finish_run",
    "release_run",
    "write_run_record",
    "write_run_record_path",
    "read_run_record",
    "code_version",
    "atomic_write_text",
    "atomic_write_json",
    "resume_key",
]

MARKER = ".in_progress"
RUN_FILES = (
    "config.yaml",
    "run.json",
    "study.db",
    "study.db-wal",
    "study.db-shm",
    "study.db-journal",
    "checkpoints",
    "results.json",
    "leaderboard.csv",
    "report.html",
    "series",
    "explore",
    MARKER,
)


@dataclass
class RunDir:
    """An open run folder. ``resumed`` tells whether an unfinished run is being continued.

    Holds the exclusive lock on the marker until :func:`finish_run` or :func:`release_run`.
    """

    path: Path
    run_id: str
    resumed: bool
    _lock_fd: int | None = field(default=None, repr=False)

    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def study_db(self) -> Path:
        return self.path / "study.db"

    @property
    def storage_url(self) -> str:
        return f"sqlite:///{self.study_db.resolve()}"


# --------------------------------------------------------------------------------------------
# atomic writes (the one implementation is data_loaders.atomic; re-exported here)
# --------------------------------------------------------------------------------------------
def atomic_write_json(path: str | Path, data: Any) -> None:
    """:func:`atomic_write_text` of ``data`` as indented JSON (NaN/inf written as null)."""
    atomic_write_text(path, json.dumps(to_jsonable(data), indent=2, sort_keys=False) + "\n")


# --------------------------------------------------------------------------------------------
# opening and closing run folders
# --------------------------------------------------------------------------------------------
def resume_key(spec_dict: Mapping[str, Any]) -> str:
    """Hash of the parts of a resolved spec that define *the same run* for resuming.

    The budget, workers, scheduler, storage, tracking, report and nightly options are left out:
    rerunning with more trials or more workers continues the same study.
    """
    import hashlib

    keep = {
        k: v
        for k, v in spec_dict.items()
        if k
        not in {
            "budget",
            "workers",
            "scheduler",
            "storage",
            "tracking",
            "report",
            "nightly",
            "description",
        }
    }
    text = json.dumps(keep, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _now_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")


def _lock(path: Path) -> int:
    """Open ``path`` and take a non-blocking exclusive flock; ConfigError when it is held."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            info = json.loads(Path(path).read_text() or "{}")
        except (OSError, ValueError):
            info = {}
        os.close(fd)
        who = f" (pid {info['pid']})" if "pid" in info else ""
        raise ConfigError(
            f"run folder {str(path.parent)!r} is in use by another research process{who}; "
            "wait for it or pass another --out"
        ) from None
    return fd


def _write_marker(fd: int, key: str) -> None:
    payload = json.dumps(
        {"pid": os.getpid(), "resume_key": key, "since": dt.datetime.now(dt.UTC).isoformat()}
    ).encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, payload, 0)
    os.fsync(fd)


def _marker_key(path: Path) -> str | None:
    try:
        return json.loads((path / MARKER).read_text() or "{}").get("resume_key")
    except (OSError, ValueError):
        return None


def _is_finished_run(path: Path) -> bool:
    rec = read_run_record(path)
    return rec is not None and rec.get("status") == "finished" and not (path / MARKER).exists()


def prepare_run_dir(
    experiment: str,
    spec_dict: Mapping[str, Any],
    *,
    out: str | Path | None = None,
    root: str | Path = "runs",
    new: bool = False,
) -> RunDir:
    """Open the folder a run writes to, resuming an unfinished one when the rules allow it.

    ``out``: an explicit folder (created when missing; resumed when it holds an unfinished run of
    the same spec; refused when it holds a finished run or foreign files). Otherwise
    ``root/<experiment>/<run-id>/``, resuming the newest unfinished run of the same spec unless
    ``new``. Raises :class:`ConfigError` when the folder cannot be used.
    """
    key = resume_key(spec_dict)
    if out is not None:
        path = Path(out)
        if path.exists() and not path.is_dir():
            raise ConfigError(f"--out {str(path)!r} is a file, not a folder")
        if path.is_dir() and any(path.iterdir()):
            if (path / MARKER).exists():
                old = _marker_key(path)
                if old is not None and old != key:
                    raise ConfigError(
                        f"--out {str(path)!r} holds an unfinished run of a different spec "
                        f"(data, strategies, optimizers, layout, objectives, seed or costs "
                        f"changed); pass another --out or delete the folder"
                    )
                return _open(path, key, resumed=True)
            if _is_finished_run(path):
                raise ConfigError(
                    f"--out {str(path)!r} already holds a finished run; refusing to overwrite "
                    "it (pass another --out, or `research report` to rebuild its report)"
                )
            foreign = sorted(p.name for p in path.iterdir() if p.name not in RUN_FILES)
            what = f" ({', '.join(foreign[:3])}{'...' if len(foreign) > 3 else ''})"
            raise ConfigError(
                f"--out {str(path)!r} is not empty and is not a run folder{what if foreign else ''}"
                "; refusing to write into it (pass an empty or new folder)"
            )
        path.mkdir(parents=True, exist_ok=True)
        return _open(path, key, resumed=False)

    base = Path(root) / experiment
    if not new and base.is_dir():
        for cand in sorted(base.iterdir(), reverse=True):
            if cand.is_dir() and (cand / MARKER).exists() and _marker_key(cand) == key:
                try:
                    return _open(cand, key, resumed=True)
                except ConfigError:  # in use by a live process: start a fresh one instead
                    continue
    run_id = _now_id()
    path = base / run_id
    n = 1
    while path.exists():
        n += 1
        path = base / f"{run_id}-{n}"
    path.mkdir(parents=True)
    return _open(path, key, resumed=False)


def _open(path: Path, key: str, *, resumed: bool) -> RunDir:
    fd = _lock(path / MARKER)
    _write_marker(fd, key)
    rec = read_run_record(path) or {}
    run_id = rec.get("run_id") or path.name
    return RunDir(path=path, run_id=run_id, resumed=resumed, _lock_fd=fd)


def release_run(run: RunDir) -> None:
    """Drop the lock but keep the run unfinished (after an error: rerun to resume)."""
    if run._lock_fd is not None:
        fcntl.flock(run._lock_fd, fcntl.LOCK_UN)
        os.close(run._lock_fd)
        run._lock_fd = None


def finish_run(run: RunDir) -> None:
    """Mark the run finished: status in ``run.json`` and the marker removed."""
    rec = read_run_record(run.path) or {}
    rec["status"] = "finished"
    rec["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    atomic_write_json(run.path / "run.json", rec)
    (run.path / MARKER).unlink(missing_ok=True)
    release_run(run)


def write_run_record(run: RunDir, **fields: Any) -> dict[str, Any]:
    """Create or update ``run.json`` (status ``running`` until :func:`finish_run`)."""
    rec = read_run_record(run.path)
    if rec is None:
        rec = {
            "run_id": run.run_id,
            "status": "running",
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "python": sys.version.split()[0],
        }
    rec.update(fields)
    atomic_write_json(run.path / "run.json", rec)
    return rec


def write_run_record_path(path: str | Path, **fields: Any) -> dict[str, Any]:
    """Update fields of an existing ``run.json`` in ``path``."""
    rec = read_run_record(path) or {}
    rec.update(fields)
    atomic_write_json(Path(path) / "run.json", rec)
    return rec


def read_run_record(path: str | Path) -> dict[str, Any] | None:
    p = Path(path) / "run.json"
    if not p.is_file():
        return None
    try:
        rec = json.loads(p.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    return rec if isinstance(rec, dict) else None


def run_record_problem(path: str | Path) -> str | None:
    """What is wrong with the folder's ``run.json`` (None when it reads as a JSON object or
    is absent): one phrase for listings of damaged folders."""
    p = Path(path) / "run.json"
    if not p.is_file():
        return None
    try:
        rec = json.loads(p.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        return f"run.json is not valid JSON ({exc})"
    return None if isinstance(rec, dict) else f"run.json holds a {type(rec).__name__}"
