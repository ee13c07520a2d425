"""What a nightly run hands on after its decision: fresh data, targets to trade, a notification.

* :func:`refresh_data`: when the spec's ``data.source`` is a data store folder
  (:func:`data_loaders.store.is_store`), bring it up to date incrementally
  (:func:`data_loaders.store.update_store`: only the bars after the last stored one are fetched,
  the overlap is checked) before the night loads it. A revised or failed symbol keeps its stored
  bars; the report goes into the history and the summary.
* :func:`compute_targets`: the current champion's target exposure per symbol for the **next
  bar**: its strategy's positions computed causally on every bar up to the newest one, the last
  value, clipped to the spec's direction. With next-open fills it is the exposure to hold from
  the next bar's open. A strategy that learns is fitted on the ``walk_forward.train`` bars
  before the judging window (what the decision saw) or, with ``nightly.refit: true``, on the
  ``walk_forward.train`` bars ending at the newest bar; the choice and the fit window are
  recorded in ``targets.json`` and the history. Rule-based strategies have nothing to fit.
* :func:`write_targets`: ``runs/<experiment>/targets.json`` and ``targets.csv``, each written
  atomically (temporary file, fsync, ``os.replace``).
* :func:`notify`: runs ``nightly.notify`` (a shell command) with the night's summary
  (:func:`night_summary`, one JSON object) on its standard input. A failing command is
  reported in one line; the decision, history and targets are already written.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backtest.execution import direction_bounds
from data_loaders.atomic import atomic_write_text
from data_loaders.bars import bars_index
from data_loaders.store import is_store, update_store
from research._json import to_jsonable
from research.judge.reevaluate import slice_with_features
from research.run.data import resolve_source
from research.run.window import strategy_class, train_window, window_features
from research.spec.build import build_execution, experiment_bars_per_year

__all__ = [
    "TARGETS_JSON",
    "TARGETS_CSV",
    "TARGET_COLUMNS",
    "NOTIFY_TIMEOUT",
    "Targets",
    "refresh_data",
    "champion_id",
    "compute_targets",
    "write_targets",
    "night_summary",
    "notify",
]

TARGETS_JSON = "targets.json"
TARGETS_CSV = "targets.csv"
#: the columns of ``targets.csv`` (``params`` as a JSON object)
TARGET_COLUMNS = ("symbol", "target", "data_timestamp", "champion_id", "params")
#: seconds a notify command may take before it is stopped and reported as failed
NOTIFY_TIMEOUT = 120


def refresh_data(exp: Any) -> dict[str, Any] | None:
    """Update the spec's data store in place (None when ``data.source`` is not a store)."""
    src = resolve_source(exp)
    if not is_store(src):
        return None
    return update_store(src).to_dict()


def champion_id(champion: Mapping[str, Any]) -> str:
    """``<run folder name>:<candidate>``: which run's which candidate the champion is."""
    run = Path(str(champion.get("run_dir") or "")).name
    cand = str(champion.get("candidate") or "?")
    return f"{run}:{cand}" if run else cand


@dataclass(frozen=True)
class Targets:
    """The champion's target exposures for the next bar (see the module docstring)."""

    champion_id: str
    candidate: str
    strategy_ref: str
    params: Mapping[str, Any]
    data_timestamp: str
    refit: bool
    fit_window: tuple[str, str] | None
    targets: Mapping[str, float]

    def rows(self) -> list[dict[str, Any]]:
        """One row per symbol with :data:`TARGET_COLUMNS`."""
        return [
            {
                "symbol": sym,
                "target": value,
                "data_timestamp": self.data_timestamp,
                "champion_id": self.champion_id,
                "params": dict(self.params),
            }
            for sym, value in self.targets.items()
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "champion_id": self.champion_id,
            "candidate": self.candidate,
            "strategy_ref": self.strategy_ref,
            "params": dict(self.params),
            "data_timestamp": self.data_timestamp,
            "refit": self.refit,
            "fit_window": list(self.fit_window) if self.fit_window else None,
            "targets": self.rows(),
        }


def compute_targets(
    exp: Any, champion: Mapping[str, Any], bars: Any, *, window_start: int, refit: bool
) -> Targets:
    """The champion's targets for the bar after the newest one of ``bars``.

    ``window_start``: first bar of the judging window (the fit ends there unless ``refit``).
    A universe champion trades as it was searched (:func:`research.run.universe.candidate_job`):
    a ``per_symbol`` one gives its symbol's target, a ``pooled`` / ``portfolio`` one its book's
    weights; a symbol without a bar at the newest timestamp (NaN: keep what is held) gets none.
    """
    from research.run.universe import candidate_job

    ref = str(champion["strategy_ref"])
    key = f"strategy {ref!r}"
    cls = strategy_class(exp, ref, bars, champion.get("strategy"))
    job = candidate_job(
        exp, cls, bars, label=champion.get("strategy"), candidate=champion.get("candidate"), key=key
    )
    cls, sbars = job.strategy_cls, job.bars
    index = bars_index(sbars)
    union = bars_index(bars)
    stop = len(index) if refit else int(index.searchsorted(union[int(window_start)]))
    feats = window_features(exp, bars, stop, ref, champion.get("features_mode"))
    strat = cls(**dict(champion["params"]))
    fit_window = None
    if cls.needs_fit:
        a, b = train_window(exp, index, stop)
        strat.fit(*slice_with_features(sbars, feats, a, b))
        fit_window = (index[a].isoformat(), index[b - 1].isoformat())
    pos = strat.positions(sbars, feats)
    lo, hi = direction_bounds(build_execution(exp, experiment_bars_per_year(exp, bars)).direction)
    last = pos.iloc[-1]
    if isinstance(last, pd.Series):
        values = {str(k): float(v) for k, v in last.items() if np.isfinite(v)}
    else:
        values = {_symbol(exp, sbars): float(last)}
    return Targets(
        champion_id=champion_id(champion),
        candidate=str(champion.get("candidate")),
        strategy_ref=ref,
        params=dict(champion["params"]),
        data_timestamp=index[-1].isoformat(),
        refit=bool(refit),
        fit_window=fit_window,
        targets={k: min(max(v, lo), hi) for k, v in values.items()},
    )


