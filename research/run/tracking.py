"""Experiment tracking with MLflow (``tracking: {backend: mlflow, uri: ...}``).

The run folder and its study database stay the source of truth; MLflow gets a copy for people
who browse their runs there. :func:`log_run` reads a finished run folder and logs:

* one parent MLflow run named ``<experiment>/<run-id>``: the resolved config (flattened) and the
  champion's parameters as params (``champion.*``; ``best.*``, the top of the leaderboard, when no
  candidate passed the gates); its out-of-sample metrics (``oos_*``) and statistics, the trial
  count and the verdict as metrics/tags; ``report.html``, ``results.json``,
  ``leaderboard.csv`` and ``config.yaml`` as artifacts;
* one nested child run per search (strategy x optimizer) and fold: the fold's pick as params,
  its in-sample (``is_*``) and out-of-sample (``oos_*``) metrics and walk-forward efficiency.

The default URI is ``sqlite:///<runs root>/mlflow.db`` with artifacts in
``<runs root>/mlartifacts``; any MLflow URI works (``file:``, ``sqlite:``, ``http:``).
Logging is idempotent: the parent run's id is written into ``run.json`` and a run folder that
already has one is not logged twice.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from data_loaders.errors import ConfigError
from research.run.results import RunResults, SearchSummary

__all__ = ["log_run", "default_tracking_uri", "mlflow_available"]

_KEY_RE = re.compile(r"[^A-Za-z0-9_\-. /]")


def mlflow_available() -> bool:
    """Whether the ``mlflow`` package (extra ``tracking``) is importable."""
    import importlib.util

    return importlib.util.find_spec("mlflow") is not None


def default_tracking_uri(runs_root: str | Path) -> str:
    """``sqlite:///<runs_root>/mlflow.db`` (absolute path)."""
    return f"sqlite:///{(Path(runs_root) / 'mlflow.db').resolve()}"


def _artifact_location(uri: str) -> str | None:
    """Keep artifacts beside a SQLite store instead of MLflow's default ``./mlruns``."""
    if uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///") :])
        return (db.parent / "mlartifacts").resolve().as_uri()
    return None


def _key(text: str) -> str:
    return _KEY_RE.sub("_", text)[:250]


def _metrics(prefix: str, values: Mapping[str, Any], step: int = 0) -> list:
    import math

    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    out = []
    for k, v in values.items():
        if isinstance(v, bool) or not isinstance(v, int | float):
            continue
        if not math.isfinite(float(v)):
            continue
        out.append(Metric(_key(prefix + k), float(v), now, step))
    return out


def _params(prefix: str, values: Mapping[str, Any]) -> list:
    from mlflow.entities import Param

    return [Param(_key(prefix + k), str(v)[:6000]) for k, v in values.items()]


def log_run(
    run_dir: str | Path,
    *,
    uri: str | None = None,
    experiment: str | None = None,
    runs_root: str | Path | None = None,
) -> str:
    """Log a finished run folder to MLflow; returns the parent MLflow run id.

    ``uri`` defaults to :func:`default_tracking_uri` of ``runs_root`` (the folder above the
    experiment folder); ``experiment`` to the experiment's name. Raises :class:`ConfigError`
    when mlflow is not installed.
    """
    if not mlflow_available():
        raise ConfigError(
            "tracking.backend: 'mlflow' needs the mlflow package; install the extra: "
            "pip install -e '.[tracking]' (or set tracking: none)"
        )
    from mlflow.tracking import MlflowClient

    from research.run.compare import flatten_config
    from research.run.store import read_run_record, write_run_record_path

    run_dir = Path(run_dir)
    results = RunResults.load(run_dir)
    record = read_run_record(run_dir) or {}
    if record.get("mlflow_run_id"):
        return str(record["mlflow_run_id"])
    if uri is None:
        root = Path(runs_root) if runs_root is not None else run_dir.parent.parent
        uri = default_tracking_uri(root)
    name = experiment or results.experiment or run_dir.parent.name

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(name)
    exp_id = (
        exp.experiment_id
        if exp is not None
        else client.create_experiment(name, artifact_location=_artifact_location(uri))
    )
    import yaml

    cfg_file = run_dir / "config.yaml"
    config = yaml.safe_load(cfg_file.read_text(encoding="utf-8")) if cfg_file.is_file() else {}
    pid = _log_parent(client, exp_id, name, run_dir, results, flatten_config(config))
    for search in results.searches:
        _log_folds(client, exp_id, pid, search)
    for fname in ("report.html", "results.json", "leaderboard.csv", "config.yaml", "run.json"):
        f = run_dir / fname
        if f.is_file():
            client.log_artifact(pid, str(f))
    client.set_terminated(pid, status="FINISHED")
    write_run_record_path(run_dir, mlflow_run_id=pid, mlflow_uri=uri)
    return pid


