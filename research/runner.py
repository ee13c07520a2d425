"""``research run``: one experiment spec in, one run folder out.

:func:`run_experiment` is the whole pipeline::

    spec (+ CLI overrides) -> data -> [exploration] -> for each strategy x optimizer:
    walk_forward_optimize -> analysis (candidates, DSR/PBO/stability/SPA, leaderboard, gates)
    -> importance -> run folder (config, fingerprint, code version, leaderboard.csv,
    results.json, series/*.parquet, report.html, study.db) -> [MLflow]

The run folder layout and the resume rule are :mod:`research.runs`'s: rerunning the same
command after a crash reopens the unfinished folder, and every search continues its studies in
``study.db`` (completed trials are kept, the missing ones run). The same spec and seed give the
same leaderboard.

Conventions:

* **Data.** :func:`load_experiment_data` reads ``data.source`` (relative paths: the working
  directory first, then the spec's folder), keeps ``data.symbols``, cuts ``data.start`` /
  ``data.end`` (inclusive, UTC), resamples. Several symbols are a ``dict[symbol, DataFrame]``
  aligned on their common timestamps. A single-asset strategy on several symbols trades the
  first one.
* **Exploration** (``explore``) reads only the first fold's training window (its screening and
  selection), so the selected features never saw an out-of-sample bar; the features themselves
  are causal and computed over all bars.
* **Annualisation.** ``data.periods_per_year`` or, when empty, bars per year measured on the data
  (snapped to 252, 365, 52 or 12 when within 5 %).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from data_loaders.errors import ConfigError, DataTooShortError

__all__ = [
    "RunResult",
    "run_experiment",
    "load_experiment_data",
    "recent_window",
    "evaluate_params",
    "build_splitter",
    "build_costs",
    "build_gates",
    "periods_per_year",
]

_SCHEMES = ("sample:", "yfinance:", "ccxt:")


@dataclass
class RunResult:
    """What :func:`run_experiment` returns: the run folder and what it holds.

    Attributes:
        run_dir: the run folder.
        results: the content of ``results.json``.
        leaderboard: the ranked candidates (``leaderboard.csv``).
        resumed: whether an unfinished run was continued.
        seconds: wall time of this call.
    """

    run_dir: Path
    results: dict[str, Any]
    leaderboard: pd.DataFrame
    resumed: bool = False
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """Whether a candidate passed every gate (there is a champion)."""
        return bool((self.results.get("verdict") or {}).get("passed"))

    @property
    def champion(self) -> dict[str, Any] | None:
        """The champion's leaderboard row, or None."""
        return (self.results.get("verdict") or {}).get("champion")

    def summary(self) -> str:
        """A few lines for the terminal: verdict, top of the leaderboard, where the report is."""
        r = self.results
        metric = r.get("ranking_metric", "sharpe_ratio")
        lines = [
            f"{r.get('experiment')} run {r.get('run_id')}" + (" (resumed)" if self.resumed else "")
        ]
        lines.append((r.get("verdict") or {}).get("message", ""))
        lines.append("")
        lines.append(
            f"{'#':>2}  {'candidate':<28} {'OOS ' + metric:>18}  {'DSR':>5}  {'PBO':>5}  gates"
        )
        for row in (r.get("leaderboard") or [])[:10]:
            val = (row.get("oos_metrics") or {}).get(metric)
            st = row.get("stats") or {}
            gates = "passed" if row.get("passed") else f"fails {row.get('failed_gates')}"
            lines.append(
                f"{row['rank']:>2}  {row['candidate']:<28} {_num(val):>18}  "
                f"{_num(st.get('dsr'), 2):>5}  {_num(st.get('pbo'), 2):>5}  {gates}"
            )
        lines.append("")
        report = self.run_dir / "report.html"
        if report.is_file():
            lines.append(f"report: {report}")
        lines.append(f"run folder: {self.run_dir}  ({self.seconds:.1f} s)")
        return "\n".join(lines)


