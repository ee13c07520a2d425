"""Run a spec's whole search-and-judge pipeline on synthetic data sets and keep raw records.

Each data set gives one **record** (a plain JSON-able dict, one line of ``records.jsonl``) with
everything the gates need, so any gate set, any ``dsr_trials`` choice can be evaluated offline
(:mod:`research.run.calibration._evaluate`) without running the searches again:

* ``dataset``: the :class:`DataSet`; ``fixed_oos_sharpe``: the fixed rule's annualised Sharpe
  ratio over the out-of-sample span with the spec's engine and costs;
* ``n_obs``, ``periods_per_year``, ``trials``: the in-sample trial count, their Sharpe variance
  (per period squared), the reported effective number of trials;
* ``candidates``: per candidate, in leaderboard order: per-period Sharpe, skew, raw kurtosis,
  the annualised Sharpe, the product's DSR, PBO, stability, WFE, SPA p-value (against
  buy-and-hold, as the product computes it, and against cash), trades, maximum drawdown, whether it has parameters to trade, and the product's own gate verdict;
* ``correlation``: the candidates' out-of-sample return correlations (for ``effective``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from research._json import finite
from research.run.calibration._datasets import FIXED_RULE, DataSet

__all__ = ["calibration_spec", "run_dataset", "run_datasets", "read_records"]


def calibration_spec(exp: Any) -> Any:
    """The spec as the calibration runs it: no report, no tracking, one worker, own storage."""
    return replace(
        exp,
        report=replace(exp.report, enabled=False),
        tracking=replace(exp.tracking, backend="none"),
        workers=1,
        storage=None,
        scheduler=None,
    )


def _spa_cash(oos: pd.DataFrame, key: str, seed: int) -> float | None:
    """Hansen's SPA p-value of one candidate against staying in cash (zero benchmark)."""
    from research.overfitting import spa_test

    try:
        return finite(spa_test(oos[[key]].fillna(0.0), None, reps=500, seed=seed).consistent)
    except Exception:  # noqa: BLE001 - too short or constant: not computed
        return None


def _candidates(results: dict[str, Any], oos: pd.DataFrame) -> list[dict[str, Any]]:
    from research.overfitting import return_moments

    out = []
    for row in results.get("leaderboard") or []:
        key = row["candidate"]
        mom = return_moments(oos[key].fillna(0.0).to_numpy()) if key in oos else {}
        st, m = row.get("stats") or {}, row.get("oos_metrics") or {}
        out.append(
            {
                "candidate": key,
                "strategy": row.get("strategy"),
                "optimizer": row.get("optimizer"),
                "rank": row.get("rank"),
                "sharpe_pp": finite(mom.get("sharpe")),
                "skew": finite(mom.get("skew")),
                "kurtosis": finite(mom.get("kurtosis")),
                "sharpe": finite(m.get("sharpe_ratio")),
                "dsr": finite(st.get("dsr")),
                "pbo": finite(st.get("pbo")),
                "stability": finite(st.get("stability")),
                "wfe": finite(st.get("wfe")),
                "spa_pvalue": finite(st.get("spa_pvalue")),
                "spa_cash_pvalue": _spa_cash(oos, key, int(results.get("seed") or 0))
                if key in oos
                else None,
                "n_trades": finite(m.get("n_trades")),
                "max_drawdown": finite(m.get("max_drawdown")),
                "has_params": bool(row.get("params")),
                "passed": bool(row.get("passed")),
                "failed_gates": row.get("failed_gates") or "",
            }
        )
    return out


