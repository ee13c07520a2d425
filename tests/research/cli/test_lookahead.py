"""``research check-lookahead``: exit codes, the reported bar, parameter parsing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from research.cli import main
from tests.conftest import make_bars

STRATEGIES = textwrap.dedent(
    """
    import pandas as pd

    from strategies import Int, Strategy


    class Clean(Strategy):
        fast = Int(2, 50, default=5)
        slow = Int(5, 200, default=20)
        constraints = ("fast < slow",)

        @property
        def warmup(self):
            return self.slow - 1

        def positions(self, bars, features=None):
            close = bars["close"]
            pos = (close.rolling(self.fast).mean() > close.rolling(self.slow).mean()).astype(float)
            pos.iloc[: self.warmup] = 0.0
            return pos


    class Learner(Strategy):
        # long above the median close of its training slice

        needs_fit = True

        def fit(self, bars, features=None):
            self.level_ = float(bars["close"].median())
            return self

        def positions(self, bars, features=None):
            return (bars["close"] > self.level_).astype(float)


    class Leaky(Strategy):
        horizon = Int(1, 10, default=1)

        def positions(self, bars, features=None):
            close = bars["close"]
            return (close.shift(-self.horizon) > close).astype(float)
    """
)


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str, pd.DataFrame]:
    """(strategy file, bars CSV, the bars as loaded)."""
    strat = tmp_path / "my_strategies.py"
    strat.write_text(STRATEGIES)
    bars = make_bars(300, freq="B", seed=3)
    csv = tmp_path / "bars.csv"
    bars.to_csv(csv, index_label="time")
    return str(strat), str(csv), bars


def _check(capsys, strategy: str, csv: str, *options: str) -> tuple[int, str]:
    """``research check-lookahead`` of ``strategy`` on ``csv``: exit status and stdout."""
    code = main(["check-lookahead", "--strategy", strategy, "--data", csv, *options])
    return code, capsys.readouterr().out


def test_clean_strategy_exits_0(files, capsys) -> None:
    strat, csv, _ = files
    options = ("--param", "fast=3", "--param", "slow=12", "--cuts", "8")
    code, out = _check(capsys, f"{strat}:Clean", csv, *options)
    assert code == 0
    assert "Clean(fast=3, slow=12)" in out
    assert "no lookahead: positions on 8 truncated copies" in out


def test_leaky_strategy_exits_1_with_first_bad_bar(files, capsys) -> None:
    strat, csv, bars = files
    code, out = _check(capsys, f"{strat}:Leaky", csv, "--cuts", "10")
    assert code == 1
    # default min_bars = max(warmup + 1, n // 10) = 30; the first cut whose last bar was long
    full = (bars["close"].shift(-1) > bars["close"]).to_numpy()
    cuts = np.unique(np.r_[np.linspace(30, 299, 10).round().astype(int), 299])
    first = next(c for c in cuts if full[c - 1])
    bad = str(bars.index[first - 1])
    assert f"lookahead at bar {bad} (position {first - 1})" in out
    assert f"when the data ends at {bad} ({first} bars kept)" in out


def test_unknown_param_is_a_usage_error(files, capsys) -> None:
    strat, csv, _ = files
    code = main(
        ["check-lookahead", "--strategy", f"{strat}:Clean", "--data", csv, "--param", "fats=3"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == (
        "research check-lookahead: error: unknown parameter 'fats' for Clean (did you mean 'fast'?)"
    )


def test_subprocess_exit_code_for_a_leak(files) -> None:
    strat, csv, _ = files
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "research",
            "check-lookahead",
            "--strategy",
            f"{strat}:Leaky",
            "--param",
            "horizon=3",
            "--data",
            csv,
            "--cuts",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Leaky(horizon=3)" in proc.stdout and "lookahead at bar" in proc.stdout


def test_learning_strategy_is_fitted_first(files, capsys) -> None:
    strat, csv, _ = files
    code, out = _check(capsys, f"{strat}:Learner", csv, "--fit-fraction", "0.4", "--cuts", "5")
    assert code == 0
    assert "(300 bars, fitted on the first 120 bars): no lookahead" in out
    assert "(from 120 to 299 of 300 bars)" in out


def test_symbol_selection_from_a_folder(files, tmp_path: Path, capsys) -> None:
    strat, _, _ = files
    folder = tmp_path / "universe"
    folder.mkdir()
    for i, sym in enumerate(("AAA", "BBB")):
        make_bars(120, freq="B", seed=i).to_csv(folder / f"{sym}.csv", index_label="time")
    args = ["check-lookahead", "--strategy", f"{strat}:Clean", "--data", str(folder), "--cuts", "3"]
    assert main(args) == 2
    assert "Clean trades one symbol but" in capsys.readouterr().err
    assert main([*args, "--symbol", "BBB"]) == 0
    assert "no lookahead" in capsys.readouterr().out
