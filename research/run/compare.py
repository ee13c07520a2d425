"""Listing run folders (``research runs``) and comparing two finished runs (``research compare``).

Both read a run through :class:`research.run.results.RunResults` (any schema version) and its
``run.json`` / ``config.yaml``; a folder whose results cannot be read is listed without them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data_loaders.errors import ConfigError
from research.run.results import LeaderboardRow, RunResults
from research.run.store import MARKER, read_run_record

__all__ = [
    "RunInfo",
    "list_runs",
    "load_results",
    "format_runs",
    "flatten_config",
    "compare_runs",
    "format_comparison",
]


@dataclass(frozen=True)
class RunInfo:
    """One row of :func:`list_runs`: the champion, else the top of the leaderboard (with
    ``passed`` False), and its out-of-sample ranking metric."""

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


def load_results(path: str | Path) -> dict[str, Any]:
    """``results.json`` of a run folder as plain JSON data in the current schema.

    Raises:
        ConfigError: the folder is not a finished run (see :meth:`RunResults.load`).
    """
    return RunResults.load(path).to_json()


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
            if rec is not None:
                out.append(_info(run_dir, exp_dir.name, rec))
    out.sort(key=lambda r: (r.started or "", r.run_id), reverse=True)
    return out


def _info(run_dir: Path, experiment: str, rec: Mapping[str, Any]) -> RunInfo:
    status = "unfinished" if (run_dir / MARKER).exists() else rec.get("status", "?")
    champ = metric = value = passed = None
    if (run_dir / "results.json").is_file():
        try:
            res = RunResults.load(run_dir)
        except ConfigError:
            res = None
        if res is not None:
            lead = res.verdict.lead
            metric = res.ranking_metric
            champ = lead.candidate if lead else None
            value = lead.metric(metric) if lead else None
            passed = res.verdict.passed
    return RunInfo(
        path=run_dir,
        experiment=rec.get("experiment", experiment),
        run_id=rec.get("run_id", run_dir.name),
        status=status,
        started=rec.get("started"),
        finished=rec.get("finished"),
        champion=champ,
        metric=metric,
        value=value,
        passed=passed,
    )


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


def _changes(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    return [(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def compare_runs(a: str | Path, b: str | Path) -> dict[str, Any]:
    """What changed from run ``a`` to run ``b``.

    Returns ``{"a", "b", "config": [(key, old, new)], "champion": (old, new), "passed": (old,
    new), "params": [(name, old, new)], "metrics": [(metric, old, new, delta)], "gates":
    [(gate, old passed, new passed)], "data": [(key, old, new)]}``. Both must be finished runs.
    """
    ra, rb = RunResults.load(a), RunResults.load(b)
    cha, chb = ra.verdict.champion, rb.verdict.champion
    ma, mb = _row_metrics(cha), _row_metrics(chb)
    metrics = []
    for k in sorted(set(ma) | set(mb)):
        va, vb = ma.get(k), mb.get(k)
        delta = vb - va if isinstance(va, int | float) and isinstance(vb, int | float) else None
        if va != vb:
            metrics.append((k, va, vb, delta))
    ga = {k: g.passed for k, g in cha.gates.items()} if cha else {}
    gb = {k: g.passed for k, g in chb.gates.items()} if chb else {}
    data_a, data_b = ra.to_json()["data"], rb.to_json()["data"]
    return {
        "a": str(a),
        "b": str(b),
        "config": _changes(flatten_config(_read_config(a)), flatten_config(_read_config(b))),
        "champion": (cha.candidate if cha else None, chb.candidate if chb else None),
        "passed": (ra.verdict.passed, rb.verdict.passed),
        "params": _changes(dict(cha.params) if cha else {}, dict(chb.params) if chb else {}),
        "metrics": metrics,
        "gates": [(k, ga.get(k), gb.get(k)) for k in sorted(set(ga) | set(gb))],
        "data": _changes(data_a, data_b),
    }


def _row_metrics(row: LeaderboardRow | None) -> dict[str, float | None]:
    return dict(row.oos_metrics) if row is not None else {}


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

    def change(r: tuple) -> str:
        return f"  {r[0]}: {_fmt(r[1])} -> {_fmt(r[2])}"

    sections = [
        ("config changes", diff["config"], change),
        ("data changes", diff["data"], change),
        ("champion parameters", diff["params"], change),
        (
            "champion out-of-sample metrics",
            diff["metrics"],
            lambda r: change(r) + ("" if r[3] is None else f"  ({r[3]:+.4g})"),
        ),
        ("gates", diff["gates"], lambda r: change(r) + ("" if r[1] == r[2] else "  (changed)")),
    ]
    for title, rows, fmt in sections:
        lines.append("")
        lines.append(f"{title}:" if rows else f"{title}: none changed")
        lines.extend(fmt(r) for r in rows)
    return "\n".join(lines)
