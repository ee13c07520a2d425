"""Each failing gate in one sentence a person understands, with what would have passed.

Pure functions of numbers (no run folder, no pandas): the verdict and the report call
:func:`explain_gate` for every gate a candidate fails. The deflated Sharpe ratio is inverted by
:func:`required_sharpe`: the smallest out-of-sample Sharpe ratio whose DSR reaches the gate with
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

from scipy import optimize, stats

from data_loaders.errors import ParameterError

__all__ = ["required_sharpe", "explain_gate", "GATE_NAMES"]

GATE_NAMES = (
    "min_dsr",
    "max_pbo",
    "min_stability",
    "min_trades",
    "max_drawdown",
    "min_wfe",
    "max_spa_pvalue",
)


def required_sharpe(
    min_dsr: float,
    n_obs: int,
    n_trials: float,
    trials_sharpe_variance: float,
    skew: float = 0.0,
    kurtosis: float = 3.0,
) -> float:
    """Smallest per-period Sharpe ratio ``SR`` with ``DSR(SR) >= min_dsr``.

    Solves ``(SR - SR*) sqrt(n - 1) / sqrt(1 - skew SR + (kurt - 1)/4 SR^2) = Phi^-1(min_dsr)``
    for ``SR`` above the luck benchmark ``SR* = expected_max_sharpe(N, V)`` (the DSR rises with
    ``SR`` there). Returns ``inf`` when no Sharpe ratio reaches it (heavy negative skew).
    """
    from research.overfitting import deflated_sharpe_ratio, expected_max_sharpe

    if not 0.0 < min_dsr < 1.0:
        raise ParameterError(f"`min_dsr` must be in (0, 1), got {min_dsr}")
    if n_obs < 2:
        raise ParameterError(f"`n_obs` must be >= 2, got {n_obs}")
    bench = expected_max_sharpe(n_trials, trials_sharpe_variance)

    def gap(sr: float) -> float:
        try:
            return (
                deflated_sharpe_ratio(sr, n_obs, n_trials, trials_sharpe_variance, skew, kurtosis)
                - min_dsr
            )
        except ParameterError:  # the variance factor turns non-positive: out of range
            return math.nan

    z = stats.norm.ppf(min_dsr)
    lo = bench - abs(z) * 2.0 / math.sqrt(n_obs - 1.0) - 1e-12
    hi = bench + abs(z) * 2.0 / math.sqrt(n_obs - 1.0) + 1e-3
    for _ in range(60):
        g = gap(hi)
        if math.isnan(g):
            return math.inf
        if g >= 0:
            break
        hi = bench + 2.0 * (hi - bench)
    else:
        return math.inf
    while not gap(lo) < 0:
        lo = bench - 2.0 * (bench - lo) - 1e-6
    return float(optimize.brentq(gap, lo, hi, xtol=1e-12))


def _years(n_obs: int, ppy: float) -> str:
    y = n_obs / ppy
    return f"{y:.0f} years" if abs(y - round(y)) < 0.05 else f"{y:.1f} years"


def _dsr_sentence(value: float, threshold: float, ctx: Mapping[str, Any]) -> str:
    ppy = float(ctx.get("periods_per_year", 252.0))
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
        return f"{gate} was not computed for this candidate (set gates.{gate}: null to disable it)"
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
    return (
        f"the SPA p-value against buy-and-hold is {v:.3f} (needs at most {threshold:.3f}): "
        "beating buy-and-hold this much happens by luck too often among the candidates compared"
    )