def _log_parent(
    client: Any,
    exp_id: str,
    name: str,
    run_dir: Path,
    results: RunResults,
    flat_config: Mapping[str, Any],
) -> str:
    """The parent MLflow run: tags, config and champion (or best) params, metrics."""
    verdict = results.verdict
    # the champion, or (when no candidate passed the gates) the top of the leaderboard
    lead = verdict.lead
    who = "champion" if verdict.champion is not None else "best"
    tags = {
        "research.run_dir": str(run_dir.resolve()),
        "research.run_id": str(results.run_id),
        "research.data_fingerprint": str(results.data.fingerprint or ""),
        "research.code_version": json.dumps(dict(results.code_version)),
        "research.verdict": verdict.message,
        "research.champion": verdict.champion.candidate if verdict.champion else "",
        "research.best": lead.candidate if lead else "",
        "research.gates_passed": str(bool(verdict.passed)),
    }
    parent = client.create_run(exp_id, run_name=f"{name}/{results.run_id}", tags=tags)
    pid = parent.info.run_id
    flat = {k: (json.dumps(v) if isinstance(v, list | dict) else v) for k, v in flat_config.items()}
    params = _params("config.", flat) + _params(f"{who}.", dict(lead.params) if lead else {})
    stats = asdict(lead.stats) if lead else {}
    overfit = results.overfitting
    metrics = _metrics("oos_", dict(lead.oos_metrics) if lead else {})
    metrics += _metrics("", {k: v for k, v in stats.items() if k != "sharpe_per_period"})
    metrics += _metrics(
        "",
        {
            "n_trials_total": overfit.get("n_trials_total"),
            "effective_n_trials": overfit.get("effective_n_trials"),
            "gates_passed": 1.0 if verdict.passed else 0.0,
        },
    )
    for i in range(0, len(params), 100):  # MLflow takes at most 100 params per batch
        client.log_batch(pid, params=params[i : i + 100])
    client.log_batch(pid, metrics=metrics)
    return pid


def _log_folds(client: Any, exp_id: str, pid: str, search: SearchSummary) -> None:
    """One nested child run per fold of a search: its pick, IS/OOS metrics and WFE."""
    from mlflow.entities import RunTag

    for fold in search.folds:
        child = client.create_run(
            exp_id,
            run_name=f"{search.key} fold {fold.number}",
            tags={
                "mlflow.parentRunId": pid,
                "research.search": search.key,
                "research.fold": str(fold.number),
            },
        )
        cid = child.info.run_id
        fold_params = _params("", dict(fold.params or {}))
        fold_params += _params(
            "",
            {"strategy": search.strategy, "optimizer": search.optimizer, "fold": fold.number},
        )
        fold_metrics = _metrics("is_", dict(fold.is_metrics), step=fold.number)
        fold_metrics += _metrics("oos_", dict(fold.oos), step=fold.number)
        fold_metrics += _metrics("", {"wfe": fold.wfe}, step=fold.number)
        client.log_batch(
            cid, metrics=fold_metrics, params=fold_params, tags=[RunTag("research.kind", "fold")]
        )
        client.set_terminated(cid)