def run_dataset(exp: Any, like: pd.DataFrame, ds: DataSet, workdir: str | Path) -> dict[str, Any]:
    """Run ``exp`` on the data set ``ds`` (shaped like ``like``) and return its record."""
    from research.run.pipeline import run_experiment
    from research.run.window import evaluate_params

    t0 = time.perf_counter()
    bars = ds.bars(like)
    out_dir = Path(workdir) / ds.id
    if out_dir.exists():
        shutil.rmtree(out_dir)
    try:
        res = run_experiment(exp, bars=bars, out_dir=out_dir, progress=False, new=True)
        r = res.results.to_json()
        oos = pd.read_parquet(out_dir / "series" / "oos_returns.parquet")
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    span = r["oos_span"]
    start = int(bars.index.searchsorted(pd.Timestamp(span["start"])))
    fixed = evaluate_params(exp, FIXED_RULE[0], FIXED_RULE[1], bars, start=start)
    cands = _candidates(r, oos)
    cols = [c["candidate"] for c in cands if c["candidate"] in oos]
    corr = oos[cols].fillna(0.0).corr().fillna(0.0).to_numpy() if len(cols) > 1 else np.ones((1, 1))
    of = r.get("overfitting") or {}
    return {
        "dataset": asdict(ds),
        "fixed_oos_sharpe": finite(fixed.get("sharpe_ratio")),
        "n_obs": int(span["n_bars"]),
        "periods_per_year": float(r["data"]["periods_per_year"]),
        "trials": {
            "n": int(of.get("n_trials_total") or 0),
            "variance": finite(of.get("trials_sharpe_variance")),
            "effective": finite(of.get("effective_n_trials")),
        },
        "candidates": cands,
        "correlation_of": cols,
        "correlation": [[round(float(x), 6) for x in row] for row in corr],
        "product_champion": (r.get("verdict") or {}).get("champion", {})
        and r["verdict"]["champion"]["candidate"],
        "seconds": round(time.perf_counter() - t0, 2),
    }


def _init_worker() -> None:
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def _task(args: tuple) -> dict[str, Any]:
    exp, like, ds, workdir = args
    try:
        return run_dataset(exp, like, ds, workdir)
    except Exception as exc:  # noqa: BLE001 - one failed data set is recorded, not fatal
        return {"dataset": asdict(ds), "error": f"{type(exc).__name__}: {exc}"}


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """The records of a ``records.jsonl`` file (empty when it does not exist)."""
    path = Path(path)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_datasets(
    exp: Any,
    like: pd.DataFrame,
    datasets: Sequence[DataSet],
    records_path: str | Path,
    *,
    workers: int = 1,
    say: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Run every data set not yet in ``records_path`` (one JSON line each, appended as they
    finish, so an interrupted calibration resumes), over ``workers`` processes; returns all
    records of the file."""
    records_path = Path(records_path)
    records_path.parent.mkdir(parents=True, exist_ok=True)
    done = {r["dataset"]["id"] for r in read_records(records_path) if "error" not in r}
    todo = [d for d in datasets if d.id not in done]
    exp = calibration_spec(exp)
    with tempfile.TemporaryDirectory(prefix="calibrate-") as work:
        jobs = [(exp, like, d, work) for d in todo]
        if workers <= 1:
            _init_worker()
            results = (_task(j) for j in jobs)
            _collect(results, records_path, len(jobs), say)
        else:
            import multiprocessing as mp

            ctx = mp.get_context("spawn")
            with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker) as pool:
                futures = [pool.submit(_task, j) for j in jobs]
                _collect((f.result() for f in as_completed(futures)), records_path, len(jobs), say)
    return read_records(records_path)


def _collect(results: Any, path: Path, total: int, say: Callable[[str], None] | None) -> None:
    for i, rec in enumerate(results, 1):
        with path.open("a") as fh:
            fh.write(json.dumps(rec) + "\n")
        if say is not None:
            ds = rec["dataset"]
            what = rec.get("error") or (
                f"fixed-rule OOS Sharpe {rec['fixed_oos_sharpe']:.2f}, best candidate "
                f"{rec['candidates'][0]['sharpe']:.2f}, {rec['seconds']:.0f} s"
            )
            say(f"[{i}/{total}] {ds['id']}: {what}")
