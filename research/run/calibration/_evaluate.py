"""Offline evaluation of a gate set on calibration records: false champions and power.

A **gate set** is a plain mapping with the keys of the spec's ``gates`` section (``min_dsr``,
``max_pbo``, ``min_stability``, ``min_trades``, ``max_drawdown`` as a positive fraction,
``min_wfe``, ``max_spa_pvalue``; ``None`` or absent disables a gate) plus ``dsr_trials``
(``candidates`` | ``all_trials`` | ``effective``) and ``dsr_variance`` (``auto`` | ``observed`` | ``null``,
see :func:`research.judge.trial_count.trial_count`) and ``spa_benchmark`` (``buy_and_hold``, the
product's, or ``cash``: the SPA test against a zero return). The DSR is recomputed from each candidate's
stored moments with the counted ``N`` and ``V``, so every counting rule is compared on the
same searches.

The champion of a run is the best-ranked candidate (out-of-sample ranking metric) that has
parameters to trade and passes every gate. On null data any champion is a **false champion**;
on planted-edge data a champion is a **find**. Rates come with exact (Clopper-Pearson) 95 %
intervals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from research.judge.explain import GATE_NAMES
from research.judge.trial_count import trial_count

__all__ = [
    "GATE_KEYS",
    "clopper_pearson",
    "run_dsr",
    "champion_of",
    "CalibrationSummary",
    "summarise",
    "power_at",
]

GATE_KEYS = (*GATE_NAMES, "dsr_trials", "dsr_variance", "spa_benchmark")


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial confidence interval of ``k`` successes in ``n`` trials."""
    if n == 0:
        return (0.0, 1.0)
    a = (1.0 - level) / 2.0
    lo = 0.0 if k == 0 else float(stats.beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1.0 - a, k + 1, n - k))
    return lo, hi


def run_dsr(rec: Mapping[str, Any], gates: Mapping[str, Any], prior_looks: int = 0) -> list[float]:
    """The deflated Sharpe ratio of each candidate of a record under the gate set's counting."""
    from research.overfitting import deflated_sharpe_ratio, effective_number_of_trials

    cands = rec["candidates"]
    n_obs = int(rec["n_obs"])
    sharpes = np.array([c["sharpe_pp"] for c in cands], dtype=float)
    ok = np.isfinite(sharpes)
    mode = gates.get("dsr_trials") or "candidates"
    eff = None
    if mode == "effective":
        cols = rec["correlation_of"]
        pos = [i for i, c in enumerate(cands) if c["candidate"] in cols and ok[i]]
        corr = np.asarray(rec["correlation"], dtype=float)
        idx = [cols.index(cands[i]["candidate"]) for i in pos]
        e = effective_number_of_trials(
            trial_sharpes=sharpes[pos], correlation=corr[np.ix_(idx, idx)]
        )
        eff = (e.n_effective, e.sharpe_variance)
    trials = rec.get("trials") or {}
    pseudo = None
    if mode == "all_trials":  # N and V of the stored in-sample trial record
        n, v = int(trials.get("n") or 0), float(trials.get("variance") or 0.0)
        pseudo = (n, v)
    if pseudo is not None:
        count_n, count_v = float(max(pseudo[0], 1) + prior_looks), pseudo[1]
    else:
        tc = trial_count(
            mode=mode,
            record="walk_forward",
            candidate_sharpes=sharpes[ok],
            n_obs=n_obs,
            effective=eff,
            prior_looks=prior_looks,
            variance=gates.get("dsr_variance") or "auto",
        )
        count_n, count_v = tc.n_trials, tc.sharpe_variance
    out = []
    for c in cands:
        if c["sharpe_pp"] is None:
            out.append(math.nan)
            continue
        out.append(
            deflated_sharpe_ratio(
                c["sharpe_pp"], n_obs, count_n, count_v, c["skew"] or 0.0, c["kurtosis"] or 3.0
            )
        )
    return out


_SPA_COLUMN = {"buy_and_hold": "spa_pvalue", "cash": "spa_cash_pvalue"}


def _passes(c: Mapping[str, Any], dsr: float, g: Mapping[str, Any]) -> bool:
    checks = (
        ("min_dsr", dsr, 1),
        ("max_pbo", c.get("pbo"), -1),
        ("min_stability", c.get("stability"), 1),
        ("min_trades", c.get("n_trades"), 1),
        ("max_drawdown", None if c.get("max_drawdown") is None else -c["max_drawdown"], -1),
        ("min_wfe", c.get("wfe"), 1),
        ("max_spa_pvalue", c.get(_SPA_COLUMN[g.get("spa_benchmark") or "buy_and_hold"]), -1),
    )
    for key, value, sign in checks:
        limit = g.get(key)
        if limit is None:
            continue
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        if (sign > 0 and value < limit) or (sign < 0 and value > limit):
            return False
    return True


def champion_of(rec: Mapping[str, Any], gates: Mapping[str, Any]) -> str | None:
    """The champion's candidate name under ``gates``, or None."""
    dsrs = run_dsr(rec, gates)
    for c, d in zip(rec["candidates"], dsrs, strict=True):
        if c.get("has_params") and _passes(c, d, gates):
            return c["candidate"]
    return None


