"""The run store: one folder per research run, listing and comparing runs.

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
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from data_loaders.errors import ConfigError

__all__ = [
    "RunDir",
    "RunInfo",
    "MARKER",
    "prepare_run_dir",
    "finish_run",
    "release_run",
    "write_run_record",
    "write_run_record_path",
    "read_run_record",
    "code_version",
    "atomic_write_text",
    "atomic_write_json",
    "list_runs",
    "load_results",
    "compare_runs",
    "format_comparison",
    "format_runs",
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


@dataclass(frozen=True)
class RunInfo:
    """One row of :func:`list_runs`."""

    path: Path
    experiment: str
    run_id: str
    status: str
    started: str | None
    finished: str | None
    champion: str | None
    metric: str | None
    value: float | None
    passed: bool | None


# --------------------------------------------------------------------------------------------
# code version and atomic writes
# --------------------------------------------------------------------------------------------
def code_version() -> dict[str, str | None]:
    """``{"package": <installed version>, "git": <git describe --always --dirty> or None}``.

    The git description is taken from the folder of this package (the project checkout), so it
    is None for a plain install.
    """
    from importlib import metadata

    try:
        package = metadata.version("quant-research")
    except metadata.PackageNotFoundError:
        package = None
    root = Path(__file__).resolve().parents[1]
    git = None
    if (root / ".git").exists():
        try:
            out = subprocess.run(
                ["git", "-C", str(root), "describe", "--always", "--dirty", "--tags"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
            git = out.stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            git = None
    return {"package": package, "git": git}


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: a temporary file in the same folder, fsync, then
    ``os.replace`` (and an fsync of the folder), so a reader or a crash never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, path.stat().st_mode & 0o777 if path.exists() else _default_mode())
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _default_mode() -> int:
    """``0o666`` minus the process umask (what ``open(path, "w")`` would give)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_json(path: str | Path, data: Any) -> None:
    """:func:`atomic_write_text` of ``data`` as indented JSON (NaN/inf written as null)."""
    atomic_write_text(path, json.dumps(_json_safe(data), indent=2, sort_keys=False) + "\n")


