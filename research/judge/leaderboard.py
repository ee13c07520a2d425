"""Risk-adjusted leaderboard: rank candidates out of sample, apply the gates, name a champion.

Every candidate (a strategy with one parameter set, :class:`LeaderboardEntry`) is judged on its
**stitched out-of-sample** returns: ranked by an out-of-sample risk-adjusted metric (annualised
Sharpe ratio by default; any key of :func:`backtest.metrics.compute_metrics` or a function of the
returns, higher is better), and checked by the gates of :mod:`research.judge.gates`. The table is
sorted by the metric, candidates with no parameters to trade last; the **champion is the
best-ranked candidate that passes every gate** (including the required ``tradeable`` gate). A candidate that fails a gate is flagged
(``passed=False``, the reasons in ``failed_gates``) and is never picked silently; if none passes,
the verdict says so and names what the top candidate failed.

The trial count behind the DSR: ``LeaderboardEntry.dsr_count`` when given (the judge's
``gates.dsr_trials`` count, :mod:`research.judge.trial_count`), else ``trials_sharpes`` holds the
per-period Sharpe ratio of every trial of every fold of the study (raw ``N`` and their
variance); with ``trials_returns`` the effective ``N`` of the trials' correlation clusters and
the variance of the cluster Sharpe ratios are used instead (both counts are reported). Without
any trial record the DSR falls back to ``N = 1`` (= PSR) and the row says so in ``notes``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backtest.metrics import METRIC_NAMES, compute_metrics
from data_loaders.errors import DataTooShortError, DataValidationError, ParameterError, did_you_mean
from research.judge.gates import Gates, evaluate_gates
from research.overfitting import (
    deflated_sharpe_ratio,
    effective_number_of_trials,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
    return_moments,
)

__all__ = ["LeaderboardEntry", "Leaderboard", "build_leaderboard"]


@dataclass
class LeaderboardEntry:
    """A strategy with one parameter set, judged on its stitched out-of-sample returns.

    Attributes:
        name: unique label in the leaderboard.
        strategy: strategy name (registry name or ``path.py:Class``).
        params: the hyperparameters.
        oos_returns: per-period simple returns of the stitched out-of-sample folds.
        n_trades: number of trades in those folds.
        trials_sharpes: per-period Sharpe ratio of every trial of every fold of the study (the
            raw trial count ``N`` and the variance used by the DSR).
        trials_returns: ``(T, N)`` per-period returns of the trials (one column per trial): gives
            the effective ``N`` (correlation clusters) and, if ``pbo`` is not given, the PBO.
        pbo, stability, wfe, spa_pvalue: precomputed checks (see :mod:`research.overfitting`).
        trades, positions: optional inputs of :func:`backtest.metrics.compute_metrics`
            (trade statistics, exposure, turnover).
        tradeable: False when there are no parameters to trade now (the last walk-forward fold
            found no feasible trial): the required ``tradeable`` gate fails and the candidate is
            ranked after every tradeable one.
        dsr_count: ``(N, V)`` the DSR uses instead of the trial record's (per-period variance),
            from :func:`research.judge.trial_count.trial_count`; ``n_trials`` then shows ``N``.
        breadth: share of a universe's symbols with a positive out-of-sample Sharpe ratio
            (:mod:`research.judge.universe`); None outside universe runs (no ``breadth`` column).
    """

    name: str
    strategy: str
    params: Mapping[str, Any]
    oos_returns: pd.Series
    n_trades: int
    trials_sharpes: Sequence[float] | np.ndarray | None = None
    trials_returns: pd.DataFrame | np.ndarray | None = None
    pbo: float | None = None
    stability: float | None = None
    wfe: float | None = None
    spa_pvalue: float | None = None
    trades: Any = None
    positions: Any = None
    tradeable: bool = True
    dsr_count: tuple[float, float] | None = None
    breadth: float | None = None


@dataclass
class Leaderboard:
    """Outcome of :func:`build_leaderboard`.

    Attributes:
        table: one row per candidate, sorted by ``metric`` (best first): ``rank``, ``name``,
            ``strategy``, ``params`` (JSON), the out-of-sample metrics of
            :func:`backtest.metrics.compute_metrics`, ``score`` (the ranking metric),
            ``sharpe_per_period``, ``kurtosis_raw``, ``psr``, ``dsr``, ``n_trials``,
            ``effective_trials``, ``trials_sharpe_variance``, ``expected_max_sharpe``, ``pbo``,
            ``stability``, ``wfe``, ``spa_pvalue``, one ``gate_<name>`` column per enabled gate,
            ``passed``, ``failed_gates``, ``notes``.
        champion: the best-ranked candidate passing every gate, or ``None``.
        verdict: one human sentence.
        metric: name of the ranking metric.
        gates: the gates used.
        candidates: the candidates in table order.
    """

    table: pd.DataFrame
    champion: LeaderboardEntry | None
    verdict: str
    metric: str
    gates: Gates
    candidates: list[LeaderboardEntry] = field(default_factory=list)

    def to_csv(self, path: str | Path) -> Path:
        """Write the table to ``path`` (parent folders created); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.table.to_csv(path, index=False)
        return path


