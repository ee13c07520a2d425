"""Exit statuses and one-line errors of every command (issue 11, item 1 and the CLI smalls)."""

from __future__ import annotations

import re

import pytest

from research.cli import EXIT_INTERNAL, EXIT_STATUSES, EXIT_USAGE, exit_status_table
from tests.redteam._cli import ROOT, one_line, python, research, snapshot

PATCHED = """
import sys
import research.cli._data as data
def boom(args):
    {body}
data._validate = boom
from research.cli import main
sys.exit(main({argv!r}))
"""


def _patched(tmp_path, body: str, argv: list[str]):
    return python(PATCHED.format(body=body, argv=argv), cwd=tmp_path)


def test_an_internal_error_is_one_line_status_70_with_the_traceback_in_a_log(tmp_path):
    res = _patched(tmp_path, "return {}['missing']", ["data", "validate", "x.csv"])
    line = one_line(res, EXIT_INTERNAL, "research data: internal error: KeyError: 'missing'")
    where = re.search(r" at (\S+):(\d+);", line)
    # the patched handler is not project code: the innermost project frame is the dispatcher's
    assert where and where.group(1) == "research/cli/__init__.py"
    log = re.search(r"traceback in (\S+) ", line).group(1)
    text = open(log, encoding="utf-8").read()
    assert log.startswith(str(tmp_path / ".cache" / "logs"))
    assert "Traceback (most recent call last)" in text and "KeyError: 'missing'" in text
    assert text.startswith("research data validate x.csv\n")


def test_the_crash_site_is_the_innermost_project_frame(tmp_path):
    body = "from research.crashlog import crash_site\n    return crash_site(None)"
    res = _patched(tmp_path, body, ["data", "validate", "x.csv"])
    line = one_line(res, EXIT_INTERNAL, "AttributeError")
    assert " at research/crashlog.py:" in line  # innermost frame inside the project


def test_debug_shows_the_traceback_and_writes_no_log(tmp_path):
    res = _patched(tmp_path, "return 1 / 0", ["--debug", "data", "validate", "x.csv"])
    assert res.status == EXIT_INTERNAL
    assert "Traceback (most recent call last)" in res.err
    last = res.err.strip().splitlines()[-1]
    assert last.startswith("research data: internal error: ZeroDivisionError: division by zero")
    assert "traceback in" not in last
    assert not (tmp_path / ".cache" / "logs").exists()


def test_a_crash_during_a_run_logs_into_the_run_folder(tmp_path):
    body = (
        "from research.crashlog import set_run_folder\n"
        f"    set_run_folder({str(tmp_path / 'run')!r})\n"
        "    raise RuntimeError('inside the run')"
    )
    (tmp_path / "run").mkdir()
    res = _patched(tmp_path, body, ["data", "validate", "x.csv"])
    line = one_line(res, EXIT_INTERNAL, "RuntimeError: inside the run")
    assert f"traceback in {tmp_path / 'run' / 'logs'}" in line
    assert len(list((tmp_path / "run" / "logs").glob("crash-*.log"))) == 1


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["run", "--bogus"], "research: error: unrecognized arguments: --bogus"),
        (["backtest", "--strategy", "sma_cross"], "research backtest: error: the following"),
        (["backtest", "--data", "x.csv", "--strategy", "s", "--fees", "lots"], "invalid float"),
        (["nosuchcommand"], "invalid choice: 'nosuchcommand'"),
        ([], "research: error: give a command: run, runs, compare"),
    ],
)
def test_usage_errors_are_one_line_without_the_usage_block(tmp_path, argv, fragment):
    one_line(research(*argv, cwd=tmp_path), EXIT_USAGE, fragment)


def test_missing_input_file_is_status_2(tmp_path):
    res = research("data", "validate", "nothere.csv", cwd=tmp_path)
    one_line(res, EXIT_USAGE, "nothere.csv")


def test_user_errors_before_a_run_leave_no_progress_lines_and_no_folder(tmp_path):
    (tmp_path / "runs").mkdir()
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "name: t\ndata: {source: sample:sp500}\nstrategies: [nofile.py:Foo]\n", encoding="utf-8"
    )
    res = research("run", str(spec), "--runs-root", "runs", cwd=tmp_path)
    one_line(res, EXIT_USAGE, "strategies[0].name", "nofile.py")
    assert snapshot(tmp_path / "runs") == {}


def test_help_shows_the_exit_status_table_and_the_readme_holds_it(tmp_path):
    res = research("--help", cwd=tmp_path)
    assert res.status == 0
    for code, text in EXIT_STATUSES:
        assert re.search(rf"^\s+{code}\s+{re.escape(text)}$", res.out, re.M), (code, text)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert exit_status_table(markdown=True) in readme
    statuses = [code for code, _ in EXIT_STATUSES]
    assert len(set(statuses)) == len(statuses)
    assert {0, 1, 2, 70, 75} <= set(statuses)


def test_the_systemd_unit_treats_only_the_lock_as_success():
    doc = (ROOT / "docs" / "nightly.md").read_text(encoding="utf-8")
    assert "SuccessExitStatus=75" in doc and "SuccessExitStatus=1\n" not in doc
    cron = next(line for line in doc.splitlines() if line.startswith("30 2 * * *"))
    assert "[ $rc -eq 0 ] || [ $rc -eq 75 ] || echo" in cron
