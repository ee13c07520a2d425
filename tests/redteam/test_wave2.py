"""Red-team cases the second wave must make pass (issue 11, items 2, 4, 8, 9, 10, 11).

They are written now, marked ``xfail(strict=True, reason="wave 2")``: each fails today for the
defect it names; when the fix lands, the test passes and strict xfail turns that into a failure,
which is the signal to remove the mark.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from research.cli import EXIT_OK, EXIT_USAGE
from tests.redteam._cli import ROOT, one_line, research, snapshot

wave2 = pytest.mark.xfail(strict=True, reason="wave 2")

SMALL = """\
name: small
seed: 3
data: {{source: {source}, start: {start}}}
strategies: [{strategy}]
optimizers: [random]
budget: {{n_trials: 4}}
walk_forward: {{train: 3Y, test: 1Y}}
gates: {{min_dsr: null, max_pbo: null, min_stability: null}}
{extra}"""

PEEKING = """\
from strategies import Int, Strategy


class Peek(Strategy):
    n = Int(2, 30, default=10)

    def positions(self, bars, features=None):
        nxt = bars["close"].shift(-1)  # tomorrow's close: lookahead
        return (nxt > bars["close"]).astype(float).fillna(0.0)
"""

RULE = """\
from strategies import Int, Strategy


class Rule(Strategy):
    n = Int(2, 30, default=10)

    def positions(self, bars, features=None):
        close = bars["close"]
        pos = (close {op} close.shift(self.n)).astype(float)
        pos.iloc[: self.n] = 0.0
        return pos