def _num(v: Any, digits: int = 3) -> str:
    return "n/a" if v is None or not math.isfinite(float(v)) else f"{float(v):.{digits}f}"


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------
def _resolve_source(exp: Any) -> str:
    src = exp.data.source
    if src.startswith(_SCHEMES) or Path(src).exists() or exp.path is None:
        return src
    beside = Path(exp.path).parent / src
    return str(beside) if beside.exists() else src


def load_experiment_data(exp: Any) -> pd.DataFrame | dict[str, pd.DataFrame]:
    """The bars of an experiment's ``data`` section (see the module docstring).

    Returns one DataFrame, or a dict of DataFrames on common timestamps for several symbols.

    Raises:
        ConfigError: an unknown symbol. DataValidationError: bad data (from ``data_loaders``).
        DataTooShortError: nothing left after the ``start``/``end`` cut.
    """
    from data_loaders import load_bars
    from data_loaders.errors import did_you_mean

    d = exp.data
    src = _resolve_source(exp)
    bars = load_bars(src, tz=d.tz, adjust=d.adjust)
    where = f"{exp.path or '<spec>'}: data.symbols"
    if d.symbols:
        if isinstance(bars, Mapping):
            for i, sym in enumerate(d.symbols):
                if sym not in bars:
                    raise ConfigError(
                        f"{where}[{i}]: symbol {sym!r} is not in {d.source}"
                        f"{did_you_mean(sym, list(bars))} (it has {sorted(bars)})"
                    )
            bars = {s: bars[s] for s in d.symbols}
        else:
            have = bars.attrs.get("symbol")
            if len(d.symbols) > 1 or (have and d.symbols[0] != have):
                raise ConfigError(
                    f"{where}: {d.source} holds one symbol ({have or 'unnamed'}), "
                    f"got symbols {list(d.symbols)}"
                )
    if isinstance(bars, Mapping) and len(bars) == 1:
        bars = next(iter(bars.values()))
    if d.resample:
        from data_loaders import resample_bars

        bars = resample_bars(bars, d.resample)
    if isinstance(bars, Mapping):
        bars = _align(bars)
    bars = _cut(bars, d.start, d.end, d.source)
    return bars


