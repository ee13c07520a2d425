"""Each failing gate in one sentence a person understands, with what would have passed.

Pure functions of numbers (no run folder, no pandas): the verdict and the report call
:func:`explain_gate` for every gate a candidate fails (:func:`explain_row` for a whole
leaderboard row). The deflated Sharpe ratio is inverted by
:func:`research.overfitting.required_sharpe`: the smallest out-of-sample Sharpe ratio whose DSR
reaches the gate with
the same trial count, track-record length and return shape, e.g. "the deflated Sharpe needs an
out-of-sample Sharpe of at least 1.12 with 6 candidates over 8 years (it is 0.84)".

Conventions: ``sharpe`` arguments are **per period**; sentences show annualised Sharpe ratios
(``* sqrt(periods_per_year)``); drawdowns are negative fractions (-0.35 = a 35 % fall), the
gate's limit a positive fraction as in the spec (``max_drawdown: 0.5``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from data_loaders.errors import ParameterError
from research.judge.gates import GATES, TRADEABLE, Gates

__all__ = ["explain_gate", "explain_row", "GATE_NAMES"]

#: the threshold gates, in :data:`research.judge.gates.GATES` order
GATE_NAMES = tuple(rule.name for rule in GATES)

#: the noun of the DSR's count per ``gates.dsr_trials`` mode
COUNTED = {
    "candidates": "candidates",
    "all_trials": "in-sample trials",
    "effective": "independent clusters of candidates",
}


def _years(n_obs: int, ppy: float) -> str:
    y = n_obs / ppy
    return f"{y:.0f} years" if abs(y - round(y)) < 0.05 else f"{y:.1f} years"


def _dsr_sentence(value: float, threshold: float, ctx: Mapping[str, Any]) -> str:
    ppy = float(ctx.get("periods_per_year", 252.0))
    from research.overfitting import required_sharpe

    need = required_sharpe(
        threshold,
        int(ctx["n_obs"]),
        float(ctx["n_trials"]),
        float(ctx["trials_sharpe_variance"]),
        float(ctx.get("skew", 0.0)),
        float(ctx.get("kurtosis", 3.0)),
    )
    n = float(ctx["n_trials"])
    what = str(ctx.get("counted", "candidates"))
    count = f"{n:.0f}" if n.is_integer() else f"{n:.1f}"
    head = f"the deflated Sharpe is {value:.2f} (needs {threshold:.2f})"
    if not math.isfinite(need):
        return f"{head}: no Sharpe ratio reaches it with returns this skewed"
    sr = ctx.get("sharpe")
    now = "" if sr is None else f" (it is {float(sr) * math.sqrt(ppy):.2f})"
    return (
        f"{head}: it needs an out-of-sample Sharpe of at least {need * math.sqrt(ppy):.2f} with "
        f"{count} {what} over {_years(int(ctx['n_obs']), ppy)}{now}"
    )


def explain_gate(
    gate: str, value: float | None, threshold: float, context: Mapping[str, Any] | None = None
) -> str:
    """One sentence for a failing gate: what it measured, the limit, what would have passed.

    Args:
        gate: one of :data:`GATE_NAMES`.
        value: the candidate's value (``None``/NaN: not computed). Drawdown negative.
        threshold: the gate's limit as in the spec (``max_drawdown`` a positive fraction).
        context: for ``min_dsr``: ``n_obs``, ``n_trials``, ``trials_sharpe_variance``, and
            optionally ``sharpe`` (per period), ``skew``, ``kurtosis``, ``periods_per_year``
            (252), ``counted`` (the noun of the count, "candidates"); for ``min_wfe`` optionally
            ``is_sharpe`` and ``oos_sharpe`` (annualised).
    """
    ctx = dict(context or {})
    if gate not in GATE_NAMES:
        raise ParameterError(f"unknown gate {gate!r}; gates: {', '.join(GATE_NAMES)}")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        why = (
            ": a fold's in-sample performance was not positive or not finite, so the share kept "
            "out of sample is undefined"
            if gate == "min_wfe"
            else ""
        )
        return (
            f"{gate} was not computed for this candidate{why} (the gate fails; set "
            f"gates.{gate}: null to disable it)"
        )
    v = float(value)
    if gate == "min_dsr":
        return _dsr_sentence(v, threshold, ctx)
    if gate == "max_pbo":
        return (
            f"the probability of backtest overfitting is {v:.2f} (needs at most {threshold:.2f}): "
            f"in {v:.0%} of the CSCV splits the in-sample best trial fell below the median out of "
            "sample"
        )
    if gate == "min_stability":
        return (
            f"the parameters sit on a peak, not a plateau: their neighbours keep {v:.0%} of the "
            f"pick's performance (needs {threshold:.0%})"
        )
    if gate == "min_trades":
        return f"only {v:.0f} out-of-sample trades (needs {threshold:.0f}): too few to judge"
    if gate == "max_drawdown":
        return (
            f"the out-of-sample drawdown reached {abs(v):.0%} (the limit is {abs(threshold):.0%})"
        )
    if gate == "min_wfe":
        extra = ""
        if ctx.get("is_sharpe") is not None:
            need = threshold * float(ctx["is_sharpe"])
            extra = f"; with an in-sample Sharpe of {float(ctx['is_sharpe']):.2f} it needs {need:.2f} out of sample"
        return (
            f"out of sample kept {v:.0%} of the in-sample performance (walk-forward efficiency "
            f"{v:.2f}, needs {threshold:.2f}){extra}"
        )
    if gate == "min_breadth":
        return (
            f"the parameters earn a positive out-of-sample Sharpe on {v:.0%} of the universe's "
            f"symbols (needs {threshold:.0%}): the edge is not broad enough"
        )
    return (
        f"the SPA p-value against buy-and-hold is {v:.3f} (needs at most {threshold:.3f}): "
        "beating buy-and-hold this much happens by luck too often among the candidates compared"
    )


def explain_row(
    row: Mapping[str, Any],
    gates: Gates,
    *,
    n_obs: int,
    skew: float = 0.0,
    periods_per_year: float = 252.0,
    n_prior: int = 0,
    tradeable: bool = True,
) -> list[str]:
    """One sentence per gate a leaderboard row fails (in :data:`GATES` order; the required
    ``tradeable`` gate last), for the verdict and the report.

    Args:
        row: a row of :attr:`research.judge.leaderboard.Leaderboard.table` (``dsr``,
            ``sharpe_per_period``, ``kurtosis_raw``, ``n_trials``, ``trials_sharpe_variance`` and
            the gate columns).
        gates: the gates the row was judged by.
        n_obs, skew: number and skewness of the row's out-of-sample returns (not leaderboard
            columns; :func:`research.overfitting.return_moments`).
        periods_per_year: annualisation of the Sharpe ratios shown.
        n_prior: earlier looks counted in ``n_trials`` (named in the DSR sentence).
        tradeable: False when the candidate has no parameters to trade now.
    """
    out = []
    for rule, threshold in gates.enabled():
        if row.get(f"gate_{rule.name}", True):
            continue
        raw = row.get(rule.column)
        ctx: dict[str, Any] = {}
        if rule.name == "min_dsr":
            counted = COUNTED.get(gates.dsr_trials, "trials")
            if n_prior:
                counted += f" (with {n_prior} earlier look{'s' * (n_prior != 1)} at this data)"
            ctx = {
                "n_obs": int(n_obs),
                "n_trials": float(row["n_trials"]),
                "trials_sharpe_variance": float(row["trials_sharpe_variance"]),
                "sharpe": row.get("sharpe_per_period"),
                "skew": skew,
                "kurtosis": float(row.get("kurtosis_raw", 3.0)),
                "periods_per_year": periods_per_year,
                "counted": counted,
            }
        try:
            out.append(explain_gate(rule.name, raw, threshold, ctx))
        except (KeyError, TypeError, ValueError, ParameterError):
            out.append(f"{rule.label} failed (value {raw}, limit {threshold})")
    if not tradeable:
        out.append(
            f"{TRADEABLE}: the last walk-forward fold kept no parameter set, so there is nothing "
            "to trade now (relax the guardrails or widen the search)"
        )
    return out
