"""The nightly promotion decision (pure, no I/O) and the challenger's window DSR.

:func:`decide` promotes the challenger or keeps the champion from their records alone (see
:mod:`research.run.nightly`, step 5); :func:`challenger_dsr` is the challenger's deflated
Sharpe ratio on the recent window, reported next to the decision (not gated).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from research.spec.build import experiment_bars_per_year

__all__ = ["Decision", "decide", "challenger_dsr"]


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
