"""What a nightly run decided: :class:`NightlyDecision`, the line of the champion history.

:mod:`research.run.nightly` fills it; ``to_dict`` is the history line
(``runs/<experiment>/champion_history.jsonl``), ``summary`` the text the command prints.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

__all__ = ["NightlyDecision"]


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