# --------------------------------------------------------------------------------------------
def _metric_fn(metric: str | Callable[[pd.Series], float]) -> tuple[str, Callable | None]:
    if callable(metric):
        return getattr(metric, "__name__", "custom_metric"), metric
    if metric not in METRIC_NAMES:
        raise ParameterError(
            f"unknown ranking metric {metric!r}{did_you_mean(str(metric), METRIC_NAMES)}"
        )
    return metric, None


def _trial_stats(
    c: LeaderboardEntry, pbo_partitions: int, min_correlation: float, cache: dict[tuple, dict]
) -> dict[str, Any]:
    """Trial count, Sharpe variance and (if needed) PBO of one candidate, with notes.

    LeaderboardEntrys of one study share their trial record: the result is cached per record (by
    object identity) for the duration of one :func:`build_leaderboard` call.
    """
    key = (id(c.trials_sharpes), id(c.trials_returns), c.pbo)
    if key not in cache:
        cache[key] = _compute_trial_stats(c, pbo_partitions, min_correlation)
    cached = cache[key]
    return {**cached, "notes": list(cached["notes"])}


def _compute_trial_stats(c: LeaderboardEntry, pbo_partitions: int, min_correlation: float) -> dict:
    out: dict[str, Any] = {
        "n_trials": 1,
        "effective_trials": math.nan,
        "trials_sharpe_variance": 0.0,
        "pbo": math.nan if c.pbo is None else float(c.pbo),
        "notes": [],
    }
    raw_sharpes = None
    if c.trials_sharpes is not None:
        raw_sharpes = np.asarray(c.trials_sharpes, dtype=float).reshape(-1)
        if raw_sharpes.size == 0 or not np.all(np.isfinite(raw_sharpes)):
            raise DataValidationError(
                f"candidate {c.name!r}: `trials_sharpes` must be a non-empty array of finite "
                "per-period Sharpe ratios"
            )
        out["n_trials"] = int(raw_sharpes.size)
        out["trials_sharpe_variance"] = (
            float(np.var(raw_sharpes, ddof=1)) if raw_sharpes.size > 1 else 0.0
        )
    if c.trials_returns is not None:
        eff = effective_number_of_trials(c.trials_returns, min_correlation=min_correlation)
        if raw_sharpes is None:
            out["n_trials"] = eff.n_trials
        out["effective_trials"] = eff.n_effective
        out["trials_sharpe_variance"] = eff.sharpe_variance
        if c.pbo is None:
            try:
                out["pbo"] = probability_of_backtest_overfitting(
                    c.trials_returns, n_partitions=pbo_partitions
                ).pbo
            except (DataTooShortError, DataValidationError) as err:
                out["notes"].append(f"PBO not computed: {err}")
    elif raw_sharpes is None:
        out["notes"].append("no trial record: DSR uses N=1 (= PSR)")
    return out


