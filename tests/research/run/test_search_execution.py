"""The search scores trials under the spec's whole execution, the same one judging uses.

A ``notional`` of 500 on 100 000 of cash makes a target of 1 mean 500 of stock: the in-sample
total return of a trial is then about 1/200 of the full-equity one. The search once received
only the fees, fill, direction and cash, so its trials were scored at full equity while the
judge and the trades used the notional.
"""

from __future__ import annotations

import pandas as pd
import pytest

from backtest import Costs, run_backtest
from research.cli import main
from strategies.builtin.sma_cross import SmaCross
from tests.conftest import make_bars
from tests.research import _runs


def test_trials_are_scored_with_the_specs_notional(tmp_path, capsys):
    bars = make_bars(300, seed=11, vol=0.02)
    data = tmp_path / "bars.csv"
    bars.reset_index().to_csv(data, index=False)
    raw = _runs.spec(
        name="notional",
        data={"source": str(data)},
        strategies=[{"name": "sma_cross", "space": {"fast": 5, "slow": 20}}],
        optimizers=["random"],
        budget={"n_trials": 1},
        walk_forward={"train": 200, "test": 100},
        guardrails={"min_trades": 0},
        costs={"fees": 0.0, "notional": 500.0},
        objectives=[{"metric": "total_return"}],
        report={"enabled": False},
    )
    spec = _runs.write_spec(raw, tmp_path)
    assert main(["run", str(spec), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    capsys.readouterr()
    trials = pd.read_parquet(tmp_path / "run" / "series" / "trials.parquet")

    train = bars.iloc[:200]
    positions = SmaCross(fast=5, slow=20).positions(train)
    want = run_backtest(train, positions, costs=Costs(fees=0.0), notional=500.0).metrics()
    full = run_backtest(train, positions, costs=Costs(fees=0.0)).metrics()
    assert abs(full["total_return"]) > 100 * abs(want["total_return"]) > 0
    assert trials["value"].tolist() == pytest.approx([want["total_return"]], rel=1e-9)
