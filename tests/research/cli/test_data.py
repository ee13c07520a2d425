"""``research data validate`` and ``research data samples`` (module ``research/cli/_data.py``)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from data_loaders import list_samples
from research.cli import main
from tests.data_loaders.conftest import GOOD_CSV, _private_cache_dir  # noqa: F401 - autouse

BAD_CSV = (
    "Date,Open,High,Low,Close,Volume\n2020-01-02,10,11,9,10.5,100\n2020-01-03,10.5,10.8,10,11,0\n"
)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["data", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_prints_the_summary_and_exits_0(capsys, write):
    path = write("good.csv", GOOD_CSV)
    code, out, err = run(capsys, "validate", str(path))
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == f"{path}: OK"
    assert "  rows:       3" in lines
    assert "  range:      2020-01-02 00:00:00+00:00 -> 2020-01-06 00:00:00+00:00" in lines
    assert "  frequency:  1D" in lines
    assert "  calendar:   Mon-Fri" in lines
    assert "  gaps:       0 gaps, 0 missing of 3 expected bars" in lines
    assert "  zero-volume bars: 1" in lines


def test_validate_reports_gaps_found(capsys, write):
    days = ["2020-01-06", "2020-01-07", "2020-01-09", "2020-01-10"]  # Wednesday missing
    text = "Date,Open,High,Low,Close,Volume\n" + "".join(f"{d},1,2,0.5,1.5,1\n" for d in days)
    code, out, _ = run(capsys, "validate", str(write("g.csv", text)))
    assert code == 0
    assert "  gaps:       1 gaps, 1 missing of 5 expected bars" in out
    assert "              2020-01-08 00:00:00+00:00 (1 missing)" in out


def test_a_bad_file_gives_one_stderr_line_and_exit_2(capsys, write):
    path = write("bad.csv", BAD_CSV)
    code, out, err = run(capsys, "validate", str(path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert err.startswith(
        f"research data: error: {path}: row 2 (2020-01-03 00:00:00+00:00), column 'High'"
    )
    assert "high >= max(open, close)" in err


def test_the_console_command_prints_no_traceback(write):
    path = write("bad.csv", BAD_CSV)
    proc = subprocess.run(
        [sys.executable, "-m", "research", "data", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "high 10.8 is below max(open 10.5, close 11)" in proc.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["validate", "missing.csv"], "research data: error: missing.csv: file not found"),
        (
            ["validate", "GOOD", "--repair", "dedup"],
            "unknown repair 'dedup' (did you mean 'dedupe'?)",
        ),
        (["validate", "GOOD", "--tz", "Mars/Base"], "unknown time zone 'Mars/Base'"),
        (["validate", "sample:nope"], "sample:nope: unknown sample"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, write, args, fragment):
    good = str(write("good.csv", GOOD_CSV))
    code, out, err = run(capsys, *[good if a == "GOOD" else a for a in args])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and fragment in err


def test_data_without_an_action_is_a_usage_error(capsys):
    code, out, err = run(capsys)
    assert code == 2 and "validate" in err and "samples" in err


def test_validate_options_raw_tz_repair_and_json(capsys, write):
    text = (
        "Datetime,Open,High,Low,Close,Adj Close,Volume\n"
        "2020-01-02 09:31,10,11,9,10,5,100\n"
        "2020-01-02 09:30,10,11,9,10,5,100\n"
    )
    path = write("x.csv", text)
    code, out, _ = run(
        capsys,
        "validate",
        str(path),
        "--raw",
        "--tz",
        "America/New_York",
        "--repair",
        "sort",
        "--json",
    )
    assert code == 0
    report = json.loads(out)
    assert report["rows"] == 2 and report["adjusted"] is False
    assert report["start"] == "2020-01-02T14:30:00+00:00" and report["frequency"] == "1min"
    assert report["repairs"] == ["sort: 2 rows were out of time order; rows sorted by time"]


def test_validate_a_folder_summarises_each_symbol(capsys, tmp_path):
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text(GOOD_CSV)
    code, out, _ = run(capsys, "validate", str(tmp_path))
    assert code == 0
    assert out.splitlines()[0] == f"{tmp_path}: OK, 2 symbols (A, B)"
    assert f"{tmp_path / 'a.csv'} [A]: OK" in out and f"{tmp_path / 'b.csv'} [B]: OK" in out


def test_samples_lists_every_bundled_set_with_source_and_license(capsys):
    code, out, _ = run(capsys, "samples")
    assert code == 0
    for info in list_samples():
        assert f"sample:{info.name}\n" in out
        assert f"  license: {info.license}\n" in out
        assert f"  source: {info.origin}; package {info.package}" in out
    code, out, _ = run(capsys, "samples", "--json")
    listed = json.loads(out)
    assert [d["name"] for d in listed] == [i.name for i in list_samples()]
    assert all({"license", "origin", "package", "available"} <= set(d) for d in listed)


def test_samples_command_starts_without_pandas():
    code = "import sys; from research.cli import main; main(['data', 'samples']); print('pandas' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "False"
