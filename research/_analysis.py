"""From walk-forward searches to a judged leaderboard: candidates, overfitting checks, importance.

Used by :mod:`research.runner`; every function takes the searches' results and returns plain
data that ``results.json`` and the report read.

**Candidates.** One per search (strategy x optimizer): the *walk-forward* candidate, whose
parameters are re-picked on each fold's training window and judged on the next test window only.
Its out-of-sample returns are the stitched test windows, so no candidate is ever scored on bars
its parameters were chosen on. The parameters shown (and traded next) are the last fold's pick.

**Checks per candidate** (see :mod:`research.overfitting`):

* DSR with the per-period in-sample Sharpe ratio of *every* trial of *every* fold of *every*
  search (the honest trial count); the effective number of trials from the correlation clusters
  of the re-evaluated top trials is reported beside it;
* PBO by CSCV on the ``T x K`` matrix of the search's ``K = ranking.top_k`` best distinct trial
  parameter sets, each re-evaluated over the whole out-of-sample span with the batch path;
* stability: plateau score of the last pick's neighbourhood on the last training window (the
  ranking metric of each neighbour, batch path);
* walk-forward efficiency (OOS / IS Sharpe); Hansen's SPA p-value against buy-and-hold.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "Search",
    "EvalSetup",
    "search_summary",
    "trials_table",
    "top_trial_params",
    "evaluate_sets",
    "window_backtest",
    "buy_and_hold",
    "analyse",
    "importance",
    "stability_grid",
]


@dataclass
class EvalSetup:
    """What every re-evaluation shares: bars, costs, execution and annualisation."""

    bars: Any
    costs: Any
    execution: str
    direction: str
    init_cash: float
    periods_per_year: float


@dataclass
class Search:
    """One strategy x optimizer walk-forward search and what the runner knows about it."""

    key: str
    label: str
    ref: str
    optimizer: str
    strategy_cls: Any
    result: Any  # research.optimize.WalkForwardResult
    bars: Any
    features: pd.DataFrame | None = None
    features_mode: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# evaluation helpers (batch path via research.optimize's evaluator)
# --------------------------------------------------------------------------------------------
def evaluate_sets(
    setup: EvalSetup,
    strategy_cls: Any,
    params: Sequence[Mapping[str, Any]],
    window: tuple[int, int],
    *,
    fit: tuple[int, int] | None,
    features: pd.DataFrame | None = None,
    bars: Any = None,
    returns: bool = False,
) -> list[Any]:
    """Evaluate parameter sets on bars ``[start, stop)`` (positions on bars up to ``stop``).

    Returns one ``SetResult`` per set (``.metrics[0]``, ``.returns[0]`` when ``returns``,
    ``.error`` when it failed). Single-symbol strategies without fitting go through one batch
    pass; fitted and multi-asset ones one set at a time.
    """
    from research.optimize._evaluate import EvalContext, EvalTask, run_task

    ctx = EvalContext(
        strategy_cls=strategy_cls,
        bars=setup.bars if bars is None else bars,
        features=features,
        costs=setup.costs,
        execution=setup.execution,
        direction=setup.direction,
        init_cash=setup.init_cash,
        periods_per_year=setup.periods_per_year,
    )
    task = EvalTask(
        numbers=tuple(range(len(params))),
        params=tuple(dict(p) for p in params),
        stop=int(window[1]),
        windows=((int(window[0]), int(window[1])),),
        fit=fit,
        returns=returns,
    )
    results, _ = run_task(ctx, task)
    return results


def window_backtest(
    setup: EvalSetup,
    strategy_cls: Any,
    params: Mapping[str, Any],
    window: tuple[int, int],
    *,
    fit: tuple[int, int] | None,
    features: pd.DataFrame | None = None,
    bars: Any = None,
) -> Any:
    """:func:`backtest.run_backtest` of one parameter set on bars ``[start, stop)``.

    The window starts flat; with next-open fills the target decided at ``start - 1`` is the
    first that can fill (the convention of the batch path). Returns the ``BacktestResult`` of the
    window (its first bar ``start - 1`` dropped from returns for next-open).
    """
    from backtest.engine import run_backtest

    bars = setup.bars if bars is None else bars
    a, b = int(window[0]), int(window[1])
    strat = strategy_cls(**dict(params))
    if strategy_cls.needs_fit and fit is not None:
        strat.fit(*_slice(bars, features, *fit))
    head_bars, head_feats = _slice(bars, features, 0, b)
    pos = strat.positions(head_bars, head_feats)
    lo = a - 1 if (setup.execution == "next-open" and a > 0) else a
    sub = (
        {s: df.iloc[lo:b] for s, df in bars.items()}
        if isinstance(bars, Mapping)
        else bars.iloc[lo:b]
    )
    return run_backtest(
        sub,
        pos.iloc[lo:b],
        costs=setup.costs,
        execution=setup.execution,
        direction=setup.direction,
        init_cash=setup.init_cash,
    ), lo


def _slice(bars: Any, features: pd.DataFrame | None, a: int, b: int) -> tuple[Any, Any]:
    if isinstance(bars, Mapping):
        sub = {s: df.iloc[a:b] for s, df in bars.items()}
    else:
        sub = bars.iloc[a:b]
    return sub, None if features is None else features.iloc[a:b]


def buy_and_hold(setup: EvalSetup, window: tuple[int, int], bars: Any = None) -> pd.Series:
    """Per-bar returns of holding the instrument (equal weights for several symbols) over the
    window, with the same costs and fills as the candidates (bought at the window's first open)."""
    from backtest.batch import evaluate_batch
    from backtest.engine import run_backtest

    bars = setup.bars if bars is None else bars
    a, b = int(window[0]), int(window[1])
    if isinstance(bars, Mapping):
        lo = a - 1 if (setup.execution == "next-open" and a > 0) else a
        w = 1.0 / len(bars)
        sub = {s: df.iloc[lo:b] for s, df in bars.items()}
        pos = pd.DataFrame(w, index=next(iter(sub.values())).index, columns=list(sub))
        bt = run_backtest(
            sub,
            pos,
            costs=setup.costs,
            execution=setup.execution,
            direction="both",
            init_cash=setup.init_cash,
        )
        ret = bt.returns.iloc[a - lo :]
        return pd.Series(ret.to_numpy(), index=ret.index, name="buy_and_hold")
    pos = np.ones((b, 1))
    res = evaluate_batch(
        bars["open"].to_numpy()[:b],
        bars["close"].to_numpy()[:b],
        pos,
        costs=setup.costs,
        execution=setup.execution,
        direction="both",
        init_cash=setup.init_cash,
        start=a,
        stop=b,
        periods_per_year=setup.periods_per_year,
        return_returns=True,
    )
    return pd.Series(res.returns[:, 0], index=bars.index[a:b], name="buy_and_hold")


# --------------------------------------------------------------------------------------------
# per-search summaries
# --------------------------------------------------------------------------------------------
def _metrics(m: Mapping[str, Any]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for k, v in m.items():
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        out[k] = f if math.isfinite(f) else None
    return out


def search_summary(s: Search) -> dict[str, Any]:
    """The ``searches[i]`` entry of results.json."""
    r = s.result
    folds = []
    for f in r.folds:
        folds.append(
            {
                "number": f.fold,
                "params": f.best_params,
                "best_number": f.best_number,
                "is": _metrics(f.is_metrics),
                "oos": _metrics(f.oos_metrics),
                "wfe": _finite(f.wfe),
                "n_trials": f.n_trials,
                "n_pruned": f.n_pruned,
                "n_failed": f.n_failed,
                "n_feasible": f.n_feasible,
                "study_name": f.study_name,
                "seconds": round(float(f.seconds), 3),
            }
        )
    t = r.trials
    states = t["state"] if len(t) else pd.Series(dtype=object)
    return {
        "key": s.key,
        "strategy": s.label,
        "strategy_ref": s.ref,
        "optimizer": s.optimizer,
        "final_params": r.final_params,
        "folds": folds,
        "oos_metrics": _metrics(r.oos_metrics()),
        "wfe": _finite(r.wfe),
        "counts": {
            "total": int(len(t)),
            "complete": int((states == "complete").sum()),
            "pruned": int((states == "pruned").sum()),
            "failed": int((states == "fail").sum()),
            "feasible": int(t["feasible"].sum()) if len(t) else 0,
        },
        "evaluations_saved": _finite(r.evaluations_saved),
        "study_names": list(r.study_names),
        "storage": r.storage,
        "features": s.features_mode
        if isinstance(s.features_mode, str | None)
        else list(s.features_mode),
    }


def trials_table(searches: Sequence[Search]) -> pd.DataFrame:
    """Every trial of every search (what ``series/trials.parquet`` holds): ``search, strategy,
    optimizer, fold, number, state`` (Optuna's names: ``COMPLETE``, ``PRUNED``, ``FAIL``),
    ``feasible, value`` (first objective), ``values`` (JSON list of the objectives), ``params``
    (JSON), ``direction``, ``is_sharpe_ratio``, ``reason``."""
    rows = []
    for s in searches:
        t = s.result.trials
        objectives = s.result.objectives
        for rec in t.to_dict("records"):
            vals = [rec.get(f"value_{m}") for m, _ in objectives]
            rows.append(
                {
                    "search": s.key,
                    "strategy": s.label,
                    "optimizer": s.optimizer,
                    "fold": int(rec["fold"]),
                    "number": int(rec["number"]),
                    "state": str(rec["state"]).upper(),
                    "feasible": bool(rec.get("feasible", False)),
                    "value": _nan(rec.get("value")),
                    "values": json.dumps([_finite(v) for v in vals]),
                    "params": json.dumps(_plain(rec["params"]), sort_keys=False),
                    "direction": objectives[0][1],
                    "is_sharpe_ratio": _nan(rec.get("is_sharpe_ratio")),
                    "reason": str(rec.get("reason") or ""),
                }
            )
    cols = [
        "search",
        "strategy",
        "optimizer",
        "fold",
        "number",
        "state",
        "feasible",
        "value",
        "values",
        "params",
        "direction",
        "is_sharpe_ratio",
        "reason",
    ]
    return pd.DataFrame(rows, columns=cols)


def top_trial_params(s: Search, k: int) -> list[dict[str, Any]]:
    """The ``k`` best distinct feasible parameter sets of a search (all folds, by the first
    objective in its direction; ties by fold then trial number)."""
    t = s.result.trials
    if t.empty:
        return []
    ok = (t["state"] == "complete") & t["feasible"] & np.isfinite(t["value"].astype(float))
    t = t[ok]
    sign = 1.0 if s.result.objectives[0][1] == "maximize" else -1.0
    t = t.assign(_key=-sign * t["value"].astype(float)).sort_values(["_key", "fold", "number"])
    out, seen = [], set()
    for p in t["params"]:
        key = json.dumps(_plain(p), sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        out.append(dict(p))
        if len(out) >= k:
            break
    return out


# --------------------------------------------------------------------------------------------
# the whole analysis
# --------------------------------------------------------------------------------------------
def analyse(
    searches: Sequence[Search],
    setup: EvalSetup,
    *,
    gates: Any,
    ranking_metric: str,
    ranking_direction: str,
    top_k: int,
    seed: int,
    progress: Any = None,
    dsr_trials: str = "candidates",
    oos_budget: Any = None,
) -> dict[str, Any]:
    """Candidates, overfitting statistics, leaderboard, stability grid, SPA and benchmark.

    ``dsr_trials`` chooses the deflated Sharpe ratio's trial count and ``oos_budget`` (a
    :class:`research.dsr_trials.OOSBudget`) adds the earlier looks at the same out-of-sample
    data (see :mod:`research.dsr_trials`).

    Returns ``{"leaderboard": Leaderboard, "rows": [...], "overfitting": {...},
    "oos_returns": DataFrame, "benchmark": Series, "oos_span": (start, stop), "stability":
    {key: StabilityResult}, "champion_search": Search | None}``.
    """
    from research.overfitting import (
        effective_number_of_trials,
        expected_max_sharpe,
        parameter_stability,
        probability_of_backtest_overfitting,
        spa_test,
    )
    from research.ranking import Candidate, build_leaderboard

    ppy = setup.periods_per_year
    folds0 = searches[0].result.folds
    span = (folds0[0].test_range.start, folds0[-1].test_range.stop)
    index = _index(setup.bars)

    # honest trial count: every evaluated trial of every fold of every search
    all_sharpes = []
    for s in searches:
        t = s.result.trials
        if len(t) and "is_sharpe_ratio" in t:
            v = t.loc[t["state"] == "complete", "is_sharpe_ratio"].astype(float).to_numpy()
            all_sharpes.append(v[np.isfinite(v)] / math.sqrt(ppy))
    trials_sharpes = np.concatenate(all_sharpes) if all_sharpes else np.array([])
    if trials_sharpes.size == 0:
        trials_sharpes = None

    # top-K re-evaluated over the OOS span -> PBO per search, effective N overall
    matrices: dict[str, pd.DataFrame] = {}
    pbo: dict[str, dict[str, Any]] = {}
    for s in searches:
        _say(progress, f"re-evaluating the top {top_k} trials of {s.key} over the OOS span")
        params = top_trial_params(s, top_k)
        if len(params) < 2:
            pbo[s.key] = {"pbo": None, "note": f"only {len(params)} distinct feasible trial(s)"}
            continue
        fit = _fit_window(s, 0)
        res = evaluate_sets(
            setup,
            s.strategy_cls,
            params,
            span,
            fit=fit,
            features=s.features,
            bars=s.bars,
            returns=True,
        )
        cols = {f"{s.key}#{i}": r.returns[0] for i, r in enumerate(res) if r.error is None}
        if len(cols) < 2:
            pbo[s.key] = {"pbo": None, "note": "fewer than 2 trials could be re-evaluated"}
            continue
        mat = pd.DataFrame(cols, index=_index(s.bars)[span[0] : span[1]])
        mat = mat.fillna(0.0)
        matrices[s.key] = mat
        n_part = _partitions(len(mat))
        if n_part < 2:
            pbo[s.key] = {"pbo": None, "note": f"OOS span of {len(mat)} bars is too short for PBO"}
            continue
        r = probability_of_backtest_overfitting(mat, n_partitions=n_part)
        pbo[s.key] = {
            "pbo": r.pbo,
            **_pbo_points(r.logits, r.is_performance, r.oos_performance, seed),
            "n_trials": r.n_trials,
            "n_partitions": r.n_partitions,
            "n_combinations": r.n_combinations,
            "degradation_slope": _finite(r.degradation_slope),
            "prob_loss": _finite(r.prob_loss),
        }
    eff = None
    if matrices:
        combined = pd.concat(matrices.values(), axis=1)
        if combined.shape[1] >= 2:
            eff = effective_number_of_trials(combined)

    # stability of each search's last pick on the last training window
    stability: dict[str, Any] = {}
    sign = 1.0 if ranking_direction == "maximize" else -1.0
    for s in searches:
        last = s.result.folds[-1]
        if not last.best_params:
            continue
        _say(progress, f"stability of {s.key}'s last pick")
        window = (last.train_range.start, last.train_range.stop)

        def evaluate(sets, s=s, window=window):
            res = evaluate_sets(
                setup, s.strategy_cls, sets, window, fit=window, features=s.features, bars=s.bars
            )
            return [
                sign * r.metrics[0].get(ranking_metric, math.nan) if r.error is None else math.nan
                for r in res
            ]

        try:
            stability[s.key] = parameter_stability(
                evaluate,
                last.best_params,
                s.strategy_cls,
                k=1,
                mode="axes" if _slow(s.strategy_cls) else "grid",
                max_neighbours=24 if _slow(s.strategy_cls) else 64,
                seed=seed,
            )
        except Exception as exc:  # noqa: BLE001 - reported, never silently dropped
            stability[s.key] = exc

    # benchmark and SPA over the same span
    bench = buy_and_hold(setup, span)
    oos = pd.DataFrame({s.key: s.result.oos_returns for s in searches}).fillna(0.0)
    bench = bench.reindex(oos.index).fillna(0.0)
    spa_family = None
    spa_each: dict[str, float | None] = {}
    if len(oos) >= 10:
        try:
            fam = spa_test(oos, bench, reps=500, seed=seed)
            spa_family = {
                "spa_pvalue": fam.consistent,
                "reality_check_pvalue": fam.reality_check,
                "n_models": fam.n_models,
                "best_model": fam.best_model,
            }
            for col in oos.columns:
                spa_each[col] = spa_test(oos[[col]], bench, reps=500, seed=seed).consistent
        except Exception as exc:  # noqa: BLE001
            spa_family = {"note": f"SPA not computed: {exc}"}

    # --- gates (issue 12): the deflated Sharpe's trial count for this walk-forward record
    count = _dsr_count(oos, trials_sharpes, dsr_trials, oos_budget)
    # --- end gates

    # candidates -> leaderboard
    cands = []
    for s in searches:
        r = s.result
        stab = stability.get(s.key)
        n_trades = sum(int(f.oos_metrics.get("n_trades", 0) or 0) for f in r.folds)
        cands.append(
            Candidate(
                name=s.key,
                strategy=s.label,
                params=r.final_params or {},
                oos_returns=r.oos_returns.fillna(0.0),
                n_trades=n_trades,
                trials_sharpes=trials_sharpes,
                pbo=(pbo.get(s.key) or {}).get("pbo"),
                stability=None
                if stab is None or isinstance(stab, Exception)
                else _finite(stab.score),
                wfe=_finite(r.wfe),
                spa_pvalue=spa_each.get(s.key),
                positions=r.oos_positions,
                dsr_count=None if count is None else (count.n_trials, count.sharpe_variance),
            )
        )
    metric = ranking_metric
    if ranking_direction == "minimize":
        from backtest import metrics as bm

        fn = getattr(bm, ranking_metric)

        def metric(returns, fn=fn, ppy=ppy):  # noqa: ANN001 - ranking wants higher = better
            return -float(fn(returns, periods_per_year=ppy))

        metric.__name__ = f"neg_{ranking_metric}"
    lb = build_leaderboard(cands, gates, metric=metric, periods_per_year=ppy, pbo_partitions=16)

    by_key = {s.key: s for s in searches}
    lb = _require_final_params(lb, by_key)
    rows = _rows(lb, gates, by_key, stability)
    champ_key = lb.champion.name if lb.champion is not None else None
    overfit = {
        "n_trials_total": int(trials_sharpes.size) if trials_sharpes is not None else 0,
        "effective_n_trials": None if eff is None else int(eff.n_effective),
        "trials_sharpe_variance": None
        if trials_sharpes is None or trials_sharpes.size < 2
        else float(np.var(trials_sharpes, ddof=1)),
        "expected_max_sharpe": None
        if trials_sharpes is None or trials_sharpes.size < 2
        else _finite(
            expected_max_sharpe(trials_sharpes.size, float(np.var(trials_sharpes, ddof=1)))
        ),
        "dsr_trials": _count_dict(count, dsr_trials, oos_budget),
        "pbo": pbo,
        "spa": {"all candidates": spa_family} if spa_family else {},
        "stability": {k: _stab_dict(v) for k, v in stability.items()},
    }
    return {
        "leaderboard": lb,
        "rows": rows,
        "overfitting": overfit,
        "oos_returns": oos,
        "benchmark": bench,
        "oos_span": span,
        "index": index,
        "champion_key": champ_key,
        "best_key": rows[0]["candidate"] if rows else None,
    }


def stability_grid(
    s: Search,
    setup: EvalSetup,
    params: Mapping[str, Any],
    metric: str,
    direction: str,
    importance: Mapping[str, float] | None = None,
) -> dict[str, Any] | None:
    """Heatmap data of ``metric`` around ``params`` over the two most important numeric
    parameters (last training window; others fixed at the pick)."""
    from research.overfitting import stability_heatmap
    from strategies.params import Categorical

    space = s.strategy_cls.space()
    numeric = [
        n
        for n, p in space.items()
        if not isinstance(p, Categorical) and p.is_active({**s.strategy_cls.defaults(), **params})
    ]
    if importance:
        numeric.sort(key=lambda n: -float(importance.get(n, 0.0)))
    if len(numeric) < 2:
        return None
    x, y = numeric[0], numeric[1]
    last = s.result.folds[-1]
    window = (last.train_range.start, last.train_range.stop)
    sign = 1.0 if direction == "maximize" else -1.0

    def evaluate(sets):
        res = evaluate_sets(
            setup, s.strategy_cls, sets, window, fit=window, features=s.features, bars=s.bars
        )
        return [r.metrics[0].get(metric, math.nan) if r.error is None else math.nan for r in res]

    k = 1 if _slow(s.strategy_cls) else 3
    table = stability_heatmap(evaluate, params, s.strategy_cls, x, y, k=k)
    del sign
    return {
        "x": x,
        "y": y,
        "x_values": [_plain(v) for v in table.columns],
        "y_values": [_plain(v) for v in table.index],
        "values": [[_finite(v) for v in row] for row in table.to_numpy()],
        "center": [_plain(params[x]), _plain(params[y])],
        "metric": metric,
        "window": "last training window",
    }


_FANOVA_ROWS = 300


def importance(searches: Sequence[Search], direction: str, seed: int = 0) -> dict[str, Any]:
    """Which hyperparameters matter for one strategy (its searches, every fold pooled).

    OLS of the trials' in-sample objective on the standardised parameters (HC3 errors,
    :func:`research.importance.regress_metric_on_params`), Optuna's fANOVA on the same trials
    (an in-memory study), and a narrowed space for the next run written as spec overrides.
    """
    import optuna

    from research.importance import regress_metric_on_params, suggest_narrowed_space
    from research.optimize.space import SearchSpace
    from strategies.params import Categorical

    cls = searches[0].strategy_cls
    names = list(cls.space())
    frames = []
    for s in searches:
        t = s.result.trials
        if t.empty:
            continue
        ok = (t["state"] == "complete") & t["feasible"] & np.isfinite(t["value"].astype(float))
        t = t[ok]
        frames.append(
            pd.DataFrame(
                {
                    **{f"params_{n}": t[f"param_{n}"].to_numpy() for n in names},
                    "value": t["value"].astype(float).to_numpy(),
                }
            )
        )
    out: dict[str, Any] = {"n": 0, "notes": []}
    if not frames:
        return out
    df = pd.concat(frames, ignore_index=True)
    out["n"] = int(len(df))
    varied = [n for n in names if df[f"params_{n}"].astype(str).nunique() > 1]
    try:
        reg = regress_metric_on_params(df, params=varied or names, metric="value")
        out["r2"] = _finite(reg.r_squared)
        out["ols"] = [
            {
                "term": str(term),
                "coef": _finite(r["coef"]),
                "std_err": _finite(r["std_err"]),
                "t": _finite(r["t"]),
                "p_value": _finite(r["p_value"]),
                "significant": bool(r["significant"]),
            }
            for term, r in reg.terms.iterrows()
        ]
        out["significant"] = list(reg.significant)
        out["notes"] += list(reg.notes)
    except Exception as exc:  # noqa: BLE001 - too few trials, constant parameters: reported
        out["notes"].append(f"OLS not computed: {exc}")
    if len(varied) >= 1 and len(df) >= 4:
        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        try:
            dists = SearchSpace(cls).distributions()
            study = optuna.create_study(directions=[direction])
            sample = df
            if len(df) > _FANOVA_ROWS:  # the forest's cost grows fast with rows; 300 suffice
                sample = df.sample(_FANOVA_ROWS, random_state=seed).sort_index()
                out["notes"].append(
                    f"fANOVA on {_FANOVA_ROWS} of the {len(df)} trials (random, seeded)"
                )
            study.add_trials(
                [
                    optuna.trial.create_trial(
                        params={n: _plain(row[f"params_{n}"]) for n in names},
                        distributions=dists,
                        value=float(row["value"]),
                    )
                    for _, row in sample.iterrows()
                ]
            )
            evaluator = optuna.importance.FanovaImportanceEvaluator(n_trees=16, seed=seed)
            imp = optuna.importance.get_param_importances(
                study, evaluator=evaluator, params=varied, normalize=True
            )
            out["fanova"] = {k: float(v) for k, v in imp.items()}
        except Exception as exc:  # noqa: BLE001
            out["notes"].append(f"fANOVA not computed: {exc}")
        finally:
            optuna.logging.set_verbosity(verbosity)
    try:
        narrowed = suggest_narrowed_space(df, cls, metric="value", maximize=direction == "maximize")
        sugg: dict[str, Any] = {}
        for n, p in narrowed.items():
            if isinstance(p, Categorical):
                if list(p.choices) != list(cls.space()[n].choices):
                    sugg[n] = [_plain(c) for c in p.choices]
            elif (p.low, p.high) != (cls.space()[n].low, cls.space()[n].high):
                sugg[n] = {"low": _plain(p.low), "high": _plain(p.high)}
        out["suggested_space"] = sugg
    except Exception as exc:  # noqa: BLE001
        out["notes"].append(f"no narrowed space: {exc}")
    return out


# --------------------------------------------------------------------------------------------
def _rows(
    lb: Any, gates: Any, by_key: Mapping[str, Search], stability: Mapping[str, Any]
) -> list[dict]:
    from research.ranking import _GATES  # gate -> (column, label, op, fmt)

    rows = []
    for rec in lb.table.to_dict("records"):
        s = by_key[rec["name"]]
        gate_info = {}
        for gate, (col, _label, _op, _fmt) in _GATES.items():
            threshold = getattr(gates, gate)
            if threshold is None:
                continue
            gate_info[gate] = {
                "value": _finite(rec.get(col)),
                "threshold": threshold,
                "passed": bool(rec.get(f"gate_{gate}")),
            }
        oos = {
            k: _finite(rec.get(k))
            for k in (
                "total_return",
                "cagr",
                "annual_volatility",
                "sharpe_ratio",
                "sortino_ratio",
                "max_drawdown",
                "calmar_ratio",
                "omega_ratio",
                "n_trades",
                "win_rate",
                "profit_factor",
                "exposure",
                "turnover",
            )
            if k in rec
        }
        stab = stability.get(s.key)
        rows.append(
            {
                "rank": int(rec["rank"]),
                "candidate": s.key,
                "strategy": s.label,
                "strategy_ref": s.ref,
                "optimizer": s.optimizer,
                "kind": "walk-forward",
                "params": _plain(s.result.final_params or {}),
                "fold_params": [_plain(f.best_params) for f in s.result.folds],
                "features_mode": s.features_mode
                if isinstance(s.features_mode, str | None)
                else list(s.features_mode),
                "oos_metrics": oos,
                "score": _finite(rec.get("score")),
                "stats": {
                    "sharpe_per_period": _finite(rec.get("sharpe_per_period")),
                    "psr": _finite(rec.get("psr")),
                    "dsr": _finite(rec.get("dsr")),
                    "n_trials": _finite(rec.get("n_trials")),
                    "effective_trials": _finite(rec.get("effective_trials")),
                    "pbo": _finite(rec.get("pbo")),
                    "stability": _finite(rec.get("stability")),
                    "wfe": _finite(rec.get("wfe")),
                    "spa_pvalue": _finite(rec.get("spa_pvalue")),
                },
                "stability_note": str(stab) if isinstance(stab, Exception) else None,
                "gates": gate_info,
                "passed": bool(rec["passed"]),
                "failed_gates": rec.get("failed_gates") or "",
                "notes": rec.get("notes") or "",
            }
        )
    return rows


def _pbo_points(
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


def _require_final_params(lb: Any, by_key: Mapping[str, Search]) -> Any:
    """A candidate whose last fold found no feasible trial has no parameters to trade now: it
    is flagged, ranked after every candidate that has parameters (never rank 1 of a leaderboard
    read top-down) and never champion (the verdict is rewritten when that changes the pick)."""
    from dataclasses import replace

    from research.ranking import _verdict

    missing = [by_key[name].result.final_params is None for name in lb.table["name"]]
    if not any(missing):
        return lb
    table = lb.table.copy().reset_index(drop=True)
    reason = "no parameters to trade (the last fold found no feasible trial)"
    for i, miss in enumerate(missing):
        if miss:
            table.loc[i, "passed"] = False
            prior = str(table.loc[i, "failed_gates"] or "")
            table.loc[i, "failed_gates"] = f"{prior}, {reason}" if prior else reason
    # --- gates (issue 12): nothing to trade never holds rank 1; such rows go last, in order
    order = sorted(range(len(missing)), key=lambda i: (missing[i], i))
    table = table.iloc[order].reset_index(drop=True)
    table["rank"] = range(1, len(table) + 1)
    candidates = [lb.candidates[i] for i in order]
    # --- end gates
    pos = next((i for i, ok in enumerate(table["passed"]) if ok), None)
    champion = candidates[pos] if pos is not None else None
    return replace(
        lb,
        table=table,
        champion=champion,
        verdict=_verdict(table, pos, lb.metric),
        candidates=candidates,
    )


# --- gates (issue 12) -------------------------------------------------------------------------
def _dsr_count(oos: pd.DataFrame, trials_sharpes: Any, mode: str, budget: Any) -> Any:
    """:func:`research.dsr_trials.trial_count` of the stitched out-of-sample record (None when
    the inputs cannot give it: the leaderboard then falls back to the trial record)."""
    from data_loaders.errors import ResearchError
    from research.dsr_trials import trial_count
    from research.overfitting import effective_number_of_trials, sharpe_per_period

    if len(oos) < 3:
        return None
    sharpes = np.array([sharpe_per_period(oos[c].to_numpy()) for c in oos.columns])
    sharpes = sharpes[np.isfinite(sharpes)]
    eff = None
    if mode == "effective" and oos.shape[1] >= 2:
        e = effective_number_of_trials(oos)
        eff = (e.n_effective, e.sharpe_variance)
    elif mode == "effective":
        eff = (1.0, 0.0)
    try:
        return trial_count(
            mode=mode,
            record="walk_forward",
            candidate_sharpes=sharpes,
            n_obs=len(oos),
            trials_sharpes=trials_sharpes,
            effective=eff,
            prior_looks=0 if budget is None else budget.n_candidates,
        )
    except ResearchError:
        return None


def _count_dict(count: Any, mode: str, budget: Any) -> dict[str, Any]:
    """``overfitting.dsr_trials`` of results.json: the count, its luck benchmark (per-period
    expected maximum Sharpe of ``N`` zero-skill candidates) and the budget sentence."""
    from research.overfitting import expected_max_sharpe

    if count is None:
        return {"mode": mode, "note": "not computed: the trial record is used"}
    out = {
        "mode": count.mode,
        "record": count.record,
        "n_trials": count.n_trials,
        "sharpe_variance": count.sharpe_variance,
        "n_this_run": count.n_this_run,
        "n_prior": count.n_prior,
        "variance_source": count.variance_source,
        "expected_max_sharpe": expected_max_sharpe(count.n_trials, count.sharpe_variance),
        "note": count.note,
    }
    if budget is not None:
        out["budget"] = {
            "n_runs": budget.n_runs,
            "n_candidates": budget.n_candidates,
            "sentence": budget.sentence(int(count.n_this_run) if count.mode == "candidates" else 0),
        }
    return out


# --- end gates ------------------------------------------------------------------------------
def _stab_dict(v: Any) -> dict[str, Any]:
    if isinstance(v, Exception):
        return {"note": f"not computed: {v}"}
    return {
        "score": _finite(v.score),
        "pick_value": _finite(v.pick_value),
        "neighbour_median": _finite(v.neighbour_median),
        "n_neighbours": int(v.n_neighbours),
        "share_above_half": _finite(v.share_above_half),
    }


def _slow(cls: Any) -> bool:
    """Strategies evaluated one set at a time (fitted or multi-asset): fewer neighbours."""
    return bool(cls.needs_fit or cls.multi_asset)


def _fit_window(s: Search, fold: int) -> tuple[int, int] | None:
    f = s.result.folds[fold]
    return (f.train_range.start, f.train_range.stop)


def _partitions(n_rows: int, min_block: int = 10, most: int = 16) -> int:
    """Even number of CSCV blocks of at least ``min_block`` rows, at most ``most``."""
    s = min(most, n_rows // min_block)
    return s - (s % 2)


def _index(bars: Any) -> pd.Index:
    return next(iter(bars.values())).index if isinstance(bars, Mapping) else bars.index


def _say(progress: Any, text: str) -> None:
    if progress is not None:
        progress(text)


def _finite(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _nan(v: Any) -> float:
    f = _finite(v)
    return math.nan if f is None else f


def _plain(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v
