"""``research explore`` end to end: files with content, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from research.cli import main
from research.cli._explore import data_name, default_out_dir
from tests.conftest import make_bars
from tests.research.explore.conftest import _single_threaded_blas  # noqa: F401 - autouse fixture

LIGHT = {
    "features": {"technical": {"families": ["momentum", "volatility"], "max_per_indicator": 1}},
    "horizons": [1, 5],
    "screening": {"mutual_info": {"rows": 300}, "lightgbm": {"rows": 500, "n_estimators": 10}},
}


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    """The default spec on the smallest bundled real sample (GOOG daily, 2,148 bars)."""
    out = tmp_path_factory.mktemp("explore") / "goog"
    cache = tmp_path_factory.mktemp("cache")
    argv = ["explore", "--data", "sample:goog", "--out", str(out), "--cache", str(cache)]
    return out, cache, argv


def test_default_spec_on_a_bundled_sample(sample_run, capsys) -> None:
    out, cache, argv = sample_run
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "[explore" in captured.err and "screening:" in captured.err  # progress on stderr
    assert "GOOG: 2,148 bars" in captured.out and f"written to {out}/" in captured.out

    names = {p.name for p in out.iterdir()}
    assert names == {
        "features.parquet",
        "selected.parquet",
        "selected.json",
        "findings.json",
        "explore.html",
        "spec.yaml",
        "run.json",
    }
    features = pd.read_parquet(out / "features.parquet")
    assert features.shape[0] == 2148 and features.shape[1] >= 100
    assert isinstance(features.index, pd.DatetimeIndex)
    selected = json.loads((out / "selected.json").read_text())
    assert list(pd.read_parquet(out / "selected.parquet").columns) == selected["features"]
    findings = json.loads((out / "findings.json").read_text())
    assert findings["data"]["symbol"] == "GOOG" and findings["features"]["n_computed"] >= 100
    assert findings["screening"]["n_tests"] == findings["features"]["n_screened"] * 4
    html = (out / "explore.html").read_text()
    assert html.count("Plotly.newPlot") == 4 and "<script src=" not in html
    spec = yaml.safe_load((out / "spec.yaml").read_text())
    assert spec["horizons"] == [1, 5, 20, 60] and spec["screening"]["fdr"] == 0.05
    run = json.loads((out / "run.json").read_text())
    assert (
        run["data"] == "sample:goog" and run["data_fingerprint"] == findings["data"]["fingerprint"]
    )
    assert run["code_version"]["package"] and run["seed"] == 0
    assert len(list(cache.glob("features-*.parquet"))) == 1


def test_existing_folder_is_never_overwritten_silently(sample_run, capsys) -> None:
    out, cache, argv = sample_run
    before = (out / "findings.json").stat().st_mtime_ns
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "folder exists and is not empty" in err and "--force" in err
    assert (out / "findings.json").stat().st_mtime_ns == before
    assert main([*argv, "--force", "--quiet", "--json"]) == 0  # the cache makes this quick
    captured = capsys.readouterr()
    assert captured.err == ""
    summary = json.loads(captured.out)
    assert summary["out"] == str(out) and summary["n_features"] >= 100
    assert json.loads((out / "findings.json").read_text())["features"]["from_cache"] is True


@pytest.fixture
def csv(tmp_path) -> Path:
    path = tmp_path / "bars.csv"
    make_bars(700, freq="B", seed=41).to_csv(path, index_label="time")
    return path


def test_file_and_spec_options(tmp_path, csv, capsys, monkeypatch) -> None:
    spec = tmp_path / "light.yaml"
    spec.write_text(yaml.safe_dump(LIGHT))
    monkeypatch.chdir(tmp_path)
    code = main(
        [
            "explore",
            "--data",
            str(csv),
            "--spec",
            str(spec),
            "--no-cache",
            "--train-end",
            "2021-06-30",
        ]
    )
    assert code == 0
    runs = list((tmp_path / "runs" / "explore" / "bars").iterdir())
    assert len(runs) == 1  # default folder: runs/explore/<data-name>/<UTC time>
    out = runs[0]
    findings = json.loads((out / "findings.json").read_text())
    assert findings["train"]["end"].startswith("2021-06-30")
    assert findings["screening"]["horizons"] == [1, 5]
    assert json.loads((out / "run.json").read_text())["spec_file"] == str(spec)
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize(
    ("spec_text", "message"),
    [
        ("screening:\n  fdrr: 0.1\n", "unknown key `screening.fdrr` (did you mean 'fdr'?)"),
        ("horizons: [0, 5]\n", "`horizons` must hold integers >= 1"),
        ("features:\n  returns:\n    windows: [5, 5]\n", "must not repeat values"),
        ("horizons: [1, 2\n", "is not valid YAML"),
    ],
)
def test_bad_spec_exits_2_with_one_line(tmp_path, csv, capsys, spec_text, message) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(spec_text)
    out = tmp_path / "out"
    assert main(["explore", "--data", str(csv), "--spec", str(spec), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("research explore: error: exploration spec")
    assert message in err
    assert not out.exists()  # nothing written


def test_bad_data_and_usage_exit_2(tmp_path, csv, capsys) -> None:
    assert (
        main(["explore", "--data", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o")])
        == 2
    )
    assert capsys.readouterr().err.count("\n") == 1
    broken = tmp_path / "broken.csv"
    frame = make_bars(300, seed=2)
    frame.iloc[50, frame.columns.get_loc("high")] = 1.0  # below the close
    frame.to_csv(broken, index_label="time")
    assert main(["explore", "--data", str(broken), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "high" in err
    assert (
        main(
            [
                "explore",
                "--data",
                str(csv),
                "--train-end",
                "1990-01-01",
                "--no-cache",
                "--out",
                str(tmp_path / "o2"),
            ]
        )
        == 2
    )
    assert "before the first bar" in capsys.readouterr().err
    assert (
        main(["explore", "--data", str(csv), "--symbol", "XYZ", "--out", str(tmp_path / "o3")]) == 2
    )
    assert "--symbol XYZ" in capsys.readouterr().err
    assert main(["explore"]) == 2  # argparse: --data is required


def test_helpers() -> None:
    assert data_name("sample:sp500") == "sp500"
    assert data_name("/a/b/EURUSD.csv.gz") == "EURUSD"
    assert data_name("/data/stocks/") == "stocks"
    assert data_name("yfinance:AAPL?interval=1h") == "yfinance-AAPL"
    out = default_out_dir("sample:sp500")
    assert out.parts[:3] == ("runs", "explore", "sp500") and len(out.name) == len("20240101-000000")


def test_python_dash_m_entry_point(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "research", "explore", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0 and "--spec FILE.yaml" in proc.stdout and "--out DIR" in proc.stdout
