"""A strategy that never returns, a night that runs too long, overlapping nights (issue 11,
item 7 and the lock status of item 1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pandas as pd

from research.cli import EXIT_LOCKED, EXIT_TIMEOUT, EXIT_USAGE
from tests.redteam._cli import QUICKSTART, ROOT, one_line, research, snapshot

HANGING = """\
import time
from strategies import Int, Strategy


class Hang(Strategy):
    n = Int(2, 30, default=10)

    def positions(self, bars, features=None):
        if self.n > 20:
            time.sleep(600)  # never returns within any sane run
        close = bars["close"]
        pos = (close > close.shift(self.n)).astype(float)
        pos.iloc[: self.n] = 0.0
        return pos
"""

SPEC = """\
name: hang
seed: 3
data: {source: sample:sp500, start: 2014-01-01}
strategies: [hang.py:Hang]
optimizers: [random]
budget: {n_trials: 8, trial_timeout: 1}
walk_forward: {train: 3Y, test: 1Y}
"""


def test_a_hanging_trial_is_stopped_recorded_and_the_run_goes_on(tmp_path):
    (tmp_path / "hang.py").write_text(HANGING, encoding="utf-8")
    (tmp_path / "hang.yaml").write_text(SPEC, encoding="utf-8")
    res = research("run", "hang.yaml", "--out", "run", "--no-progress", cwd=tmp_path, timeout=300)
    assert res.status == 0, res.err[-3000:]
    assert "Traceback" not in res.err
    trials = pd.read_parquet(tmp_path / "run" / "series" / "trials.parquet")
    n = trials["params"].map(lambda p: (json.loads(p) if isinstance(p, str) else p)["n"])
    hung = n > 20
    assert hung.any() and (~hung).any()
    assert (trials.loc[hung, "state"] == "FAIL").all()
    assert trials.loc[hung, "reason"].str.startswith("timeout: ").all()
    assert trials.loc[~hung, "state"].eq("COMPLETE").all()


def test_a_bad_trial_timeout_names_the_key(tmp_path):
    (tmp_path / "s.yaml").write_text(SPEC.replace("trial_timeout: 1", "trial_timeout: -3"))
    res = research("run", "s.yaml", cwd=tmp_path)
    one_line(res, EXIT_USAGE, "budget.trial_timeout", "-3")


def test_a_night_past_its_timeout_exits_124_and_promotes_nothing(tmp_path):
    res = research("nightly", str(QUICKSTART), "--runs-root", "runs", "--timeout", "2",
                   cwd=tmp_path, timeout=120)  # fmt: skip
    one_line(res, EXIT_TIMEOUT, "research nightly: error: stopped after 2 s", "champion")
    assert not (tmp_path / "runs" / "quickstart" / "champion.json").exists()


def test_nightly_timeout_in_the_spec_is_read(tmp_path):
    spec = tmp_path / "q.yaml"
    spec.write_text(QUICKSTART.read_text() + "nightly: {timeout: 1.5}\n", encoding="utf-8")
    res = research("nightly", str(spec), "--runs-root", "runs", cwd=tmp_path, timeout=120)
    one_line(res, EXIT_TIMEOUT, "stopped after 1.5 s")


def test_an_overlapping_night_exits_75_and_changes_nothing(tmp_path):
    root = tmp_path / "runs"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import time\nfrom research.nightly import nightly_lock\n"
         f"with nightly_lock({str(root)!r}, 'quickstart'):\n"
         "    print('locked', flush=True)\n    time.sleep(120)\n"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = snapshot(root)
        res = research("nightly", str(QUICKSTART), "--runs-root", "runs", cwd=tmp_path)
        one_line(res, EXIT_LOCKED, "another nightly run of 'quickstart' is in progress")
        assert snapshot(root) == before
    finally:
        holder.kill()
        holder.wait()


def test_a_limit_reached_inside_a_c_callback_still_stops_the_night():
    """numba compiles kernels through callbacks from C into Python (ctypes); an exception
    raised there is printed and dropped by ctypes. The alarm repeats until one reaches the
    run (here the first fires inside such a callback, as in a night whose limit falls while a
    kernel compiles)."""
    import ctypes

    import pytest

    from research.cli._nightly import NightlyTimeout, time_limit

    def busy() -> None:  # Python code running inside a C callback, past the limit
        end = time.monotonic() + 0.4
        while time.monotonic() < end:
            pass

    callback = ctypes.CFUNCTYPE(None)(busy)
    started = time.monotonic()
    with pytest.raises(NightlyTimeout):
        with time_limit(0.1):
            callback()  # the first alarm is raised in here and swallowed by ctypes
            while time.monotonic() - started < 5:
                time.sleep(0.01)
    assert time.monotonic() - started < 2  # stopped by a repeat of the alarm, not the loop