def _row(
    c: LeaderboardEntry,
    metric_name: str,
    metric_fn: Callable | None,
    periods_per_year: float,
    pbo_partitions: int,
    min_correlation: float,
    cache: dict[tuple, dict],
) -> dict[str, Any]:
    returns = c.oos_returns
    if not isinstance(returns, pd.Series):
        returns = pd.Series(np.asarray(returns, dtype=float))
    arr = returns.to_numpy(dtype=float)
    if arr.size < 2:
        raise DataTooShortError(
            f"candidate {c.name!r}: needs at least 2 out-of-sample returns, got {arr.size}"
        )
    if not np.all(np.isfinite(arr)):
        pos = int(np.argmax(~np.isfinite(arr)))
        raise DataValidationError(
            f"candidate {c.name!r}: `oos_returns` must be finite, got {float(arr[pos])} at "
            f"{returns.index[pos]} (fill flat periods with 0)"
        )
    metrics = compute_metrics(
        returns, trades=c.trades, positions=c.positions, periods_per_year=periods_per_year
    )
    metrics["n_trades"] = int(c.n_trades)
    moments = return_moments(arr)
    trials = _trial_stats(c, pbo_partitions, min_correlation, cache)
    n_eff = trials["effective_trials"]
    n_for_dsr = (
        n_eff if not (isinstance(n_eff, float) and math.isnan(n_eff)) else trials["n_trials"]
    )
    variance = trials["trials_sharpe_variance"]
    if c.dsr_count is not None:  # gates.dsr_trials: the count chosen by the judge
        n_for_dsr, variance = float(c.dsr_count[0]), float(c.dsr_count[1])
        trials["n_trials"] = n_for_dsr
    sr, skew, kurt, n_obs = (
        moments["sharpe"],
        moments["skew"],
        moments["kurtosis"],
        moments["n_obs"],
    )
    if math.isfinite(sr):
        psr = probabilistic_sharpe_ratio(sr, n_obs, skew, kurt)
        dsr = deflated_sharpe_ratio(sr, n_obs, n_for_dsr, variance, skew, kurt)
    else:
        psr = dsr = math.nan
        trials["notes"].append("Sharpe ratio undefined (constant returns): PSR/DSR not computed")
    score = float(metric_fn(returns)) if metric_fn is not None else float(metrics[metric_name])
    row: dict[str, Any] = {
        "name": c.name,
        "strategy": c.strategy,
        "params": json.dumps(dict(c.params), sort_keys=True, default=str),
        **metrics,
        "score": score,
        "sharpe_per_period": sr,
        "kurtosis_raw": kurt,
        "psr": psr,
        "dsr": dsr,
        "n_trials": trials["n_trials"],
        "effective_trials": n_eff,
        "trials_sharpe_variance": variance,
        "expected_max_sharpe": expected_max_sharpe(n_for_dsr, variance),
        "pbo": trials["pbo"],
        "stability": math.nan if c.stability is None else float(c.stability),
        "wfe": math.nan if c.wfe is None else float(c.wfe),
        "spa_pvalue": math.nan if c.spa_pvalue is None else float(c.spa_pvalue),
        "notes": "; ".join(trials["notes"]),
    }
    if c.breadth is not None:
        row["breadth"] = float(c.breadth)
    return row


