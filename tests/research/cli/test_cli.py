"""The `research` dispatcher: exit statuses shared by every sub-command."""

from __future__ import annotations

import subprocess
import sys


def test_a_reader_that_closes_the_pipe_gets_no_traceback():
    # `research data samples | head -0`: nobody reads; the first write meets a closed pipe
    proc = subprocess.Popen(
        [sys.executable, "-m", "research", "data", "samples"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # the only reader is gone before the command prints anything
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141  # 128 + SIGPIPE, like Unix tools
    assert err == ""


def test_unknown_sub_command_is_a_usage_error():
    proc = subprocess.run(
        [sys.executable, "-m", "research", "bactest"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "invalid choice: 'bactest'" in proc.stderr and "Traceback" not in proc.stderr


def test_the_console_command_ends_with_its_output_and_status(capsys):
    from research.cli import main

    assert main(["data", "samples"]) == 0
    want = capsys.readouterr().out
    # `python -m research` ends the process right after the command (no interpreter teardown)
    proc = subprocess.run(
        [sys.executable, "-m", "research", "data", "samples"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout == want and len(want) > 100
