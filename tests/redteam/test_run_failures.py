"""Run-level strategy failures (issue 11, item 3): when every trial of a search fails, the run
stops with the most common reasons and their counts (exit 2); partial failures are counted in
``results.json`` and the report with the first message of each distinct error."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from research.cli import EXIT_OK, EXIT_USAGE
from tests.redteam._cli import one_line, research

PICKY = """\
from strategies import Int, Strategy


class Picky(Strategy):
    n = Int(1, 20, default=5)

    def positions(self, bars, features=None):
        if self.n > {limit}:
            raise ValueError("n too large")
        close = bars["close"]
        return (close > close.shift(self.n)).astype(float).fillna(0.0)
"""

SPEC = """\
name: fails
seed: 3
data: {{source: sample:sp500, start: 2014-01-01}}
strategies: [picky.py:Picky]
optimizers: [random]
budget: {{n_trials: 6}}
walk_forward: {{train: 3Y, test: 1Y}}
gates: {{min_dsr: null, max_pbo: null, min_stability: null}}
{extra}"""


def _spec(tmp_path: Path, limit: int, extra: str = "") -> Path:
    (tmp_path / "picky.py").write_text(PICKY.format(limit=limit), encoding="utf-8")
    spec = tmp_path / "fails.yaml"
    spec.write_text(SPEC.format(extra=extra), encoding="utf-8")
    return spec


def test_a_search_whose_every_trial_fails_stops_with_the_reasons_and_counts(tmp_path):
    # the check before the search uses the defaults; turned off so the search itself meets it
    spec = _spec(tmp_path, limit=0, extra="lookahead: off\n")
    res = research("run", str(spec), "--out", "run", "--no-progress", cwd=tmp_path, timeout=300)
    line = one_line(res, EXIT_USAGE, "Picky with random", "every one of the 12 trials failed")
    assert "12 x Picky.positions raised ValueError: n too large" in line
    assert "picky.py:9" in line  # the user's file and line
    assert not (tmp_path / "run" / "results.json").exists()


def test_partial_failures_are_counted_with_their_first_message(tmp_path):
    spec = _spec(tmp_path, limit=10)
    res = research("run", str(spec), "--out", "run", "--no-progress", cwd=tmp_path, timeout=300)
    assert res.status == EXIT_OK, res.err[-2000:]
    trials = pd.read_parquet(tmp_path / "run" / "series" / "trials.parquet")
    n = trials["params"].map(lambda p: (json.loads(p) if isinstance(p, str) else p)["n"])
    expected = int((n > 10).sum())  # counted apart from the run's own code
    assert 0 < expected < len(trials)
    (search,) = json.loads((tmp_path / "run" / "results.json").read_text())["searches"]
    assert search["counts"]["failed"] == expected
    (failure,) = search["failures"]
    assert failure["count"] == expected
    assert failure["reason"].startswith("Picky.positions raised ValueError: n too large")
    report = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert "Why trials failed" in report and "n too large" in report
