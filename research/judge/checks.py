"""The overfitting checks of a run, one function each (statistics from :mod:`research.overfitting`).

* :func:`honest_trial_sharpes`: the per-period in-sample Sharpe ratio of *every* trial of *every*
  fold of *every* search (the honest trial count behind the DSR);
* :func:`dsr_trial_count`: the ``N`` and ``V`` the deflated Sharpe ratio of the stitched
  out-of-sample records uses (``gates.dsr_trials``, :mod:`research.judge.trial_count`);
* :func:`pbo_by_search`: PBO by CSCV on the ``T x K`` matrix of a search's ``K = top_k`` best
  distinct trial parameter sets, each re-evaluated over the whole out-of-sample span (batch path);
  the matrices also give the effective number of trials (:func:`effective_trials`);
* :func:`stability_by_search`: plateau score of each search's last pick in its neighbourhood on
  the last training window (the ranking metric of each neighbour, sign-adjusted so higher is
  better);
* :func:`spa_against_benchmark`: Hansen's SPA p-value of every candidate (and of the family)
  against buy-and-hold over the same span;
* :func:`stability_grid`: heatmap data of the ranking metric around the focus candidate's pick.

Every function takes :class:`~research.judge.reevaluate.SearchOutcome` objects and returns plain
data; a check that cannot be computed says why in a ``note`` instead of failing the run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from backtest.execution import Execution
from data_loaders.bars import bars_index
from data_loaders.errors import ParameterError
from research._json import finite, to_jsonable
from research.judge.reevaluate import SearchOutcome, evaluate_sets, top_trial_params
from research.judge.trial_count import TrialCount, trial_count
from research.overfitting import (
    EffectiveTrials,
    effective_number_of_trials,
    parameter_stability,
    probability_of_backtest_overfitting,
    sharpe_per_period,
    spa_test,
    stability_heatmap,
)

__all__ = [
    "oos_span",
    "honest_trial_sharpes",
    "pbo_by_search",
    "effective_trials",
    "dsr_trial_count",
    "stability_by_search",
    "spa_against_benchmark",
    "stability_grid",
    "cscv_partitions",
    "pbo_points",
]

#: bootstrap replications of the SPA test
SPA_REPS = 500


def oos_span(searches: Sequence[SearchOutcome], index: Any = None) -> tuple[int, int]:
    """``(start, stop)`` bar positions of the stitched out-of-sample span.

    ``index`` None: on the first search's bars, from its first test bar to its last. Else on
    ``index`` (say, a universe's union calendar), from the earliest first test bar to the
    latest last test bar of every search, compared by timestamp (the per-symbol searches of a
    universe whose symbols keep calendars of their own have folds of their own).
    """
    if index is None:
        folds = searches[0].result.folds
        return folds[0].test_range.start, folds[-1].test_range.stop
    starts, ends = [], []
    for s in searches:
        own, folds = bars_index(s.bars), s.result.folds
        starts.append(own[folds[0].test_range.start])
        ends.append(own[folds[-1].test_range.stop - 1])
    return int(index.searchsorted(min(starts), "left")), int(index.searchsorted(max(ends), "right"))


def honest_trial_sharpes(
    searches: Sequence[SearchOutcome], periods_per_year: float
) -> np.ndarray | None:
    """Per-period in-sample Sharpe ratios of every completed trial (finite ones), or None."""
    parts = []
    for s in searches:
        t = s.result.trials
        if len(t) and "is_sharpe_ratio" in t:
            v = t.loc[t["state"] == "complete", "is_sharpe_ratio"].astype(float).to_numpy()
            parts.append(v[np.isfinite(v)] / math.sqrt(periods_per_year))
    out = np.concatenate(parts) if parts else np.array([])
    return out if out.size else None


def pbo_by_search(
    searches: Sequence[SearchOutcome],
    execution: Execution,
    *,
    top_k: int,
    seed: int,
) -> tuple[dict[str, dict[str, Any]], dict[str, pd.DataFrame]]:
    """``({key: PBO entry}, {key: T x K returns matrix})`` (see the module docstring); each
    search over its own out-of-sample span (:func:`oos_span`).

    A PBO entry is ``{"pbo": None, "note": ...}`` when it cannot be computed, else the CSCV
    outcome with the points results.json keeps for its plots (:func:`pbo_points`).
    """
    pbo: dict[str, dict[str, Any]] = {}
    matrices: dict[str, pd.DataFrame] = {}
    for s in searches:
        span = oos_span([s])
        params = top_trial_params(s, top_k)
        if len(params) < 2:
            pbo[s.key] = {"pbo": None, "note": f"only {len(params)} distinct feasible trial(s)"}
            continue
        first = s.result.folds[0]
        res = evaluate_sets(
            execution,
            s.strategy_cls,
            params,
            span,
            bars=s.bars,
            fit=(first.train_range.start, first.train_range.stop),
            features=s.features,
            returns=True,
        )
        cols = {f"{s.key}#{i}": r.returns[0] for i, r in enumerate(res) if r.error is None}
        if len(cols) < 2:
            pbo[s.key] = {"pbo": None, "note": "fewer than 2 trials could be re-evaluated"}
            continue
        mat = pd.DataFrame(cols, index=bars_index(s.bars)[span[0] : span[1]]).fillna(0.0)
        matrices[s.key] = mat
        n_part = cscv_partitions(len(mat))
        if n_part < 2:
            pbo[s.key] = {"pbo": None, "note": f"OOS span of {len(mat)} bars is too short for PBO"}
            continue
        r = probability_of_backtest_overfitting(mat, n_partitions=n_part)
        pbo[s.key] = {
            "pbo": r.pbo,
            **pbo_points(r.logits, r.is_performance, r.oos_performance, seed),
            "n_trials": r.n_trials,
            "n_partitions": r.n_partitions,
            "n_combinations": r.n_combinations,
            "degradation_slope": finite(r.degradation_slope),
            "prob_loss": finite(r.prob_loss),
        }
    return pbo, matrices


def effective_trials(matrices: Mapping[str, pd.DataFrame]) -> EffectiveTrials | None:
    """Effective number of trials of every re-evaluated top trial together, on the periods they
    share (searches of symbols with calendars of their own overlap in part), or None."""
    if not matrices:
        return None
    combined = pd.concat(matrices.values(), axis=1, join="inner")
    ok = combined.shape[1] >= 2 and len(combined) >= 3
    return effective_number_of_trials(combined) if ok else None


def dsr_trial_count(
    oos: pd.DataFrame, trials_sharpes: np.ndarray | None, mode: str, prior_looks: int = 0
) -> TrialCount | None:
    """:func:`~research.judge.trial_count.trial_count` of the candidates' stitched out-of-sample
    records (one column each): ``walk_forward`` record, ``prior_looks`` earlier candidates on
    the same data. None when the inputs cannot give it (then the DSR uses the trial record)."""
    if len(oos) < 3:
        return None
    sharpes = np.array([sharpe_per_period(oos[c].to_numpy()) for c in oos.columns])
    sharpes = sharpes[np.isfinite(sharpes)]
    eff = None
    if mode == "effective":
        e = effective_number_of_trials(oos) if oos.shape[1] >= 2 else None
        eff = (1.0, 0.0) if e is None else (e.n_effective, e.sharpe_variance)
    try:
        return trial_count(
            mode=mode,
            record="walk_forward",
            candidate_sharpes=sharpes,
            n_obs=len(oos),
            trials_sharpes=trials_sharpes,
            effective=eff,
            prior_looks=prior_looks,
        )
    except ParameterError:
        return None


def stability_by_search(
    searches: Sequence[SearchOutcome],
    execution: Execution,
    *,
    metric: str,
    direction: str,
    seed: int,
) -> dict[str, Any]:
    """``{key: StabilityResult or the Exception that stopped it}`` for every search whose last
    fold has a pick (fitted and multi-asset strategies: axes only, fewer neighbours)."""
    sign = 1.0 if direction == "maximize" else -1.0
    out: dict[str, Any] = {}
    for s in searches:
        last = s.result.folds[-1]
        if not last.best_params:
            continue
        window = (last.train_range.start, last.train_range.stop)

        def evaluate(sets, s=s, window=window):
            res = evaluate_sets(
                execution,
                s.strategy_cls,
                sets,
                window,
                bars=s.bars,
                fit=window,
                features=s.features,
            )
            return [
                sign * r.metrics[0].get(metric, math.nan) if r.error is None else math.nan
                for r in res
            ]

        slow = _slow(s.strategy_cls)
        try:
            out[s.key] = parameter_stability(
                evaluate,
                last.best_params,
                s.strategy_cls,
                k=1,
                mode="axes" if slow else "grid",
                max_neighbours=24 if slow else 64,
                seed=seed,
            )
        except Exception as exc:  # noqa: BLE001 - reported, never silently dropped
            out[s.key] = exc
    return out


def spa_against_benchmark(
    oos: pd.DataFrame, benchmark: pd.Series, *, seed: int
) -> tuple[dict[str, Any] | None, dict[str, float | None]]:
    """``(family result or None, {candidate: SPA p-value})`` of the candidates' stitched
    out-of-sample returns (one column each) against ``benchmark`` (at least 10 rows)."""
    each: dict[str, float | None] = {}
    if len(oos) < 10:
        return None, each
    try:
        fam = spa_test(oos, benchmark, reps=SPA_REPS, seed=seed)
        family = {
            "spa_pvalue": fam.consistent,
            "reality_check_pvalue": fam.reality_check,
            "n_models": fam.n_models,
            "best_model": fam.best_model,
        }
        for col in oos.columns:
            each[col] = spa_test(oos[[col]], benchmark, reps=SPA_REPS, seed=seed).consistent
    except Exception as exc:  # noqa: BLE001
        family = {"note": f"SPA not computed: {exc}"}
    return family, each


def stability_grid(
    s: SearchOutcome,
    execution: Execution,
    params: Mapping[str, Any],
    metric: str,
    importance: Mapping[str, float] | None = None,
) -> dict[str, Any] | None:
    """Heatmap data of ``metric`` (raw, not sign-adjusted) around ``params`` over the two most
    important numeric parameters (last training window; the others fixed at the pick); None
    when the strategy has fewer than two active numeric parameters."""
    from strategies.params import Categorical

    space = s.strategy_cls.space()
    active = {**s.strategy_cls.defaults(), **params}
    numeric = [
        n for n, p in space.items() if not isinstance(p, Categorical) and p.is_active(active)
    ]
    if importance:
        numeric.sort(key=lambda n: -float(importance.get(n, 0.0)))
    if len(numeric) < 2:
        return None
    x, y = numeric[0], numeric[1]
    last = s.result.folds[-1]
    window = (last.train_range.start, last.train_range.stop)

    def evaluate(sets):
        res = evaluate_sets(
            execution, s.strategy_cls, sets, window, bars=s.bars, fit=window, features=s.features
        )
        return [r.metrics[0].get(metric, math.nan) if r.error is None else math.nan for r in res]

    table = stability_heatmap(
        evaluate, params, s.strategy_cls, x, y, k=1 if _slow(s.strategy_cls) else 3
    )
    return {
        "x": x,
        "y": y,
        "x_values": [to_jsonable(v) for v in table.columns],
        "y_values": [to_jsonable(v) for v in table.index],
        "values": [[finite(v) for v in row] for row in table.to_numpy()],
        "center": [to_jsonable(params[x]), to_jsonable(params[y])],
        "metric": metric,
        "window": "last training window",
    }


def pbo_points(
    logits: Any, is_perf: Any, oos_perf: Any, seed: int, most: int = 1000
) -> dict[str, Any]:
    """What results.json keeps of a CSCV run for its plots: every logit when there are at most
    ``most`` (else ``most`` evenly spaced quantiles of them, which draw the same histogram), and
    at most ``most`` (IS, OOS) pairs drawn at random (seeded) for the degradation scatter."""
    lg = np.asarray(logits, dtype=float)
    lg = lg[np.isfinite(lg)]
    if lg.size > most:
        lg = np.quantile(lg, (np.arange(most) + 0.5) / most)
    x = np.asarray(is_perf, dtype=float)
    y = np.asarray(oos_perf, dtype=float)
    if x.size > most:
        keep = np.sort(np.random.default_rng(seed).choice(x.size, most, replace=False))
        x, y = x[keep], y[keep]
    return {
        "logits": [round(float(v), 5) for v in lg],
        "n_logits": int(np.size(logits)),
        "is_perf": [round(float(v), 6) for v in x],
        "oos_perf": [round(float(v), 6) for v in y],
    }


def cscv_partitions(n_rows: int, min_block: int = 10, most: int = 16) -> int:
    """Even number of CSCV blocks of at least ``min_block`` rows, at most ``most``."""
    s = min(most, n_rows // min_block)
    return s - (s % 2)


def _slow(cls: Any) -> bool:
    """Strategies evaluated one set at a time (fitted or multi-asset): fewer neighbours."""
    return bool(cls.needs_fit or cls.multi_asset)
