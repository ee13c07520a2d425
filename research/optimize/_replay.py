"""Replay of recorded trials on resume: a recorded trial is re-asked (its parameters must equal
the recorded ones), reports its recorded intermediate values to the pruner at the steps it
reached, and is told its recorded outcome, without being evaluated again."""

from __future__ import annotations

from typing import Any

from data_loaders.errors import ConfigError
from research.optimize._base import QR_ATTR, Optimizer, Outcome

__all__ = ["check_replay", "replay_step", "recorded_outcome"]


def check_replay(live: Any, space: Any, study: str) -> None:
    """Raise :class:`ConfigError` when the re-asked candidate of ``live`` differs from its record."""
    recorded = space.complete(live.record.params)
    if space.key(recorded) != space.key(live.cand.params):
        raise ConfigError(
            f"study {study!r}: recorded trial {live.cand.number} has params {recorded}, but this "
            f"run asked {live.cand.params}; the study was made by another configuration or code "
            "version - pass another study_name"
        )


def replay_step(lv: Any, step: Any, last: bool, optimizer: Optimizer, pruning: bool) -> bool:
    """Report a recorded trial's value at this step as it was; False once it stopped."""
    rec = lv.record
    qr = rec.user_attrs.get(QR_ATTR, {})
    reached = int(qr.get("step", 0))
    if step.step > reached:
        return False
    if pruning and step.step in rec.intermediate_values:
        optimizer.report(lv.cand, step.step, rec.intermediate_values[step.step])
    return not (step.step == reached and qr.get("status") in ("pruned", "fail"))


def recorded_outcome(rec: Any) -> Outcome:
    """The outcome a recorded trial was told."""
    from optuna.trial import TrialState

    qr = rec.user_attrs.get(QR_ATTR, {})
    status = qr.get("status", "fail")
    values = qr.get("objective")
    if rec.state == TrialState.COMPLETE:  # recorded with the bookkeeping since record format 2
        constraints = dict(qr.get("constraints") or rec.constraints)
    else:
        constraints = {}
    return Outcome(
        status,
        None if values is None else tuple(float(v) for v in values),
        constraints,
        dict(rec.intermediate_values),
        dict(rec.user_attrs),
    )