@dataclass
class CalibrationSummary:
    """False-champion rate (with its interval) and power curve of one gate set."""

    gates: dict[str, Any]
    n_null: int
    false_champions: int
    false_rate: float
    false_ci: tuple[float, float]
    power_bins: list[dict[str, Any]] = field(default_factory=list)
    power_by_target: list[dict[str, Any]] = field(default_factory=list)
    sharpe_at_80: float | None = None

    def sentence(self) -> str:
        """The report's line: "with these gates, on data like yours: x % false champions ..."."""
        lo, hi = self.false_ci
        text = (
            f"with these gates, on data like yours: {self.false_rate:.0%} false champions "
            f"({self.false_champions} of {self.n_null} null data sets, 95% CI {lo:.0%} - "
            f"{hi:.0%})"
        )
        if self.sharpe_at_80 is not None:
            text += f", 80% power at an out-of-sample Sharpe of {self.sharpe_at_80:.2f}"
        else:
            text += ", 80% power not reached on the edges measured"
        return text

    def lines(self) -> list[str]:
        """A few lines for the terminal."""
        lo, hi = self.false_ci
        out = [
            f"false champions on null data: {self.false_champions}/{self.n_null} = "
            f"{self.false_rate:.1%} (95% CI {lo:.1%} - {hi:.1%})"
        ]
        for b in self.power_bins:
            out.append(
                f"  fixed-rule OOS Sharpe {b['label']:>11}: {b['found']}/{b['n']} champions "
                f"({b['rate']:.0%}, CI {b['ci'][0]:.0%} - {b['ci'][1]:.0%})"
            )
        if self.sharpe_at_80 is not None:
            out.append(f"  80% power at a fixed-rule OOS Sharpe of about {self.sharpe_at_80:.2f}")
        return out


def _logistic_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float] | None:
    """Maximum-likelihood ``P(y=1) = 1 / (1 + exp(-(a + b x)))`` by Newton steps (ridge 1e-6)."""
    if x.size < 4 or y.min() == y.max():
        return None
    beta = np.zeros(2)
    design = np.column_stack([np.ones_like(x), x])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-design @ beta))
        w = p * (1 - p)
        hess = design.T @ (design * w[:, None]) + 1e-6 * np.eye(2)
        step = np.linalg.solve(hess, design.T @ (y - p) - 1e-6 * beta)
        beta += step
        if np.abs(step).max() < 1e-8:
            break
    return float(beta[0]), float(beta[1])


def power_at(records: Sequence[Mapping[str, Any]], gates: Mapping[str, Any], level: float = 0.8):
    """Fixed-rule OOS Sharpe at which a logistic fit of finds reaches ``level`` (None if the
    fit has no positive slope)."""
    x, y = [], []
    for r in records:
        if r["dataset"]["kind"] == "edge" and r.get("fixed_oos_sharpe") is not None:
            x.append(r["fixed_oos_sharpe"])
            y.append(champion_of(r, gates) is not None)
    fit = _logistic_fit(np.array(x, dtype=float), np.array(y, dtype=float))
    if fit is None or fit[1] <= 0:
        return None
    return (math.log(level / (1 - level)) - fit[0]) / fit[1]


def summarise(
    records: Sequence[Mapping[str, Any]],
    gates: Mapping[str, Any],
    bins: Sequence[float] = (-math.inf, 0.25, 0.75, 1.25, 1.75, 2.25, math.inf),
) -> CalibrationSummary:
    """Evaluate one gate set on the records (errors skipped)."""
    recs = [r for r in records if "error" not in r]
    null = [r for r in recs if r["dataset"]["kind"] == "null"]
    edge = [r for r in recs if r["dataset"]["kind"] == "edge"]
    k = sum(champion_of(r, gates) is not None for r in null)
    summary = CalibrationSummary(
        gates=dict(gates),
        n_null=len(null),
        false_champions=k,
        false_rate=k / len(null) if null else math.nan,
        false_ci=clopper_pearson(k, len(null)),
    )
    found = [(r, champion_of(r, gates) is not None) for r in edge]
    for lo, hi in zip(bins[:-1], bins[1:], strict=True):
        sel = [f for r, f in found if lo <= (r.get("fixed_oos_sharpe") or -math.inf) < hi]
        if not sel:
            continue
        label = (
            f"< {hi:g}"
            if lo == -math.inf
            else (f">= {lo:g}" if hi == math.inf else f"{lo:g}-{hi:g}")
        )
        summary.power_bins.append(
            {
                "label": label,
                "n": len(sel),
                "found": int(sum(sel)),
                "rate": sum(sel) / len(sel),
                "ci": clopper_pearson(int(sum(sel)), len(sel)),
            }
        )
    for t in sorted({r["dataset"]["target"] for r in edge}):
        sel = [f for r, f in found if r["dataset"]["target"] == t]
        sh = [r.get("fixed_oos_sharpe") for r, _ in found if r["dataset"]["target"] == t]
        summary.power_by_target.append(
            {
                "target": t,
                "n": len(sel),
                "found": int(sum(sel)),
                "median_fixed_sharpe": float(np.median([s for s in sh if s is not None])),
            }
        )
    summary.sharpe_at_80 = power_at(edge, gates)
    return summary
