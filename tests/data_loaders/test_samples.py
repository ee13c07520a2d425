"""Bundled real samples load offline from installed packages, each with its source and license."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from data_loaders import (
    DataValidationError,
    MissingDependencyError,
    SampleInfo,
    list_samples,
    load_bars,
    load_sample,
    validate_bars,
)

NAMES = ["sp500", "nasdaq", "aapl", "msft", "ibm", "goog", "stocks", "sp500_20", "eurusd_1h"]


def _installed(info: SampleInfo) -> bool:
    return importlib.util.find_spec(info.module) is not None


def test_catalog_lists_every_sample_with_source_and_license():
    infos = list_samples()
    assert [i.name for i in infos] == NAMES
    by_name = {i.name: i for i in infos}
    assert by_name["sp500"].package == "arch" and by_name["sp500"].extra is None
    assert "NCSA" in by_name["sp500"].license
    assert by_name["aapl"].package == "bokeh-sampledata" and by_name["aapl"].extra == "samples"
    assert "BSD-3-Clause" in by_name["aapl"].license
    assert (
        by_name["eurusd_1h"].package == "gym-anytrading" and by_name["eurusd_1h"].license == "MIT"
    )
    assert by_name["stocks"].symbols == ("AAPL", "GOOG", "IBM", "MSFT")
    for info in infos:
        assert info.origin and info.description and info.license
        d = info.to_dict()
        assert d["name"] == info.name and d["available"] == _installed(info)
        assert isinstance(d["symbols"], list)


@pytest.mark.parametrize("info", list_samples(), ids=lambda i: i.name)
def test_each_sample_loads_offline_and_matches_its_catalog_entry(info, no_network):
    if not _installed(info):
        pytest.skip(f"{info.package} not installed (extra {info.extra!r})")
    data = load_sample(info.name)
    frames = data if isinstance(data, dict) else {info.symbols[0]: data}
    assert sorted(frames) == sorted(info.symbols)
    assert sum(len(f) for f in frames.values()) == info.rows
    assert min(f.index[0] for f in frames.values()).strftime("%Y-%m-%d") == info.start
    assert max(f.index[-1] for f in frames.values()).strftime("%Y-%m-%d") == info.end
    for sym, bars in frames.items():
        # an independent re-check of the contract
        assert list(bars.columns) == ["open", "high", "low", "close", "volume"]
        assert (
            str(bars.index.tz) == "UTC"
            and bars.index.is_monotonic_increasing
            and bars.index.is_unique
        )
        o, h, lo, c, v = (bars[k].to_numpy() for k in bars.columns)
        assert np.all(h >= np.maximum(o, c)) and np.all(lo <= np.minimum(o, c))
        assert np.all(lo > 0) and np.all(v >= 0)
        assert bars.attrs["symbol"] == sym and bars.attrs["frequency"] == info.frequency
        assert bars.attrs["source"] == (
            f"sample:{info.name}" if info.name != "stocks" else f"sample:{sym.lower()}"
        )
        validate_bars(bars)


def test_sp500_values_are_the_arch_data(no_network):
    spec = importlib.util.find_spec("arch")
    folder = next(iter(spec.submodule_search_locations))
    ref = pd.read_csv(f"{folder}/data/sp500/sp500.csv.gz", index_col=0, parse_dates=True)
    bars = load_sample("sp500")
    assert [f"{t:%Y-%m-%d}" for t in bars.index] == [f"{t:%Y-%m-%d}" for t in ref.index]
    for col in ("open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(bars[col].to_numpy(), ref[col.title()].to_numpy(dtype=float))


def test_eurusd_sample_is_intraday_fx():
    pytest.importorskip("gym_anytrading")
    from data_loaders import summarize_bars

    report = summarize_bars(load_sample("eurusd_1h"))
    assert report.frequency == "1h"
    assert report.calendar.startswith("Sun-Fri")  # FX trades from Sunday evening to Friday


def test_load_bars_sample_scheme_is_load_sample():
    a = load_bars("sample:MSFT")
    b = load_sample("msft")
    pd.testing.assert_frame_equal(a, b)
    raw = load_bars("sample:msft", adjust=False)
    assert raw.attrs["adjusted"] is False and not raw["close"].equals(b["close"])


def test_unknown_sample_suggests_a_name():
    with pytest.raises(
        DataValidationError, match=r"sample:appl: unknown sample \(did you mean 'aapl'\?\)"
    ):
        load_sample("appl")


def test_missing_data_package_names_the_pip_command(monkeypatch):
    real = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name == "bokeh_sampledata" else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    info = {i.name: i for i in list_samples()}["aapl"]
    assert info.available is False
    with pytest.raises(MissingDependencyError, match=r"pip install 'quant-research\[samples\]'"):
        load_sample("aapl")


def test_listing_samples_does_not_import_pandas():
    code = (
        "import sys; import data_loaders; infos = data_loaders.list_samples(); "
        "[i.available for i in infos]; print(len(infos), 'pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(len(NAMES)), "False"]