def build_leaderboard(
    candidates: Sequence[LeaderboardEntry],
    gates: Gates | None = None,
    metric: str | Callable[[pd.Series], float] = "sharpe_ratio",
    periods_per_year: float = 252,
    *,
    pbo_partitions: int = 16,
    min_correlation: float = 0.5,
) -> Leaderboard:
    """Rank candidates by an out-of-sample metric and apply the overfitting gates.

    Args:
        candidates: the candidates (unique names).
        gates: thresholds (default :class:`Gates()`).
        metric: ranking metric, higher is better: a key of
            :func:`backtest.metrics.compute_metrics` (``"sharpe_ratio"``, ``"sortino_ratio"``,
            ``"calmar_ratio"``, ``"omega_ratio"``, ...) or ``fn(oos_returns) -> float``.
        periods_per_year: annualisation of the out-of-sample metrics (252 = daily bars).
        pbo_partitions: CSCV blocks when the PBO is computed from ``trials_returns``.
        min_correlation: clustering threshold of the effective number of trials.

    Returns:
        A :class:`Leaderboard`: sorted table, champion (or ``None``) and verdict.
    """
    gates = Gates() if gates is None else gates
    if not isinstance(gates, Gates):
        raise ParameterError(f"`gates` must be a Gates instance, got {type(gates).__name__}")
    metric_name, metric_fn = _metric_fn(metric)
    candidates = list(candidates)
    if not candidates:
        raise ParameterError("`candidates` must not be empty")
    seen: set[str] = set()
    for c in candidates:
        if not isinstance(c, LeaderboardEntry):
            raise ParameterError(
                f"every candidate must be a LeaderboardEntry, got {type(c).__name__}"
            )
        if c.name in seen:
            raise ParameterError(f"candidate names must be unique, got {c.name!r} twice")
        seen.add(c.name)
    cache: dict[tuple, dict] = {}
    rows = [
        _row(c, metric_name, metric_fn, periods_per_year, pbo_partitions, min_correlation, cache)
        for c in candidates
    ]
    for row, c in zip(rows, candidates, strict=True):
        results, failed = evaluate_gates(row, gates, tradeable=c.tradeable)
        for gate, ok in results.items():
            row[f"gate_{gate}"] = ok
        row["passed"] = all(results.values()) and c.tradeable
        row["failed_gates"] = ", ".join(failed)
    order = sorted(  # nothing to trade never ranks above a tradeable candidate
        range(len(rows)),
        key=lambda i: (
            not candidates[i].tradeable,
            not math.isfinite(rows[i]["score"]),
            -_finite(rows[i]["score"]),
            i,
        ),
    )
    table = pd.DataFrame([rows[i] for i in order])
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    notes = table.pop("notes")
    table["notes"] = notes
    ordered = [candidates[i] for i in order]
    champion_pos = next((i for i, ok in enumerate(table["passed"]) if ok), None)
    champion = ordered[champion_pos] if champion_pos is not None else None
    message = _verdict(table, champion_pos, metric_name)
    return Leaderboard(
        table=table,
        champion=champion,
        verdict=message,
        metric=metric_name,
        gates=gates,
        candidates=ordered,
    )


def _finite(x: float) -> float:
    return x if math.isfinite(x) else 0.0


def _fmt(x: Any, fmt: str = ".2f") -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:{fmt}}"


def _verdict(table: pd.DataFrame, champion_pos: int | None, metric: str) -> str:
    top = table.iloc[0]
    n_pass = int(table["passed"].sum())
    if champion_pos is None:
        return (
            f"No candidate passes the gates (0 of {len(table)}): the top by {metric}, "
            f"{top['name']!r} ({metric} {_fmt(top['score'], '.3g')}), failed "
            f"{top['failed_gates']}."
        )
    champ = table.iloc[champion_pos]
    text = (
        f"Champion: {champ['name']!r} ({champ['strategy']} {champ['params']}) with out-of-sample "
        f"{metric} {_fmt(champ['score'], '.3g')}, DSR {_fmt(champ['dsr'])}, PBO "
        f"{_fmt(champ['pbo'])}, stability {_fmt(champ['stability'])}: passes all gates "
        f"({n_pass} of {len(table)} candidates pass)."
    )
    if champion_pos > 0:
        text += (
            f" Ranked above it but rejected: {top['name']!r}, which failed {top['failed_gates']}."
        )
    return text
