"""Tests of research/cli/_backtest.py: ``research backtest``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.costs import Costs
from backtest.engine import run_backtest
from data_loaders import load_bars
from data_loaders.bars import bars_per_year as infer_periods_per_year
from research.cli import main
from strategies.registry import get_strategy
from tests.conftest import make_bars

KEYS = ("total_return", "cagr", "sharpe_ratio", "sortino_ratio", "max_drawdown", "n_trades")


@pytest.fixture(scope="module")
def csv_path(tmp_path_factory) -> Path:
    bars = make_bars(400, seed=5, vol=0.015)
    path = tmp_path_factory.mktemp("data") / "bars.csv"
    bars.reset_index().to_csv(path, index=False)
    return path


def run_json(capsys, *argv: str) -> dict:
    code = main(["backtest", *argv, "--json"])
    out = capsys.readouterr().out
    assert code == 0
    return json.loads(out)


def test_json_metrics_agree_with_the_vectorbt_engine(capsys, csv_path):
    payload = run_json(
        capsys, "--data", str(csv_path), "--strategy", "sma_cross", "--param", "fast=5",
        "--param", "slow=20", "--fees", "0.002", "--slippage-bps", "5",
    )  # fmt: skip
    for key in KEYS:
        assert key in payload
    assert payload["params"] == {"fast": 5, "slow": 20}
    assert payload["periods_per_year"] == 252.0
    bars = load_bars(str(csv_path))
    positions = get_strategy("sma_cross")(fast=5, slow=20).positions(bars)
    ref = run_backtest(bars, positions, costs=Costs(fees=0.002, slippage_bps=5))
    expected = ref.metrics()
    assert payload["final_equity"] == pytest.approx(ref.final_equity, rel=1e-9)
    for key in KEYS:
        assert payload[key] == pytest.approx(expected[key], rel=1e-9), key
    assert isinstance(payload["n_trades"], int) and payload["n_trades"] == len(ref.trades)


def test_close_execution_and_direction_are_passed_through(capsys, csv_path):
    args = ("--data", str(csv_path), "--strategy", "sma_cross", "--fees", "0")
    default = run_json(capsys, *args)
    close = run_json(capsys, *args, "--execution", "close")
    short = run_json(capsys, *args, "--direction", "shortonly")
    assert close["execution"] == "close" and close["final_equity"] != default["final_equity"]
    # sma_cross is long/flat: short-only clips every target to 0 -> no trade
    assert short["n_trades"] == 0 and short["final_equity"] == 100_000.0


def test_text_table(capsys, csv_path):
    code = main(["backtest", "--data", str(csv_path), "--strategy", "sma_cross"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("sma_cross(fast=10, slow=30) on ")
    assert "  sharpe_ratio " in out and "  max_drawdown " in out


def test_user_strategy_file(capsys, csv_path, tmp_path):
    path = tmp_path / "always_long.py"
    path.write_text(
        textwrap.dedent(
            """
            import pandas as pd
            from strategies import Strategy, Float

            class AlwaysLong(Strategy):
                size = Float(0.1, 1.0, default=1.0)

                def positions(self, bars, features=None):
                    return pd.Series(self.size, index=bars.index)
            """
        )
    )
    payload = run_json(
        capsys, "--data", str(csv_path), "--strategy", f"{path}:AlwaysLong", "--param", "size=0.5",
        "--fees", "0",
    )  # fmt: skip
    bars = load_bars(str(csv_path))
    # target 0.5 from bar 0, filled at bar 1's open, never rebalanced
    units = 50_000.0 / bars["open"].iloc[1]
    final = 50_000.0 + units * bars["close"].iloc[-1]
    assert payload["final_equity"] == pytest.approx(final, rel=1e-12)
    assert payload["n_trades"] == 1 and payload["exposure"] == pytest.approx(399 / 400)


@pytest.mark.parametrize(
    "param,message",
    [
        ("fats=10", "unknown parameter 'fats' for sma_cross (did you mean 'fast'?)"),
        ("fast=ten", "`fast` must be an integer, got fast='ten'"),
        ("fast=2.5", "`fast` must be an integer, got fast='2.5'"),
        ("fast", "--param must be NAME=VALUE, got 'fast'"),
        ("fast=50", "`fast` must be < `slow`"),
    ],
)
def test_bad_param_exits_2_with_one_line(capsys, csv_path, param, message):
    code = main(["backtest", "--data", str(csv_path), "--strategy", "sma_cross", "--param", param])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_bad_options_exit_2(capsys, csv_path):
    base = ["backtest", "--data", str(csv_path), "--strategy", "sma_cross"]
    assert main([*base, "--execution", "open"]) == 2
    assert "`execution` must be one of" in capsys.readouterr().err
    assert main([*base, "--fees", "-1"]) == 2
    assert "`fees` must be finite, >= 0" in capsys.readouterr().err
    assert main(["backtest", "--data", str(csv_path), "--strategy", "sma_crossing"]) == 2
    assert "did you mean 'sma_cross'" in capsys.readouterr().err


def test_periods_per_year_inference():
    def idx(freq, n=50):
        return pd.date_range("2021-01-01", periods=n, freq=freq, tz="UTC")

    assert infer_periods_per_year(idx("B")) == 252.0
    assert infer_periods_per_year(idx("D")) == 365.0
    assert infer_periods_per_year(idx("W")) == 52.0
    assert infer_periods_per_year(idx("ME")) == 12.0
    hourly = idx("h", 24 * 365 + 1)
    assert infer_periods_per_year(hourly) == pytest.approx(24 * 365.25)  # bars per 365.25 days


def test_subprocess_json_on_a_bundled_sample():
    proc = subprocess.run(
        [sys.executable, "-m", "research", "backtest", "--data", "sample:sp500", "--strategy",
         "sma_cross", "--param", "fast=10", "--param", "slow=30", "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["strategy"] == "sma_cross" and payload["n_bars"] > 4000
    assert np.isfinite(payload["sharpe_ratio"]) and payload["max_drawdown"] < 0
    bad = subprocess.run(
        [sys.executable, "-m", "research", "backtest", "--data", "sample:sp500", "--strategy",
         "sma_cross", "--param", "slow=x"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and "`slow` must be an integer" in bad.stderr


def test_backtest_and_run_annualise_the_same_data_alike(capsys, tmp_path):
    """One bars-per-year rule: daily bars with a sparse stretch (median spacing says 252, the
    observed density does not) get the same factor from ``research backtest`` as from a run."""
    from research.spec import parse_experiment
    from research.spec.build import experiment_bars_per_year

    bars = make_bars(600, seed=9, vol=0.01)
    sparse = pd.concat([bars.iloc[:300], bars.iloc[300::3]])  # a third of the days after bar 300
    path = tmp_path / "sparse.csv"
    sparse.reset_index().to_csv(path, index=False)
    payload = run_json(capsys, "--data", str(path), "--strategy", "sma_cross")
    exp = parse_experiment({"name": "x", "data": str(path), "strategies": ["sma_cross"]})
    ppy = experiment_bars_per_year(exp, load_bars(str(path)))
    span_years = (sparse.index[-1] - sparse.index[0]) / pd.Timedelta(days=365.25)
    assert ppy == round((len(sparse) - 1) / span_years) != 252.0
    assert payload["periods_per_year"] == ppy
    positions = get_strategy("sma_cross")().positions(sparse)
    returns = run_backtest(sparse, positions, costs=Costs()).returns.to_numpy()
    mean, std = returns.mean(), returns.std(ddof=1)
    assert payload["sharpe_ratio"] == pytest.approx(mean / std * np.sqrt(ppy), rel=1e-9)