def _json_safe(value: Any) -> Any:
    import math

    import numpy as np

    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_json_safe(v) for v in value.tolist()]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


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
        return json.loads(p.read_text(encoding="utf-8"))
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# listing and comparing
# --------------------------------------------------------------------------------------------
def load_results(path: str | Path) -> dict[str, Any]:
    """``results.json`` of a run folder; ConfigError when the folder is not a finished run."""
    p = Path(path)
    if not p.is_dir():
        raise ConfigError(f"run folder {str(p)!r} not found")
    f = p / "results.json"
    if not f.is_file():
        state = (
            "unfinished (rerun its command to resume)"
            if (p / MARKER).exists()
            else ("not a run folder")
        )
        raise ConfigError(f"{str(p)!r} has no results.json: it is {state}")
    try:
        return json.loads(f.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ConfigError(f"{str(f)!r} is not valid JSON: {exc}") from None


def list_runs(root: str | Path = "runs", experiment: str | None = None) -> list[RunInfo]:
    """Every run folder under ``root`` (optionally one experiment), newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    out: list[RunInfo] = []
    exps = [root / experiment] if experiment else sorted(p for p in root.iterdir() if p.is_dir())
    for exp_dir in exps:
        if not exp_dir.is_dir():
            continue
        for run_dir in exp_dir.iterdir():
            rec = read_run_record(run_dir) if run_dir.is_dir() else None
            if rec is None:
                continue
            status = "unfinished" if (run_dir / MARKER).exists() else rec.get("status", "?")
            champ = metric = value = passed = None
            res_file = run_dir / "results.json"
            if res_file.is_file():
                try:
                    res = json.loads(res_file.read_text(encoding="utf-8"))
                except ValueError:
                    res = {}
                verdict = res.get("verdict") or {}
                # the champion, else the top of the leaderboard (shown with its gates FAILED)
                c = verdict.get("champion") or verdict.get("best") or {}
                champ = c.get("candidate")
                metric = res.get("ranking_metric")
                value = (c.get("oos_metrics") or {}).get(metric) if metric else None
                passed = verdict.get("passed")
            out.append(
                RunInfo(
                    path=run_dir,
                    experiment=rec.get("experiment", exp_dir.name),
                    run_id=rec.get("run_id", run_dir.name),
                    status=status,
                    started=rec.get("started"),
                    finished=rec.get("finished"),
                    champion=champ,
                    metric=metric,
                    value=value,
                    passed=passed,
                )
            )
    out.sort(key=lambda r: (r.started or "", r.run_id), reverse=True)
    return out


def format_runs(runs: list[RunInfo]) -> str:
    """A plain-text table of :func:`list_runs`."""
    if not runs:
        return "no runs found"
    rows = [("experiment", "run", "status", "champion (or best)", "oos metric", "gates", "path")]
    for r in runs:
        val = "" if r.value is None else f"{r.metric}={r.value:.3f}"
        gates = "" if r.passed is None else ("passed" if r.passed else "FAILED")
        rows.append((r.experiment, r.run_id, r.status, r.champion or "", val, gates, str(r.path)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)


def flatten_config(d: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings (and lists of mappings) as one ``{"a.b[0].c": value}`` dict."""
    out: dict[str, Any] = {}
    if isinstance(d, Mapping):
        for k, v in d.items():
            out.update(flatten_config(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(d, list) and d and all(isinstance(x, Mapping) for x in d):
        for i, v in enumerate(d):
            out.update(flatten_config(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = d
    return out


def compare_runs(a: str | Path, b: str | Path) -> dict[str, Any]:
    """What changed from run ``a`` to run ``b``.

    Returns ``{"a", "b", "config": [(key, old, new)], "champion": {...}, "params":
    [(name, old, new)], "metrics": [(metric, old, new, delta)], "gates": [(gate, old, new)],
    "data": [(key, old, new)]}``. Both must be finished runs.
    """
    ra, rb = load_results(a), load_results(b)
    ca, cb = _read_config(a), _read_config(b)
    fa, fb = flatten_config(ca), flatten_config(cb)
    config = [
        (k, fa.get(k), fb.get(k)) for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)
    ]
    cha = (ra.get("verdict") or {}).get("champion") or {}
    chb = (rb.get("verdict") or {}).get("champion") or {}
    pa, pb = cha.get("params") or {}, chb.get("params") or {}
    params = [
        (k, pa.get(k), pb.get(k)) for k in sorted(set(pa) | set(pb)) if pa.get(k) != pb.get(k)
    ]
    ma, mb = cha.get("oos_metrics") or {}, chb.get("oos_metrics") or {}
    metrics = []
    for k in sorted(set(ma) | set(mb)):
        va, vb = ma.get(k), mb.get(k)
        delta = vb - va if isinstance(va, int | float) and isinstance(vb, int | float) else None
        if va != vb:
            metrics.append((k, va, vb, delta))
    ga, gb = cha.get("gates") or {}, chb.get("gates") or {}

    def passed(g: Any) -> bool | None:
        return g.get("passed") if isinstance(g, Mapping) else g

    gates = [(k, passed(ga.get(k)), passed(gb.get(k))) for k in sorted(set(ga) | set(gb))]
    da, db = ra.get("data") or {}, rb.get("data") or {}
    data = [(k, da.get(k), db.get(k)) for k in sorted(set(da) | set(db)) if da.get(k) != db.get(k)]
    return {
        "a": str(a),
        "b": str(b),
        "config": config,
        "champion": (cha.get("candidate"), chb.get("candidate")),
        "passed": (
            (ra.get("verdict") or {}).get("passed"),
            (rb.get("verdict") or {}).get("passed"),
        ),
        "params": params,
        "metrics": metrics,
        "gates": gates,
        "data": data,
    }


def _read_config(path: str | Path) -> dict[str, Any]:
    import yaml

    f = Path(path) / "config.yaml"
    if not f.is_file():
        return {}
    return yaml.safe_load(f.read_text(encoding="utf-8")) or {}


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, bool) or v is None:
        return {True: "pass", False: "FAIL", None: "-"}[v]
    return str(v)


def format_comparison(diff: Mapping[str, Any]) -> str:
    """Plain text of :func:`compare_runs`."""
    lines = [f"A: {diff['a']}", f"B: {diff['b']}", ""]
    ca, cb = diff["champion"]
    lines.append(f"champion: {ca or '-'}  ->  {cb or '-'}")
    pa, pb = diff["passed"]
    lines.append(f"verdict:  {'passed' if pa else 'failed'}  ->  {'passed' if pb else 'failed'}")
    sections = [
        ("config changes", diff["config"], lambda r: f"  {r[0]}: {_fmt(r[1])} -> {_fmt(r[2])}"),
        ("data changes", diff["data"], lambda r: f"  {r[0]}: {_fmt(r[1])} -> {_fmt(r[2])}"),
        (
            "champion parameters",
            diff["params"],
            lambda r: f"  {r[0]}: {_fmt(r[1])} -> {_fmt(r[2])}",
        ),
        (
            "champion out-of-sample metrics",
            diff["metrics"],
            lambda r: (
                f"  {r[0]}: {_fmt(r[1])} -> {_fmt(r[2])}"
                + ("" if r[3] is None else f"  ({r[3]:+.4g})")
            ),
        ),
        (
            "gates",
            diff["gates"],
            lambda r: (
                f"  {r[0]}: {_fmt(r[1])} -> {_fmt(r[2])}" + ("" if r[1] == r[2] else "  (changed)")
            ),
        ),
    ]
    for title, rows, fmt in sections:
        lines.append("")
        lines.append(f"{title}:" if rows else f"{title}: none changed")
        lines.extend(fmt(r) for r in rows)
    return "\n".join(lines)