"""


def _small(tmp_path: Path, strategy: str = "sma_cross", source: str = "sample:sp500",
           extra: str = "", name: str = "small.yaml", start: str = "2014-01-01") -> Path:  # fmt: skip
    path = tmp_path / name
    text = SMALL.format(strategy=strategy, source=source, extra=extra, start=start)
    path.write_text(text, encoding="utf-8")
    return path


def _folders(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("*/*") if p.is_dir()) if root.exists() else []


# --- item 2: lookahead in run and nightly -------------------------------------------------------
def test_run_stops_a_strategy_that_reads_the_future(tmp_path):
    (tmp_path / "peek.py").write_text(PEEKING, encoding="utf-8")
    spec = _small(tmp_path, strategy="peek.py:Peek")
    res = research("run", str(spec), "--runs-root", "runs", cwd=tmp_path, timeout=300)
    line = one_line(res, EXIT_USAGE, "lookahead", "Peek")
    assert "check-lookahead" in line  # how to see more
    assert not any((f / "champion.json").exists() for f in _folders(tmp_path / "runs"))


def test_lookahead_off_in_the_spec_lets_the_run_go_and_the_verdict_says_so(tmp_path):
    (tmp_path / "peek.py").write_text(PEEKING, encoding="utf-8")
    spec = _small(tmp_path, strategy="peek.py:Peek", extra="lookahead: warn\n")
    res = research("run", str(spec), "--out", "run", cwd=tmp_path, timeout=300)
    assert res.status == EXIT_OK, res.err[-2000:]
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert "lookahead" in json.dumps(results)


# --- item 4: stale studies ----------------------------------------------------------------------
def test_walk_forward_refuses_a_study_made_by_other_strategy_code(tmp_path):
    from backtest.splitters import WalkForward
    from data_loaders.errors import ConfigError
    from research.optimize import walk_forward_optimize
    from tests.research.optimize._strategies import sample_bars

    path = tmp_path / "rule.py"
    path.write_text(RULE.format(op=">"), encoding="utf-8")
    kw = dict(splitter=WalkForward(train=300, test=200), optimizer="random", n_trials=4,
              run_dir=tmp_path / "run", progress=False, study_name="same")  # fmt: skip
    walk_forward_optimize(f"{path}:Rule", sample_bars(500), **kw)
    path.write_text(RULE.format(op="<"), encoding="utf-8")  # the rule is edited
    os.utime(path, ns=(time.time_ns(), time.time_ns()))
    with pytest.raises(ConfigError, match="changed"):
        walk_forward_optimize(f"{path}:Rule", sample_bars(500), **kw)


def test_a_shared_storage_refuses_a_study_of_an_edited_strategy(tmp_path):
    path = tmp_path / "rule.py"
    path.write_text(RULE.format(op=">"), encoding="utf-8")
    spec = _small(tmp_path, strategy="rule.py:Rule")
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    first = research("run", str(spec), "--out", "a", "--storage", storage, cwd=tmp_path,
                     timeout=300)  # fmt: skip
    assert first.status == EXIT_OK, first.err[-2000:]
    run_json = json.loads((tmp_path / "a" / "run.json").read_text())
    assert "rule.py" in json.dumps(run_json)  # the hash of each user strategy file is recorded
    path.write_text(RULE.format(op="<"), encoding="utf-8")
    res = research("run", str(spec), "--out", "b", "--storage", storage, cwd=tmp_path,
                   timeout=300)  # fmt: skip
    one_line(res, EXIT_USAGE, "changed", "rule.py")


# --- item 8: a killed nightly resumes -----------------------------------------------------------
def test_a_killed_nightly_resumes_its_unfinished_folder(tmp_path):
    spec = _small(tmp_path, start="2012-01-01")  # the night holds out its last year
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "research", "nightly", str(spec), "--runs-root", "runs"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not list((tmp_path / "runs").glob("small/*-nightly/study.db")):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    res = research("nightly", str(spec), "--runs-root", "runs", cwd=tmp_path, timeout=300)
    assert res.status == EXIT_OK, res.err[-2000:]
    folders = [f for f in (tmp_path / "runs" / "small").iterdir() if f.is_dir()]
    assert len(folders) == 1 and not (folders[0] / ".in_progress").exists()
    report = research("report", str(folders[0]), cwd=tmp_path)
    assert "rerun its command" not in report.out + report.err


# --- item 9: unwritable outputs, before any work ------------------------------------------------
@pytest.mark.parametrize("flag", ["--out", "--runs-root"])
def test_an_output_under_a_file_is_refused_before_loading_data(tmp_path, flag):
    (tmp_path / "afile").write_text("not a folder")
    spec = _small(tmp_path, source="missing.csv")  # would fail later, on the data
    res = research("run", str(spec), flag, "afile/sub", cwd=tmp_path)
    one_line(res, EXIT_USAGE, flag, "afile")


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> Path:
    """A finished run folder of the small spec (about 10 s)."""
    tmp = tmp_path_factory.mktemp("small_run")
    res = research("run", str(_small(tmp)), "--out", "run", "--no-progress", cwd=tmp, timeout=300)
    assert res.status == EXIT_OK, res.err[-2000:]
    return tmp / "run"


def test_report_out_pointing_at_a_folder_is_refused(small_run, tmp_path):
    (tmp_path / "outdir").mkdir()
    before = snapshot(small_run)
    res = research("report", str(small_run), "--out", "outdir", cwd=tmp_path)
    one_line(res, EXIT_USAGE, "--out", "outdir", "folder")
    assert snapshot(small_run) == before


# --- item 10: damaged run folders ---------------------------------------------------------------
def _fake_run(root: Path, name: str, files: dict[str, str]) -> Path:
    path = root / "small" / name
    path.mkdir(parents=True)
    for fname, text in files.items():
        (path / fname).write_text(text, encoding="utf-8")
    return path


def test_runs_lists_a_damaged_folder_as_damaged_and_goes_on(tmp_path):
    root = tmp_path / "runs"
    _fake_run(root, "20260101-000000", {"run.json": "[1, 2]", "results.json": "{}"})
    _fake_run(root, "20260102-000000", {"run.json": "{not json", "config.yaml": "name: [\n"})
    before = snapshot(root)
    res = research("runs", "--runs-root", "runs", cwd=tmp_path)
    assert res.status == EXIT_OK, res.err[-2000:]
    assert res.out.count("damaged") == 2 and "Traceback" not in res.err
    assert snapshot(root) == before


@pytest.mark.parametrize(
    ("files", "fragment"),
    [
        ({"results.json": "[1, 2]", "run.json": "{}"}, "results.json"),
        ({"results.json": '"just text"', "run.json": "{}"}, "results.json"),
    ],
)
def test_report_on_a_damaged_folder_names_the_file(tmp_path, files, fragment):
    run = _fake_run(tmp_path / "runs", "20260101-000000", files)
    before = snapshot(run)
    one_line(research("report", str(run), cwd=tmp_path), EXIT_USAGE, fragment)
    assert snapshot(run) == before


# --- item 11: preflight -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("extra", "args", "fragment"),
    [
        ("", ["--storage", "nosuchdb://host/x"], "storage"),
        ("explore: {spec: {no_such_key: 1}}\n", [], "explore.spec"),
    ],
)
def test_spec_errors_are_found_before_the_run_folder_exists(tmp_path, extra, args, fragment):
    spec = _small(tmp_path, extra=extra)
    res = research("run", str(spec), "--runs-root", "runs", *args, cwd=tmp_path, timeout=300)
    one_line(res, EXIT_USAGE, fragment)
    assert _folders(tmp_path / "runs") == []


def test_fixed_values_breaking_a_constraint_are_refused_before_the_search(tmp_path):
    spec = _small(tmp_path)
    text = spec.read_text().replace(
        "strategies: [sma_cross]",
        "strategies:\n  - name: sma_cross\n    space: {fast: 60, slow: 30}",
    )
    spec.write_text(text, encoding="utf-8")
    res = research("run", str(spec), "--runs-root", "runs", cwd=tmp_path, timeout=300)
    one_line(res, EXIT_USAGE, "fast", "slow", "no feasible")
    assert _folders(tmp_path / "runs") == []
