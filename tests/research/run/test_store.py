"""The run store: folders, resume rules, refusal to overwrite, listing and comparing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from data_loaders.errors import ConfigError
from research.runs import (
    MARKER,
    atomic_write_json,
    atomic_write_text,
    code_version,
    compare_runs,
    finish_run,
    format_comparison,
    list_runs,
    prepare_run_dir,
    release_run,
    resume_key,
    write_run_record,
)

SPEC = {"name": "demo", "seed": 1, "budget": {"n_trials": 5}, "data": {"source": "x"}}


V1_RUN = Path(__file__).resolve().parents[2] / "fixtures" / "run_v1"


def test_fresh_run_gets_a_timestamped_folder_with_a_locked_marker(tmp_path):
    run = prepare_run_dir("demo", SPEC, root=tmp_path)
    try:
        assert run.path.parent == tmp_path / "demo"
        assert len(run.run_id) == len("20240101-000000")
        assert (run.path / MARKER).is_file()
        marker = json.loads((run.path / MARKER).read_text())
        assert marker["pid"] == os.getpid() and marker["resume_key"] == resume_key(SPEC)
        # a second opener of the same folder is refused while the lock is held
        with pytest.raises(ConfigError, match=r"is in use by another research process \(pid"):
            prepare_run_dir("demo", SPEC, out=run.path)
    finally:
        release_run(run)


def test_unfinished_run_of_the_same_spec_is_resumed(tmp_path):
    first = prepare_run_dir("demo", SPEC, root=tmp_path)
    write_run_record(first, experiment="demo")
    release_run(first)  # as after a crash: marker left behind, lock gone
    # more trials is still the same run
    again = prepare_run_dir("demo", {**SPEC, "budget": {"n_trials": 50}}, root=tmp_path)
    assert again.resumed and again.path == first.path
    release_run(again)
    # a different seed is a different run
    other = prepare_run_dir("demo", {**SPEC, "seed": 2}, root=tmp_path)
    assert not other.resumed and other.path != first.path
    release_run(other)
    # --new forces a fresh folder
    fresh = prepare_run_dir("demo", SPEC, root=tmp_path, new=True)
    assert not fresh.resumed and fresh.path not in (first.path, other.path)
    release_run(fresh)


def test_out_dir_rules(tmp_path):
    out = tmp_path / "mine"
    run = prepare_run_dir("demo", SPEC, out=out)
    assert not run.resumed
    write_run_record(run, experiment="demo")
    release_run(run)
    resumed = prepare_run_dir("demo", SPEC, out=out)
    assert resumed.resumed
    finish_run(resumed)
    assert not (out / MARKER).exists()
    assert json.loads((out / "run.json").read_text())["status"] == "finished"
    with pytest.raises(ConfigError, match=r"already holds a finished run; refusing to overwrite"):
        prepare_run_dir("demo", SPEC, out=out)

    user = tmp_path / "user_stuff"
    user.mkdir()
    (user / "notes.txt").write_text("precious")
    with pytest.raises(ConfigError, match=r"is not empty and is not a run folder \(notes.txt\)"):
        prepare_run_dir("demo", SPEC, out=user)
    assert (user / "notes.txt").read_text() == "precious"

    unfinished = tmp_path / "unfinished"
    r = prepare_run_dir("demo", SPEC, out=unfinished)
    release_run(r)
    with pytest.raises(ConfigError, match=r"holds an unfinished run of a different spec"):
        prepare_run_dir("demo", {**SPEC, "seed": 9}, out=unfinished)

    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(ConfigError, match=r"is a file, not a folder"):
        prepare_run_dir("demo", SPEC, out=f)


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "a" / "champion.json"
    atomic_write_json(target, {"x": 1.5, "nan": float("nan")})
    assert json.loads(target.read_text()) == {"x": 1.5, "nan": None}
    atomic_write_text(target, "replaced")
    assert target.read_text() == "replaced"
    assert [p.name for p in target.parent.iterdir()] == ["champion.json"]


def test_atomic_write_survives_a_kill_mid_write(tmp_path):
    """A process killed while writing never leaves a half-written file behind."""
    target = tmp_path / "champion.json"
    atomic_write_json(target, {"version": 1})
    script = textwrap.dedent(
        f"""
        import os, signal
        import research.runs as runs
        real_replace = os.replace
        def dying_replace(src, dst):
            os.kill(os.getpid(), signal.SIGKILL)  # die after the temp file, before the swap
        os.replace = dying_replace
        runs.atomic_write_json({str(target)!r}, {{"version": 2, "pad": "x" * 100000}})
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], check=False)
    assert proc.returncode == -9
    assert json.loads(target.read_text()) == {"version": 1}


def test_code_version_names_the_package_and_git():
    v = code_version()
    assert v["package"] == "0.1.0"
    assert v["git"] is None or len(v["git"]) >= 7


def _fake_finished_run(root: Path, run_id: str, *, params, sharpe, passed, fees) -> Path:
    path = root / "demo" / run_id
    path.mkdir(parents=True)
    (path / "config.yaml").write_text(yaml.safe_dump({"name": "demo", "costs": {"fees": fees}}))
    (path / "run.json").write_text(
        json.dumps(
            {"run_id": run_id, "experiment": "demo", "status": "finished", "started": run_id}
        )
    )
    # a results.json of the current release (schema 1), its champion replaced
    results = json.loads((V1_RUN / "results.json").read_text())
    champion = dict(results["leaderboard"][0])
    champion.update(
        candidate="sma_cross/tpe",
        params=params,
        oos_metrics={"sharpe_ratio": sharpe, "n_trades": 12},
        gates={"min_dsr": {"passed": passed, "value": 0.9, "threshold": 0.95}},
    )
    results.update(experiment="demo", run_id=run_id)
    results["data"] = {**results["data"], "fingerprint": "abc"}
    results["verdict"] = {**results["verdict"], "passed": passed, "champion": champion}
    (path / "results.json").write_text(json.dumps(results))
    return path


def test_list_and_compare_runs(tmp_path, capsys):
    a, b = (
        _fake_finished_run(
            tmp_path, run_id, params={"fast": fast, "slow": 50}, sharpe=sharpe, passed=passed,
            fees=fees,
        )
        for run_id, fast, sharpe, passed, fees in [
            ("20240101-000000", 10, 0.8, False, 0.001),
            ("20240102-000000", 12, 1.1, True, 0.002),
        ]
    )  # fmt: skip
    runs = list_runs(tmp_path)
    assert [r.run_id for r in runs] == ["20240102-000000", "20240101-000000"]
    assert runs[0].value == 1.1 and runs[0].passed is True and runs[1].passed is False

    diff = compare_runs(a, b)
    assert diff["config"] == [("costs.fees", 0.001, 0.002)]
    assert diff["params"] == [("fast", 10, 12)]
    assert diff["metrics"][0][0] == "sharpe_ratio"
    assert diff["metrics"][0][3] == pytest.approx(0.3)
    assert diff["gates"] == [("min_dsr", False, True)]
    text = format_comparison(diff)
    assert "fast: 10 -> 12" in text and "costs.fees: 0.001 -> 0.002" in text
    assert "verdict:  failed  ->  passed" in text

    from research.cli import main

    assert main(["runs", "--runs-root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "20240102-000000" in out and "sharpe_ratio=1.100" in out
    assert main(["compare", str(a), str(b)]) == 0
    assert "fast: 10 -> 12" in capsys.readouterr().out
    assert main(["compare", str(a), str(tmp_path / "nope")]) == 2
    assert "run folder" in capsys.readouterr().err
