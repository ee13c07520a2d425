"""One bars-per-year rule: ``research backtest --json`` and a one-fold ``research run`` report the
same Sharpe ratio for the same bars and parameters.

The bars come every 2 calendar days, weekends included: a density the old rules disagreed on
(``research backtest`` inferred it from the median spacing and weekdays, ``research run``
measured bars per 365.25 days). Now both measure it with
:func:`data_loaders.bars.bars_per_year` (183 here). The strategy holds a constant fraction, so
its positions need no warm-up and the run's out-of-sample window is the backtest's whole data;
fills at the close make the first bar of both the same.
"""

from __future__ import annotations

import json
import textwrap

import pandas as pd
import pytest

from research.cli import main
from tests.conftest import make_bars
from tests.research import _runs

HOLD = textwrap.dedent(
    '''
    import pandas as pd

    from strategies.base import Strategy
    from strategies.params import Float


    class Hold(Strategy):
        """Hold ``level`` of the equity, always."""

        name = "hold"
        level = Float(0.1, 1.0, default=1.0)

        def positions(self, bars, features=None):
            return pd.Series(self.level, index=bars.index, name="position")
    '''
)


def test_backtest_and_a_one_fold_run_report_the_same_sharpe(tmp_path, capsys):
    bars = make_bars(300, seed=11, vol=0.02)
    bars.index = pd.date_range("2020-01-01", periods=300, freq="2D", tz="UTC", name="time")
    full, window = tmp_path / "full.csv", tmp_path / "window.csv"
    bars.reset_index().to_csv(full, index=False)
    bars.iloc[200:].reset_index().to_csv(window, index=False)
    strategy = tmp_path / "hold.py"
    strategy.write_text(HOLD)

    raw = _runs.spec(
        name="one_fold",
        data={"source": str(full)},
        strategies=[{"name": f"{strategy}:Hold", "space": {"level": 0.8}}],
        optimizers=["random"],
        budget={"n_trials": 2},
        walk_forward={"train": 200, "test": 100},
        guardrails={"min_trades": 0},
        costs={"fees": 0.001, "execution": "close"},
        report={"enabled": False},
    )
    spec = _runs.write_spec(raw, tmp_path)
    assert main(["run", str(spec), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    capsys.readouterr()
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    (fold,) = results["folds"]
    assert (fold["train_bars"], fold["test_bars"]) == (200, 100)
    (row,) = results["leaderboard"]
    assert row["params"] == {"level": 0.8}

    code = main(
        ["backtest", "--data", str(window), "--strategy", f"{strategy}:Hold",
         "--param", "level=0.8", "--fees", "0.001", "--execution", "close", "--json"]
    )  # fmt: skip
    assert code == 0
    payload = json.loads(capsys.readouterr().out)

    assert results["data"]["periods_per_year"] == payload["periods_per_year"] == 183.0
    sharpe = row["oos_metrics"]["sharpe_ratio"]
    assert sharpe == pytest.approx(payload["sharpe_ratio"], rel=1e-9)
    assert row["oos_metrics"]["total_return"] == pytest.approx(payload["total_return"], rel=1e-9)
