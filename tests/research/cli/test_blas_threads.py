"""The console script runs BLAS on one thread unless the environment says otherwise
(:func:`research.cli.one_blas_thread`)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import research.cli as cli


def test_one_thread_is_the_default_and_a_users_setting_is_kept(monkeypatch) -> None:
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")
    cli.one_blas_thread()
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
    assert os.environ["MKL_NUM_THREADS"] == "3"


def test_the_console_script_sets_it_before_running_the_command(monkeypatch) -> None:
    seen: list[str | None] = []

    def command(argv):
        seen.append(os.environ.get("OPENBLAS_NUM_THREADS"))
        return 0

    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setattr(cli, "_command", command)
    monkeypatch.setattr(cli, "_end_process", lambda status: None)
    assert cli.main(["data"]) == 0  # called with arguments (tests, notebooks): nothing set
    assert cli.main() == 0  # the console script
    assert seen == [None, "1"]


@pytest.mark.parametrize(("given", "want"), [(None, 1), ("2", 2)])
def test_numpys_bundled_blas_reads_the_variable(given, want) -> None:
    """The variable is the one the installed numpy's OpenBLAS reads (threadpoolctl's view)."""
    pytest.importorskip("threadpoolctl")
    env = {k: v for k, v in os.environ.items() if k not in cli.BLAS_THREAD_VARIABLES}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    code = """
        import research.cli
        research.cli.one_blas_thread()
        import numpy
        from threadpoolctl import threadpool_info
        print(sorted({p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}))
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"[{want}]"
