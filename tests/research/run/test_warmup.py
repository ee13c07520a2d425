"""research.warmup: compiles by running the experiment in a temporary folder, writes nothing."""

from __future__ import annotations

from pathlib import Path

from research.warmup import main

ROOT = Path(__file__).resolve().parents[3]


def test_a_missing_experiment_is_one_line_and_exit_2(capsys, tmp_path):
    assert main([str(tmp_path / "nope.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope.yaml" in err[0] and err[0].startswith("research.warmup: error")


def test_warmup_runs_the_quickstart_and_leaves_no_run_folder(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a stray runs/ folder would appear here
    assert main([str(ROOT / "experiments" / "quickstart.yaml")]) == 0
    assert "kernels compiled and cached in" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


def test_the_old_module_path_still_runs_as_a_script(tmp_path):
    import os
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "research.warmup", str(tmp_path / "nope.yaml")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("research.warmup: error") and "nope.yaml" in proc.stderr
