"""The run folder's data files besides results.json: ``leaderboard.csv`` and ``series/*.parquet``.

* ``leaderboard.csv``: the judged leaderboard table (:class:`research.judge.Leaderboard`).
* ``series/oos_returns.parquet``: stitched out-of-sample returns, one column per candidate.
* ``series/benchmark.parquet``: buy-and-hold returns over the same span (``buy_and_hold``).
* ``series/trials.parquet``: every trial of every search (:func:`trials_table`).
* ``series/champion_trades.parquet``: the focus candidate's trades (:func:`champion_trades`).
* ``series/champion_prices.parquet``: the closes the focus candidate traded over the stitched
  out-of-sample span, one column per symbol named as the trades' ``symbol`` column
  (:func:`champion_prices`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from backtest.engine import TRADE_COLUMNS
from backtest.execution import Execution
from research._json import finite, to_jsonable
from research.judge import Judgement, SearchOutcome, window_backtest

__all__ = [
    "write_artifacts",
    "trials_table",
    "champion_trades",
    "champion_prices",
    "TRIALS_COLUMNS",
]

#: the columns of ``series/trials.parquet``
TRIALS_COLUMNS = (
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
)


def write_artifacts(
    run_dir: Path,
    judgement: Judgement,
    searches: Sequence[SearchOutcome],
    trades: pd.DataFrame | None,
    prices: pd.DataFrame | None = None,
) -> None:
    """Write ``leaderboard.csv`` and ``series/*.parquet`` into ``run_dir``."""
    series = run_dir / "series"
    series.mkdir(exist_ok=True)
    judgement.oos_returns.to_parquet(series / "oos_returns.parquet")
    judgement.benchmark.to_frame("buy_and_hold").to_parquet(series / "benchmark.parquet")
    trials_table(searches).to_parquet(series / "trials.parquet")
    if trades is not None:
        trades.to_parquet(series / "champion_trades.parquet")
    if prices is not None:
        prices.to_parquet(series / "champion_prices.parquet")
    judgement.leaderboard.to_csv(run_dir / "leaderboard.csv")


def trials_table(searches: Sequence[SearchOutcome]) -> pd.DataFrame:
    """Every trial of every search: ``search, strategy, optimizer, fold, number, state``
    (Optuna's names: ``COMPLETE``, ``PRUNED``, ``FAIL``), ``feasible, value`` (first
    objective), ``values`` (JSON list of the objectives), ``params`` (JSON), ``direction``,
    ``is_sharpe_ratio``, ``reason``."""
    rows = []
    for s in searches:
        objectives = s.result.objectives
        for rec in s.result.trials.to_dict("records"):
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
                    "values": json.dumps([finite(v) for v in vals]),
                    "params": json.dumps(to_jsonable(rec["params"]), sort_keys=False),
                    "direction": objectives[0][1],
                    "is_sharpe_ratio": _nan(rec.get("is_sharpe_ratio")),
                    "reason": str(rec.get("reason") or ""),
                }
            )
    return pd.DataFrame(rows, columns=list(TRIALS_COLUMNS))


def champion_trades(s: SearchOutcome, execution: Execution) -> pd.DataFrame:
    """Trades of a walk-forward candidate: each fold's pick traded on its test window.

    Columns: ``fold`` and the engine's trade columns without its bar numbers (positions in the
    test window only). A fold whose backtest fails is left out (the metrics come from the search).
    """
    parts = []
    for f in s.result.folds:
        if not f.best_params:
            continue
        try:
            bt, _lo = window_backtest(
                execution,
                s.strategy_cls,
                f.best_params,
                (f.test_range.start, f.test_range.stop),
                bars=s.bars,
                fit=(f.train_range.start, f.train_range.stop),
                features=s.features,
            )
        except Exception:  # noqa: BLE001 - trades are a view; the metrics come from the search
            continue
        t = bt.trades.copy()
        if t.empty:
            continue
        t.insert(0, "fold", int(f.fold))
        parts.append(t)
    columns = ["fold"] + [c for c in TRADE_COLUMNS if c not in ("entry_bar", "exit_bar")]
    if not parts:
        return pd.DataFrame(columns=columns)
    out = pd.concat(parts, ignore_index=True)
    return out[[c for c in columns if c in out.columns]]


def champion_prices(s: SearchOutcome, index: pd.Index) -> pd.DataFrame:
    """Closes of the bars ``s`` trades at the timestamps of ``index`` (the stitched
    out-of-sample span): one column per symbol of a dict of bars, else one column named like
    the engine's trades (the frame's ``attrs["symbol"]``, or ``"close"``)."""
    bars = s.bars
    if isinstance(bars, dict):
        close = pd.DataFrame({str(k): v["close"] for k, v in bars.items()})
    else:
        close = bars[["close"]].rename(columns={"close": bars.attrs.get("symbol") or "close"})
    return close[close.index.isin(index)].astype("float64")


def _nan(v: object) -> float:
    f = finite(v)
    return float("nan") if f is None else f
