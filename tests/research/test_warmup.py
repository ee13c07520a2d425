"""research.warmup: compiles by running the experiment in a temporary folder, writes nothing."""

from __future__ import annotations

from pathlib import Path

from research.warmup import main

ROOT = Path(__file__).resolve().parents[2]


def test_a_missing_experiment_is_one_line_and_exit_2(capsys, tmp_path):
    assert main([str(tmp_path / "nope.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope.yaml" in err[0] and err[0].startswith("research.warmup: error")


def test_warmup_runs_the_quickstart_and_leaves_no_run_folder(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a stray runs/ folder would appear here
    assert main([str(ROOT / "experiments" / "quickstart.yaml")]) == 0
    assert "kernels compiled and cached in" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []
