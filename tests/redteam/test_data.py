"""Bad data and data settings: one line naming what and where (issue 11, item 15)."""

from __future__ import annotations

from research.cli import EXIT_USAGE
from tests.redteam._cli import one_line, research, snapshot, spec_with


def test_a_two_byte_parquet_is_one_line(tmp_path):
    (tmp_path / "tiny.parquet").write_bytes(b"PA")
    res = research("data", "validate", "tiny.parquet", cwd=tmp_path)
    one_line(
        res, EXIT_USAGE, "tiny.parquet: unreadable: not a Parquet file (no PAR1 marker", "2 bytes)"
    )


def test_an_empty_and_a_truncated_parquet_are_one_line(tmp_path):
    import data_loaders

    data_loaders.load_bars("sample:sp500").iloc[:50].to_parquet(tmp_path / "ok.parquet")
    data = (tmp_path / "ok.parquet").read_bytes()
    (tmp_path / "cut.parquet").write_bytes(data[: len(data) // 2])
    (tmp_path / "empty.parquet").write_bytes(b"")
    one_line(research("data", "validate", "cut.parquet", cwd=tmp_path), EXIT_USAGE, "cut.parquet")
    res = research("data", "validate", "empty.parquet", cwd=tmp_path)
    one_line(res, EXIT_USAGE, "empty.parquet")


def test_a_readme_in_a_data_folder_is_ignored(tmp_path):
    import data_loaders

    folder = tmp_path / "bars"
    folder.mkdir()
    bars = data_loaders.load_bars("sample:sp500").iloc[:300]
    bars.to_csv(folder / "aaa.csv")
    bars.to_parquet(folder / "bbb.parquet")
    (folder / "README.txt").write_text("Daily bars from the vendor.\nDo not edit.\n")
    (folder / "notes.md").write_text("# notes\n")
    before = snapshot(folder)
    res = research("data", "validate", "bars", cwd=tmp_path)
    assert res.status == 0, res.err
    assert "bars: OK, 2 symbols (AAA, BBB)" in res.out
    assert snapshot(folder) == before


def test_an_invalid_tz_for_sample_data_names_data_tz(tmp_path):
    spec = spec_with(
        tmp_path, "tz.yaml", "  start: 2008-01-01", "  start: 2008-01-01\n  tz: Mars/Base"
    )
    res = research("run", str(spec), "--runs-root", "runs", cwd=tmp_path)
    one_line(res, EXIT_USAGE, f"{spec}: `data.tz`: unknown time zone 'Mars/Base'")
    assert not (tmp_path / "runs").exists()


def test_an_invalid_tz_on_the_command_line_is_refused_for_samples(tmp_path):
    res = research("data", "validate", "sample:sp500", "--tz", "Mars/Base", cwd=tmp_path)
    one_line(res, EXIT_USAGE, "`tz`: unknown time zone 'Mars/Base'")


def test_a_bad_resample_rule_names_data_resample(tmp_path):
    spec = spec_with(tmp_path, "rs.yaml", "  start: 2008-01-01",
                     "  start: 2008-01-01\n  resample: 3 fortnights")  # fmt: skip
    res = research("run", str(spec), "--runs-root", "runs", cwd=tmp_path)
    line = one_line(res, EXIT_USAGE, f"{spec}: `data.resample`: cannot read '3 fortnights'")
    assert "`rule`" not in line
    assert not (tmp_path / "runs").exists()


def test_a_resample_finer_than_the_data_names_data_resample(tmp_path):
    from data_loaders import load_bars, resample_bars
    from data_loaders.errors import ParameterError

    bars = load_bars("sample:sp500").iloc[:100]
    try:
        resample_bars(bars, "1h", key="data.resample")
    except ParameterError as exc:
        assert str(exc).startswith("`data.resample` '1h' is finer than the source frequency")
    else:
        raise AssertionError("a finer rule was accepted")


def test_repair_hints_use_command_line_syntax(tmp_path):
    (tmp_path / "dup.csv").write_text(
        "date,open,high,low,close,volume\n"
        "2020-01-02,1,2,0.5,1.5,100\n2020-01-02,1,2,0.5,1.5,100\n2020-01-03,1,2,0.5,1.5,100\n"
    )
    line = one_line(research("data", "validate", "dup.csv", cwd=tmp_path), EXIT_USAGE, "dup.csv")
    assert "`--repair dedupe`" in line and "repair=(" not in line
    ok = research("data", "validate", "dup.csv", "--repair", "dedupe", cwd=tmp_path)
    assert ok.status == 0, ok.err  # the hint is true


def test_report_on_a_run_folder_with_a_broken_config_names_the_file(tmp_path):
    run = tmp_path / "runs" / "x" / "20260101-000000"
    run.mkdir(parents=True)
    for name, text in {"results.json": "{}", "run.json": "{}", "config.yaml": "a: [\n"}.items():
        (run / name).write_text(text, encoding="utf-8")
    before = snapshot(run)
    res = research("report", str(run), cwd=tmp_path)
    one_line(res, EXIT_USAGE, f"run folder file {run / 'config.yaml'}: line 2 is not valid YAML")
    assert snapshot(run) == before