def _align(bars: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    common = None
    for df in bars.values():
        common = df.index if common is None else common.intersection(df.index)
    if common is None or len(common) == 0:
        raise DataTooShortError(f"the symbols {sorted(bars)} share no timestamp")
    out = {}
    for sym, df in bars.items():
        sub = df.loc[common]
        sub.attrs = dict(df.attrs)
        out[sym] = sub
    return out


def _ts(text: str, end: bool) -> pd.Timestamp:
    ts = pd.Timestamp(text)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    if end and len(str(text)) <= 10:  # a bare date: the whole day is in
        ts = ts + pd.Timedelta(days=1) - pd.Timedelta(1, unit="ns")
    return ts


def _cut(bars: Any, start: str | None, end: str | None, source: str) -> Any:
    if start is None and end is None:
        return bars
    a = _ts(start, False) if start else None
    b = _ts(end, True) if end else None

    def cut(df: pd.DataFrame) -> pd.DataFrame:
        sub = df.loc[a:b]
        sub.attrs = dict(df.attrs)
        return sub

    out = {s: cut(df) for s, df in bars.items()} if isinstance(bars, Mapping) else cut(bars)
    n = len(_index(out))
    if n == 0:
        first, last = _index(bars)[0], _index(bars)[-1]
        raise DataTooShortError(
            f"data.start/end ({start} -> {end}) leave no bar of {source} "
            f"(it covers {first.date()} -> {last.date()})"
        )
    return out


def _index(bars: Any) -> pd.DatetimeIndex:
    return next(iter(bars.values())).index if isinstance(bars, Mapping) else bars.index


def periods_per_year(exp: Any, bars: Any) -> float:
    """``data.periods_per_year`` or the bars per year measured on the data (see module doc)."""
    if exp.data.periods_per_year:
        return float(exp.data.periods_per_year)
    idx = _index(bars)
    if len(idx) < 2:
        return 252.0
    years = (idx[-1] - idx[0]) / pd.Timedelta(days=365.25)
    if years <= 0:
        return 252.0
    est = (len(idx) - 1) / years
    for snap in (252.0, 365.0, 52.0, 12.0):
        if abs(est - snap) <= 0.05 * snap:
            return snap
    return float(round(est))


# --------------------------------------------------------------------------------------------
# spec -> library objects
# --------------------------------------------------------------------------------------------
def build_splitter(exp: Any) -> Any:
    """The :class:`backtest.splitters.WalkForward` of ``walk_forward``."""
    from backtest.splitters import WalkForward

    w = exp.walk_forward
    return WalkForward(
        train=w.train,
        test=w.test,
        step=w.step,
        anchored=w.anchored,
        purge=w.purge,
        embargo=w.embargo,
    )


def build_costs(exp: Any) -> Any:
    """The :class:`backtest.costs.Costs` of ``costs``."""
    from backtest.costs import Costs

    c = exp.costs
    return Costs(fees=c.fees, fixed_fees=c.fixed_fees, slippage_bps=c.slippage_bps)


def build_gates(exp: Any) -> Any:
    """The :class:`research.ranking.Gates` of ``gates`` (the spec's ``max_drawdown`` is a
    positive fraction; the ranking's is the negative drawdown floor)."""
    from research.ranking import Gates

    g = exp.gates
    return Gates(
        min_dsr=g.min_dsr,
        max_pbo=g.max_pbo,
        min_stability=g.min_stability,
        min_trades=g.min_trades,
        max_drawdown=None if g.max_drawdown is None else -float(g.max_drawdown),
        min_wfe=g.min_wfe,
        max_spa_pvalue=g.max_spa_pvalue,
    )


def _ranking_direction(exp: Any) -> str:
    from research.experiment import DEFAULT_DIRECTIONS

    for o in exp.objectives:
        if o.metric == exp.ranking.metric:
            return o.direction
    return DEFAULT_DIRECTIONS.get(exp.ranking.metric, "maximize")


def _strategy_bars(cls: Any, bars: Any, key: str) -> Any:
    if cls.multi_asset:
        if not isinstance(bars, Mapping):
            raise ConfigError(
                f"{key}: {cls.label()} trades several symbols; give data.source with several "
                "symbols (a folder, sample:stocks) and pick them with data.symbols"
            )
        return bars
    if isinstance(bars, Mapping):
        return next(iter(bars.values()))
    return bars


# --------------------------------------------------------------------------------------------
# progress
# --------------------------------------------------------------------------------------------
class _Progress:
    """One line per stage on stderr (the searches draw their own bars on a terminal)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.t0 = time.perf_counter()

    def __call__(self, text: str) -> None:
        if self.enabled:
            print(f"[{time.perf_counter() - self.t0:6.1f}s] {text}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# exploration and features
# --------------------------------------------------------------------------------------------
@dataclass
class _Exploration:
    result: Any = None
    features: pd.DataFrame | None = None
    selected: list[str] = field(default_factory=list)
    note: str = ""


def _explore(
    exp: Any, bars: Any, train_stop: int, out: Path | None, say: Callable, *, need: bool = True
) -> _Exploration:
    """Run the spec's exploration with its screening window ending at bar ``train_stop``.

    When a strategy needs features (``need``) and none passed the false-discovery control, the
    ten best-scored features are taken instead (noted in the results)."""
    from research.explore import explore

    spec = exp.explore.spec
    if isinstance(spec, str) and exp.path and not Path(spec).exists():
        beside = Path(exp.path).parent / spec
        spec = str(beside) if beside.exists() else spec
    index = _index(bars)
    say(f"exploring features on the first training window (to {index[train_stop - 1].date()})")
    res = explore(bars, spec, train_end=index[train_stop - 1])
    selected = list(res.selected)
    note = ""
    if not selected and need:
        scores = res.screening.scores
        selected = [str(f) for f in scores.index[:10]]
        note = (
            "the screening found no feature significant after the false-discovery control; the "
            f"{len(selected)} best-scored features are used instead"
        )
    if out is not None:
        res.save(out)
    return _Exploration(result=res, features=res.features, selected=selected, note=note)


def _features_for(
    spec: Any, cls: Any, bars: Any, ex: _Exploration | None, key: str
) -> tuple[pd.DataFrame | None, Any]:
    """(feature matrix or None, the features mode recorded in results)."""
    if spec.features is None:
        return None, None
    if spec.features == "explore":
        assert ex is not None  # the spec's cross-checks require explore: true
        return ex.features[ex.selected], list(ex.selected)
    cols = list(spec.features)
    if ex is not None and all(c in ex.features.columns for c in cols):
        return ex.features[cols], cols
    from data_loaders.errors import ResearchError
    from strategies.indicators import compute_features

    primary = next(iter(bars.values())) if isinstance(bars, Mapping) else bars
    try:
        feats = compute_features(primary, cols)
    except (ResearchError, KeyError) as exc:
        raise ConfigError(
            f"{key}.features: {exc} (give catalog indicator names, or exploration feature "
            "columns with explore: true)"
        ) from None
    return feats, cols


# --------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------
def run_experiment(
    exp: Any,
    *,
    out_dir: str | Path | None = None,
    trials: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    storage: str | None = None,
    progress: bool = True,
    runs_root: str | Path = "runs",
    new: bool = False,
    bars: Any = None,
    warm_start: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> RunResult:
    """Run an experiment and write its run folder.

    Args:
        exp: an :class:`~research.experiment.Experiment` or the path of its YAML file.
        out_dir: the run folder (default ``runs_root/<experiment>/<run-id>/``; resumed when it
            holds an unfinished run of the same spec).
        trials, seed, workers, scheduler, storage: command-line overrides of the spec.
        progress: stage lines on stderr and the searches' progress bars.
        runs_root: where run folders go when ``out_dir`` is not given.
        new: start a fresh folder even if an unfinished run of the same spec exists.
        bars: already-loaded bars instead of the spec's data source (nightly, tests).
        warm_start: parameter sets tried first, per strategy label.

    Returns:
        A :class:`RunResult`.

    Raises:
        ConfigError: bad spec or overrides, an unusable run folder.
        DataValidationError, DataTooShortError: bad or too little data.
    """
    from research.experiment import (
        Experiment,
        apply_overrides,
        load_experiment,
        validate_experiment,
    )
    from research.runs import finish_run, prepare_run_dir, release_run, write_run_record

    t0 = time.perf_counter()
    if not isinstance(exp, Experiment):
        exp = load_experiment(exp)
    exp = apply_overrides(
        exp, n_trials=trials, seed=seed, workers=workers, scheduler=scheduler, storage=storage
    )
    validate_experiment(exp)
    if exp.scheduler and not exp.storage:
        raise ConfigError(
            "--scheduler: a Dask scheduler needs a shared --storage URL "
            "(e.g. postgresql://user@host/db) that every worker host can reach"
        )
    if exp.tracking.backend == "mlflow":
        from research.tracking import mlflow_available

        if not mlflow_available():
            raise ConfigError(
                f"{exp.path or '<spec>'}: tracking.backend: 'mlflow' needs the mlflow package; "
                "pip install -e '.[tracking]' (or set tracking: none)"
            )
    say = _Progress(progress)
    if bars is None:
        say(f"loading {exp.data.source}")
        bars = load_experiment_data(exp)
    _preflight(exp, bars)
    run = prepare_run_dir(exp.name, exp.to_dict(), out=out_dir, root=runs_root, new=new)
    try:
        if run.resumed:
            say(f"resuming the unfinished run in {run.path}")
        results, table = _run_in(exp, run, bars, warm_start or {}, say, progress)
        if exp.tracking.backend == "mlflow":
            from research.tracking import log_run

            say("logging to MLflow")
            uri = exp.tracking.uri
            results["mlflow_run_id"] = log_run(
                run.path,
                uri=uri,
                experiment=exp.tracking.experiment,
                runs_root=Path(runs_root) if out_dir is None else run.path.parent.parent,
            )
        write_run_record(run, seconds=round(time.perf_counter() - t0, 2))
        finish_run(run)
    except BaseException:
        release_run(run)  # the marker stays: rerunning the command resumes
        raise
    say(f"done in {time.perf_counter() - t0:.1f} s")
    return RunResult(
        run_dir=run.path,
        results=results,
        leaderboard=table,
        resumed=run.resumed,
        seconds=time.perf_counter() - t0,
    )


def _folds(exp: Any, bars: Any) -> list[Any]:
    index = _index(bars)
    folds = list(build_splitter(exp).split(index))
    if not folds:
        raise DataTooShortError(
            f"walk_forward (train={exp.walk_forward.train}, test={exp.walk_forward.test}) gives no "
            f"fold on {len(index)} bars ({index[0].date()} -> {index[-1].date()}); use shorter "
            "windows or more data"
        )
    return folds


def _preflight(exp: Any, bars: Any) -> None:
    """The checks that need the data, done before a run folder is created."""
    from research.experiment import resolve_strategy

    _folds(exp, bars)
    src = exp.path or "<spec>"
    for i, s in enumerate(exp.strategies):
        key = f"{src}: strategies[{i}]"
        _strategy_bars(resolve_strategy(s, key=key), bars, key)


def _run_in(
    exp: Any,
    run: Any,
    bars: Any,
    warm_start: Mapping[str, Sequence[Mapping[str, Any]]],
    say: Callable[[str], None],
    progress: bool,
) -> tuple[dict[str, Any], pd.DataFrame]:
    from research import _analysis as A
    from research.experiment import resolve_strategy, spec_hash
    from research.optimize import walk_forward_optimize
    from research.optimize.storage import data_fingerprint, safe_url
    from research.runs import (
        atomic_write_json,
        atomic_write_text,
        code_version,
        resume_key,
        write_run_record,
    )

    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(timings.get(name, 0.0) + now - clock, 3)
        clock = now

    index = _index(bars)
    ppy = periods_per_year(exp, bars)
    fingerprint = data_fingerprint(bars)
    symbols = list(bars) if isinstance(bars, Mapping) else [bars.attrs.get("symbol") or ""]
    data_info = {
        "source": exp.data.source,
        "symbols": [s for s in symbols if s],
        "start": index[0].isoformat(),
        "end": index[-1].isoformat(),
        "n_bars": int(len(index)),
        "periods_per_year": ppy,
        "fingerprint": fingerprint,
    }
    version = code_version()
    spec_dict = exp.to_dict()
    atomic_write_text(run.path / "config.yaml", exp.to_yaml())
    storage_url = exp.storage or run.storage_url
    write_run_record(
        run,
        experiment=exp.name,
        seed=exp.seed,
        data=data_info,
        data_fingerprint=fingerprint,
        code_version=version,
        spec_hash=spec_hash(exp),
        resume_key=resume_key(spec_dict),
        storage=safe_url(storage_url),
    )
    splitter = build_splitter(exp)
    folds = _folds(exp, bars)
    lap("setup")

    ex = None
    if exp.explore.enabled:
        need = any(s.features == "explore" for s in exp.strategies)
        ex = _explore(exp, bars, int(folds[0].train.stop), run.path / "explore", say, need=need)
        lap("explore")

    costs = build_costs(exp)
    objectives = [o.metric for o in exp.objectives]
    directions = [o.direction for o in exp.objectives]
    searches: list[Any] = []
    pairs = [(s, o) for s in exp.strategies for o in exp.optimizers]
    src = exp.path or "<spec>"
    for n, (s, o) in enumerate(pairs, 1):
        i = exp.strategies.index(s)
        key = f"{src}: strategies[{i}]"
        cls = resolve_strategy(s, key=key)
        sbars = _strategy_bars(cls, bars, key)
        feats, mode = _features_for(s, cls, sbars, ex, key)
        say(
            f"[{n}/{len(pairs)}] searching {s.label} with {o.name}: {len(folds)} folds x "
            f"{exp.budget.n_trials} trials"
        )
        t_search = time.perf_counter()
        res = walk_forward_optimize(
            cls,
            sbars,
            splitter=splitter,
            optimizer=o.name,
            optimizer_options=o.options or None,
            n_trials=exp.budget.n_trials,
            objective=objectives,
            directions=directions,
            guardrails=exp.guardrails,
            costs=costs,
            execution=exp.costs.execution,
            direction=exp.costs.direction,
            init_cash=exp.costs.init_cash,
            seed=exp.seed,
            storage=storage_url,
            run_dir=run.path,
            workers=exp.workers,
            scheduler=exp.scheduler,
            warm_start=list(warm_start.get(s.label) or []) or None,
            pruner=exp.budget.pruner,
            timeout=exp.budget.timeout,
            progress=progress,
            features=feats,
            periods_per_year=ppy,
        )
        oos = res.oos_metrics().get(objectives[0])
        say(
            f"      {len(res.trials)} trials in {time.perf_counter() - t_search:.1f} s; stitched "
            f"OOS {objectives[0]} {_num(oos)}"
        )
        searches.append(
            A.Search(
                key=f"{s.label}/{o.name}",
                label=s.label,
                ref=s.name,
                optimizer=o.name,
                strategy_cls=cls,
                result=res,
                bars=sbars,
                features=feats,
                features_mode=mode,
            )
        )
    lap("search")

    setup = A.EvalSetup(
        bars=searches[0].bars if not isinstance(searches[0].bars, Mapping) else bars,
        costs=costs,
        execution=exp.costs.execution,
        direction=exp.costs.direction,
        init_cash=exp.costs.init_cash,
        periods_per_year=ppy,
    )
    direction = _ranking_direction(exp)
    say("judging the candidates: out-of-sample re-evaluation, DSR, PBO, stability, SPA")
    # --- gates (issue 12): earlier looks at the same out-of-sample data (the OOS budget)
    from research.dsr_trials import oos_budget, scan_run_store

    oos_span = (index[folds[0].test.start].isoformat(), index[folds[-1].test.stop - 1].isoformat())
    budget = oos_budget(  # the runs beside this one: runs/<experiment>/* by default
        scan_run_store(run.path.parent), fingerprint, oos_span, exclude_run=run.run_id
    )
    # --- end gates
    analysis = A.analyse(
        searches,
        setup,
        gates=build_gates(exp),
        ranking_metric=exp.ranking.metric,
        ranking_direction=direction,
        top_k=exp.ranking.top_k,
        seed=exp.seed,
        progress=None,
        dsr_trials=exp.gates.dsr_trials,
        oos_budget=budget,
    )
    lap("analysis")

    say("hyperparameter importance")
    importance: dict[str, Any] = {}
    for label in dict.fromkeys(s.label for s in searches):
        group = [s for s in searches if s.label == label]
        importance[label] = A.importance(group, directions[0], seed=exp.seed)
    lap("importance")

    rows = analysis["rows"]
    champ_key = analysis["champion_key"]
    focus_key = champ_key or (rows[0]["candidate"] if rows else None)
    by_key = {s.key: s for s in searches}
    focus = by_key.get(focus_key) if focus_key else None
    grid = None
    if focus is not None and focus.result.final_params:
        try:
            grid = A.stability_grid(
                focus,
                setup,
                focus.result.final_params,
                exp.ranking.metric,
                direction,
                importance=(importance.get(focus.label) or {}).get("fanova"),
            )
        except Exception as exc:  # noqa: BLE001 - a missing heatmap must not lose the run
            grid = {"note": f"not computed: {exc}"}
    trades = _champion_trades(focus, setup) if focus is not None else None
    lap("stability and trades")

    # ---- write the run folder -------------------------------------------------------------
    series = run.path / "series"
    series.mkdir(exist_ok=True)
    analysis["oos_returns"].to_parquet(series / "oos_returns.parquet")
    analysis["benchmark"].to_frame("buy_and_hold").to_parquet(series / "benchmark.parquet")
    A.trials_table(searches).to_parquet(series / "trials.parquet")
    if trades is not None:
        trades.to_parquet(series / "champion_trades.parquet")
    lb = analysis["leaderboard"]
    lb.to_csv(run.path / "leaderboard.csv")

    from backtest.metrics import compute_metrics

    bench = analysis["benchmark"]
    span = analysis["oos_span"]
    overfit = dict(analysis["overfitting"])
    overfit["stability"] = {**overfit.get("stability", {}), "grid": grid}
    champion = next((r for r in rows if r["candidate"] == champ_key), None)
    results: dict[str, Any] = {
        "experiment": exp.name,
        "description": exp.description,
        "run_id": run.run_id,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seed": exp.seed,
        "code_version": version,
        "data": data_info,
        "ranking_metric": exp.ranking.metric,
        "ranking_direction": direction,
        "objectives": [{"metric": o.metric, "direction": o.direction} for o in exp.objectives],
        "gates": spec_dict["gates"],
        "verdict": {
            "passed": champion is not None,
            "message": lb.verdict,
            "champion": champion,
            "best": rows[0] if rows else None,
        },
        "leaderboard": rows,
        "benchmark": {
            "name": "buy and hold",
            "oos_metrics": A._metrics(compute_metrics(bench.to_numpy(), periods_per_year=ppy))
            if len(bench)
            else {},
        },
        "oos_span": {
            "start": index[span[0]].isoformat(),
            "end": index[span[1] - 1].isoformat(),
            "n_bars": int(span[1] - span[0]),
        },
        "folds": [
            {
                "number": int(f.number),
                "train_start": index[f.train.start].date().isoformat(),
                "train_end": index[f.train.stop - 1].date().isoformat(),
                "test_start": index[f.test.start].date().isoformat(),
                "test_end": index[f.test.stop - 1].date().isoformat(),
                "train_bars": int(f.train.stop - f.train.start),
                "test_bars": int(f.test.stop - f.test.start),
            }
            for f in folds
        ],
        "searches": [A.search_summary(s) for s in searches],
        "overfitting": overfit,
        "importance": importance,
        "pareto": _pareto(searches) if len(exp.objectives) > 1 else None,
        "explore": _explore_summary(ex),
        "champion_trades": None if trades is None else int(len(trades)),
        "storage": safe_url(storage_url),
        "timings": timings,
    }
    lap("write")
    atomic_write_json(run.path / "results.json", results)
    if exp.report.enabled:
        from research.report import build_report

        say("writing the report")
        t_report = time.perf_counter()
        build_report(run.path)
        write_run_record(run, report_seconds=round(time.perf_counter() - t_report, 3))
    from research.runs import _json_safe

    return json.loads(json.dumps(_json_safe(results))), lb.table


def _pareto(searches: Sequence[Any]) -> dict[str, Any]:
    out = {}
    for s in searches:
        p = s.result.pareto
        if p is None or p.empty:
            out[s.key] = []
            continue
        cols = [c for c in p.columns if c.startswith("value_")]
        out[s.key] = [
            {
                "fold": int(r["fold"]),
                "number": int(r["number"]),
                "params": r["params"],
                **{c[len("value_") :]: r[c] for c in cols},
            }
            for r in p.to_dict("records")
        ]
    return out


def _explore_summary(ex: _Exploration | None) -> dict[str, Any] | None:
    if ex is None:
        return None
    from research.explore import render_explore_section

    f = ex.result.findings
    screening = f.get("screening") or {}
    summary = {
        "train window ends": f["train"]["end"],
        "features computed": f["features"]["n_computed"],
        "features screened": f["features"]["n_screened"],
        "significant after FDR": len(ex.result.selected),
        "selected": len(ex.selected),
        "top feature": (screening.get("top") or [{}])[0].get("feature"),
    }
    try:
        html = render_explore_section(ex.result, include_plotlyjs=False)
    except Exception as exc:  # noqa: BLE001 - the summary table still tells the story
        html = ""
        summary["note"] = f"exploration section not rendered: {exc}"
    if ex.note:
        summary["note"] = ex.note
    return {
        "summary": summary,
        "selected": ex.selected,
        "note": ex.note,
        "html": html,
        "folder": "explore",
    }


def _champion_trades(s: Any, setup: Any) -> pd.DataFrame | None:
    """Trades of a walk-forward candidate: each fold's pick traded on its test window."""
    from backtest.engine import TRADE_COLUMNS
    from research._analysis import window_backtest

    parts = []
    for f in s.result.folds:
        if not f.best_params:
            continue
        window = (f.test_range.start, f.test_range.stop)
        try:
            bt, _lo = window_backtest(
                setup,
                s.strategy_cls,
                f.best_params,
                window,
                fit=(f.train_range.start, f.train_range.stop),
                features=s.features,
                bars=s.bars,
            )
        except Exception:  # noqa: BLE001 - trades are a view; the metrics come from the search
            continue
        t = bt.trades.copy()
        if t.empty:
            continue
        t.insert(0, "fold", int(f.fold))
        parts.append(t)
    # the engine's trade columns, without its bar numbers (positions in the test window only)
    columns = ["fold"] + [c for c in TRADE_COLUMNS if c not in ("entry_bar", "exit_bar")]
    if not parts:
        return pd.DataFrame(columns=columns)
    out = pd.concat(parts, ignore_index=True)
    return out[[c for c in columns if c in out.columns]]


# --------------------------------------------------------------------------------------------
# nightly helpers
# --------------------------------------------------------------------------------------------
def recent_window(exp: Any, bars: Any) -> tuple[int, int]:
    """``(start, n_bars)``: the most recent judging window is bars ``[start, n_bars)``.

    Its size is ``nightly.window`` (default ``walk_forward.test``), in bars or as a duration
    back from the last bar. Raises :class:`DataTooShortError` when it leaves no history.
    """
    from backtest.splitters import parse_size

    index = _index(bars)
    n = len(index)
    size = parse_size(exp.nightly.window or exp.walk_forward.test, "nightly.window")
    if isinstance(size, int):
        start = n - size
    else:
        start = int(index.searchsorted(index[-1] - size, side="right"))
    if start <= 0 or start >= n:
        raise DataTooShortError(
            f"nightly.window ({exp.nightly.window or exp.walk_forward.test}) leaves "
            f"{max(start, 0)} bars of history before it out of {n}"
        )
    return int(start), int(n)


def evaluate_params(
    exp: Any,
    strategy_ref: str,
    params: Mapping[str, Any],
    bars: Any,
    *,
    start: int,
    stop: int | None = None,
    features_mode: Any = None,
) -> dict[str, float | None]:
    """Metrics of one parameter set traded on bars ``[start, stop)`` with the spec's costs.

    Positions are computed causally on the bars up to ``stop``; a strategy that learns is fitted
    on the ``walk_forward.train`` bars just before ``start``. ``features_mode`` as recorded in a
    leaderboard row: None, or the feature columns (recomputed by the spec's exploration with its
    screening window ending before ``start``).
    """
    from backtest.splitters import parse_size
    from research import _analysis as A
    from research.experiment import StrategySpec, resolve_strategy

    label = None
    for s in exp.strategies:
        if s.name == strategy_ref:
            label = s
            break
    spec = label or StrategySpec(name=strategy_ref)
    cls = resolve_strategy(replace(spec, space={}), key=f"strategy {strategy_ref!r}")
    sbars = _strategy_bars(cls, bars, f"strategy {strategy_ref!r}")
    index = _index(bars)
    stop = len(index) if stop is None else int(stop)
    feats = None
    if features_mode:
        cols = [features_mode] if isinstance(features_mode, str) else list(features_mode)
        ex = _explore(exp, bars, start, None, lambda _t: None)
        missing = [c for c in cols if c not in ex.features.columns]
        if missing:
            raise ConfigError(
                f"features {missing} of {strategy_ref} are not produced by the exploration any "
                "more; rerun `research run` to pick new ones"
            )
        feats = ex.features[cols]
    fit = None
    if cls.needs_fit:
        size = parse_size(exp.walk_forward.train, "walk_forward.train")
        if isinstance(size, int):
            a = max(0, start - size)
        else:
            a = int(index.searchsorted(index[start] - size, side="left"))
        fit = (a, start)
    setup = A.EvalSetup(
        bars=sbars,
        costs=build_costs(exp),
        execution=exp.costs.execution,
        direction=exp.costs.direction,
        init_cash=exp.costs.init_cash,
        periods_per_year=periods_per_year(exp, bars),
    )
    (res,) = A.evaluate_sets(
        setup, cls, [dict(params)], (int(start), stop), fit=fit, features=feats, bars=sbars
    )
    if res.error is not None:
        raise ConfigError(f"{strategy_ref} {dict(params)} failed on the window: {res.error}")
    return A._metrics(res.metrics[0])