def _symbol(exp: Any, frame: pd.DataFrame) -> str:
    """The name of a one-symbol strategy's instrument."""
    return str(frame.attrs.get("symbol") or (exp.data.symbols or (exp.data.source,))[0])


def write_targets(folder: str | Path, targets: Targets, extra: Mapping[str, Any]) -> list[Path]:
    """Write ``targets.json`` (``extra`` first: experiment, time ...) and ``targets.csv``."""
    folder = Path(folder)
    doc = {**dict(extra), **targets.to_json()}
    jpath = atomic_write_text(
        folder / TARGETS_JSON, json.dumps(to_jsonable(doc), indent=2, sort_keys=False) + "\n"
    )
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(TARGET_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in targets.rows():
        writer.writerow({**row, "params": json.dumps(to_jsonable(row["params"]), sort_keys=True)})
    cpath = atomic_write_text(folder / TARGETS_CSV, buf.getvalue())
    return [jpath, cpath]


def night_summary(decision: Mapping[str, Any], paths: Mapping[str, Any]) -> dict[str, Any]:
    """The one JSON object a notify command receives: ``decision`` (promoted / kept /
    no_champion) and its reasons, the ``champion`` now traded, the challenger's ``gates``,
    the window ``metrics`` of both, the targets and the ``paths`` of what was written."""
    chall = decision.get("challenger") or {}
    champ = decision.get("champion") or {}
    handoff = decision.get("handoff") or {}
    now = handoff.get("champion") or (chall if decision.get("promoted") else champ) or None
    return to_jsonable(
        {
            "experiment": decision.get("experiment"),
            "time": decision.get("time"),
            "decision": decision.get("decision"),
            "promoted": decision.get("promoted"),
            "reasons": list(decision.get("reasons") or []),
            "champion": now,
            "challenger": chall.get("candidate"),
            "gates": {
                "passed": chall.get("gates_passed"),
                "failed": list(chall.get("failed_gates") or []),
            },
            "metric": decision.get("metric"),
            "metrics": {
                "challenger": chall.get("window_metrics"),
                "champion": champ.get("window_metrics"),
            },
            "window": decision.get("window"),
            "targets": (handoff.get("targets") or {}).get("targets"),
            "data_timestamp": (handoff.get("targets") or {}).get("data_timestamp"),
            "data_update": handoff.get("data_update"),
            "errors": [handoff["error"]] if handoff.get("error") else [],
            "paths": dict(paths),
        }
    )


def notify(command: str, summary: Mapping[str, Any], timeout: float = NOTIFY_TIMEOUT) -> dict:
    """Run ``command`` in a shell with ``summary`` as JSON on its standard input.

    Returns ``{"command", "ok", "status", "message"}``; ``message`` is one line (the command's
    last stderr line when it fails). Never raises for a failing command.
    """
    text = json.dumps(to_jsonable(summary), sort_keys=False) + "\n"
    try:
        proc = subprocess.run(
            command, shell=True, input=text, text=True, capture_output=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        msg = f"notify command timed out after {timeout:g} s: {command}"
        return {"command": command, "ok": False, "status": None, "message": msg}
    if proc.returncode == 0:
        return {"command": command, "ok": True, "status": 0, "message": "notified"}
    tail = (proc.stderr or proc.stdout or "").strip().splitlines()
    why = f": {tail[-1].strip()}" if tail else ""
    msg = f"notify command exited with status {proc.returncode}{why} ({command})"
    return {"command": command, "ok": False, "status": proc.returncode, "message": msg}


def hand_off(
    exp: Any,
    runs_root: str | Path,
    bars: Any,
    *,
    window_start: int,
    time: str,
    data_update: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Targets of the current champion (``champion.json``, already replaced on promotion),
    written next to it. Returns what the history records: ``refit``, ``champion``, ``targets``
    (the ``targets.json`` content), ``paths``, ``data_update`` and, when the targets could not
    be computed, ``error`` (one line; nothing written then)."""
    from research.run.champion import champion_path, read_champion

    refit = bool(exp.nightly.refit)
    out: dict[str, Any] = {"refit": refit, "data_update": data_update}
    champion = read_champion(runs_root, exp.name)
    if champion is None:
        out["note"] = "no champion: no targets written"
        return out
    out["champion"] = {
        "id": champion_id(champion),
        "candidate": champion.get("candidate"),
        "params": champion.get("params"),
    }
    try:
        targets = compute_targets(exp, champion, bars, window_start=window_start, refit=refit)
    except Exception as exc:  # noqa: BLE001 - the decision is kept; the failure is reported
        out["error"] = f"targets of {champion.get('candidate')} failed: {exc}"
        return out
    folder = champion_path(runs_root, exp.name).parent
    paths = write_targets(folder, targets, {"experiment": exp.name, "time": time})
    out["targets"] = targets.to_json()
    out["paths"] = [str(p) for p in paths]
    return out
