"""The out-of-sample budget: how often earlier runs looked at the same out-of-sample data.

Every run's ``results.json`` keeps its data fingerprint (``data.fingerprint``), its out-of-sample
span (``oos_span``) and its leaderboard. :func:`budget_for_run` scans the runs beside a run (the
run store's ``runs/<experiment>/``, or the folder an ``--out`` run sits in) and counts those of
the same experiment (reruns with edited specs included) judged on the same fingerprint and
span: their candidates are earlier looks the deflated Sharpe ratio adds to its trial count
(:func:`research.judge.trial_count.trial_count`, ``prior_looks``). New data (another
fingerprint) or another span starts a fresh budget.

A rerun of exactly the same resolved spec (same ``spec_hash`` in ``run.json``: same settings,
same seed) on the same data reproduces the same candidates and the same out-of-sample record, so
it is not another look: earlier runs with the run's own spec hash are not counted, and several
earlier runs sharing one spec hash count once. This keeps the promise that a seed gives the same
leaderboard twice, while any edit (another strategy, range, gate, budget or seed) is charged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from data_loaders.bars import bars_index
from research.judge.trial_count import OOSBudget

__all__ = ["oos_budget", "scan_run_store", "budget_for_run"]


def _span_key(results: Mapping[str, Any]) -> tuple[str, str, str] | None:
    data = results.get("data") or {}
    span = results.get("oos_span") or {}
    fp, a, b = data.get("fingerprint"), span.get("start"), span.get("end")
    if not (fp and a and b):
        return None
    return str(fp), str(a), str(b)


def oos_budget(
    earlier: Iterable[Mapping[str, Any]],
    fingerprint: str,
    span: tuple[str, str],
    *,
    exclude_run: str | None = None,
    experiment: str | None = None,
    spec_hash: str | None = None,
) -> OOSBudget:
    """Count the earlier runs and candidates judged on the same out-of-sample data.

    Args:
        earlier: ``results.json`` contents of earlier runs (any experiment).
        fingerprint: the data fingerprint of the run being judged (``data.fingerprint``).
        span: ``(start, end)`` ISO timestamps of its out-of-sample span (``oos_span``).
        exclude_run: the run's own id (a resumed run does not count itself).
        experiment: count only the runs of this experiment (None: any experiment).
        spec_hash: the run's own spec hash: earlier runs of the same resolved spec are the same
            look, not another one (see the module docstring). Earlier runs are told apart by the
            ``_spec_hash`` key :func:`scan_run_store` adds from their ``run.json``.

    A run counts when its data fingerprint and out-of-sample span are both equal: any other
    data (a new fingerprint) starts a fresh budget. Each counted run adds its leaderboard's
    candidates.
    """
    key = (str(fingerprint), str(span[0]), str(span[1]))
    ids: list[str] = []
    n_cands = 0
    seen = {spec_hash} if spec_hash else set()
    for res in earlier:
        if _span_key(res) != key:
            continue
        if experiment is not None and res.get("experiment") != experiment:
            continue
        rid = str(res.get("run_id") or "")
        if exclude_run is not None and rid == exclude_run:
            continue
        look = res.get("_spec_hash")
        if look:
            if look in seen:  # the same resolved spec again: the same candidates, no new look
                continue
            seen.add(look)
        ids.append(rid)
        n_cands += len(res.get("leaderboard") or [])
    return OOSBudget(n_runs=len(ids), n_candidates=n_cands, run_ids=tuple(ids))


def scan_run_store(folder: str | Path) -> list[dict[str, Any]]:
    """The ``results.json`` of every finished run in ``folder`` (``folder/<run>/results.json``:
    the runs of one experiment in the run store, ``runs/<experiment>/``, or the folder an
    ``--out`` run sits in), each with ``_spec_hash`` from the run's ``run.json`` when it has one;
    unreadable files are skipped (a run being written has none yet)."""
    out = []
    for path in sorted(Path(folder).glob("*/results.json")):
        try:
            res = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(res, dict):
            continue
        res["_spec_hash"] = _recorded_spec_hash(path.parent)
        out.append(res)
    return out


def _recorded_spec_hash(run_dir: Path) -> str | None:
    """The ``spec_hash`` a run folder's ``run.json`` records (None when unreadable)."""
    try:
        record = json.loads((run_dir / "run.json").read_text())
    except (OSError, ValueError):
        return None
    return record.get("spec_hash") if isinstance(record, dict) else None


def budget_for_run(
    run_dir: str | Path,
    run_id: str,
    experiment: str,
    plan: Any,
    bars: Any,
) -> OOSBudget:
    """The budget of the run in ``run_dir``: the runs of the same ``experiment`` in its parent
    folder (itself and earlier runs of its own spec hash, read from its ``run.json``, excluded)
    on fingerprint ``plan.data.fingerprint`` and the span from the first test bar to the last
    of ``plan.folds``."""
    index = bars_index(bars)
    span = (
        index[plan.folds[0].test.start].isoformat(),
        index[plan.folds[-1].test.stop - 1].isoformat(),
    )
    earlier = scan_run_store(Path(run_dir).parent)
    fp = str(plan.data.fingerprint)
    own = _recorded_spec_hash(Path(run_dir))
    return oos_budget(earlier, fp, span, exclude_run=run_id, experiment=experiment, spec_hash=own)
