"""Corporate actions: adjust by an adjusted close (default), raw on request, flag split-like moves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data_loaders import (
    detect_splits,
    load_bars,
    load_sample,
    summarize_bars,
    validate_bars,
    validate_source,
)

SPLITS = {"AAPL": ["2000-06-21", "2005-02-28"], "MSFT": ["2003-02-18"]}
REAL_CRASHES = {"AAPL": ["2000-09-29"], "MSFT": []}


@pytest.fixture(scope="module")
def vendor_file() -> pd.DataFrame:
    """bokeh-sampledata's stocks.csv.gz read with plain pandas: the independent reference."""
    pytest.importorskip("bokeh_sampledata")
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("bokeh_sampledata")
    path = Path(next(iter(spec.submodule_search_locations))) / "_data" / "stocks.csv.gz"
    return pd.read_csv(path)


def _days(index: pd.DatetimeIndex) -> list[str]:
    return [f"{t:%Y-%m-%d}" for t in index]


@pytest.mark.parametrize("symbol", ["AAPL", "MSFT"])
def test_raw_prices_show_the_splits_and_the_summary_flags_them(vendor_file, symbol):
    raw = load_sample(symbol.lower(), adjust=False)
    assert raw.attrs["adjusted"] is False
    ret = raw["close"].pct_change()
    # the -50% days that never happened, beside AAPL's real crash of 2000-09-29 (-52%)
    assert _days(ret.index[ret < -0.4]) == sorted(SPLITS[symbol] + REAL_CRASHES[symbol])
    for day in SPLITS[symbol]:
        assert ret.loc[day] == pytest.approx(-0.5, abs=0.06)
    flags = summarize_bars(raw).suspected_splits
    assert _days(pd.DatetimeIndex([f.time for f in flags])) == SPLITS[symbol]
    assert {f.split for f in flags} == {"2:1"}
    assert all(abs(f.ratio - 0.5) < 0.01 for f in flags)


@pytest.mark.parametrize("symbol", ["AAPL", "MSFT"])
def test_adjusted_by_default_so_split_days_are_ordinary_days(vendor_file, symbol):
    bars = load_sample(symbol.lower())
    assert bars.attrs["adjusted"] is True
    ret = bars["close"].pct_change()
    for day in SPLITS[symbol]:
        assert abs(ret.loc[day]) < 0.1, (symbol, day, ret.loc[day])
    assert _days(ret.index[ret < -0.4]) == REAL_CRASHES[symbol]
    assert summarize_bars(bars).suspected_splits == ()


def test_adjusted_prices_equal_raw_prices_times_the_vendor_factor(vendor_file):
    ref = vendor_file[vendor_file["Ticker"] == "AAPL"].reset_index(drop=True)
    factor = ref["Adj Close"] / ref["Close"]
    bars = load_sample("aapl")
    assert _days(bars.index) == ref["Date"].tolist()
    np.testing.assert_allclose(bars["open"], ref["Open"] * factor, rtol=1e-12)
    np.testing.assert_allclose(bars["close"], ref["Adj Close"], rtol=0)
    # high/low: scaled by the same factor (and never inside the open/close range after rounding)
    np.testing.assert_allclose(bars["high"], ref["High"] * factor, rtol=1e-12)
    np.testing.assert_allclose(bars["low"], ref["Low"] * factor, rtol=1e-12)
    np.testing.assert_array_equal(bars["volume"], ref["Volume"].astype(float))  # volume as traded
    raw = load_sample("aapl", adjust=False)
    np.testing.assert_array_equal(raw["close"], ref["Close"])


def test_split_like_moves_are_flagged_when_the_file_has_no_adjusted_close(write):
    text = (
        "Date,Open,High,Low,Close,Volume\n"
        "2020-01-02,100,102,99,101,10\n"
        "2020-01-03,50.6,51,50,50.5,20\n"  # 2:1 split: open / previous close = 0.501
        "2020-01-06,50.5,51,40,41,20\n"  # a -19% day: not a split
        "2020-01-07,410,420,405,415,2\n"  # 1:10 reverse split
    )
    path = write("no_adj.csv", text)
    bars = load_bars(path)
    assert bars.attrs["adjusted"] is None
    report = validate_source(path)
    assert [(f"{f.time:%Y-%m-%d}", f.split) for f in report.suspected_splits] == [
        ("2020-01-03", "2:1"),
        ("2020-01-07", "1:10 reverse"),
    ]
    text = report.to_text()
    assert "suspected splits: 2" in text
    assert "2020-01-03 00:00 open/prev close = 0.501 (looks like 2:1)" in text
    assert "adjusted:   no adjusted close in source" in text


@pytest.mark.parametrize(
    ("ratio", "label"),
    [
        (1 / 2, "2:1"),
        (1 / 3, "3:1"),
        (2 / 3, "3:2"),
        (1 / 10, "10:1"),
        (3.0, "1:3 reverse"),
        (1.5, "2:3 reverse"),
    ],
)
def test_detect_splits_names_the_ratio(ratio, label):
    close = np.array([100.0, 100.0 * ratio * 1.01])
    open_ = np.array([100.0, 100.0 * ratio])
    df = pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + 1,
            "low": np.minimum(open_, close) * 0.9,
            "close": close,
            "volume": 1.0,
        },
        index=pd.date_range("2020-01-01", periods=2, tz="UTC"),
    )
    (flag,) = detect_splits(validate_bars(df))
    assert flag.split == label and flag.ratio == pytest.approx(ratio)


def test_moves_away_from_split_ratios_are_not_flagged():
    open_ = np.array([100.0, 55.0, 58.0, 100.0])  # -45%, +5%, +72% gaps
    df = pd.DataFrame(
        {"open": open_, "high": open_ * 1.01, "low": open_ * 0.99, "close": open_, "volume": 1.0},
        index=pd.date_range("2020-01-01", periods=4, tz="UTC"),
    )
    assert detect_splits(df) == ()
    assert len(detect_splits(df, tolerance=0.11)) == 1  # 0.55 is within 11% of 1/2


def test_raw_on_request_from_files_and_metadata_says_which(write):
    text = "Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,10,12,9,11,5.5,100\n"
    path = write("adj.csv", text)
    adjusted, raw = load_bars(path), load_bars(path, adjust=False)
    assert adjusted.attrs["adjusted"] is True and raw.attrs["adjusted"] is False
    assert adjusted.iloc[0].tolist() == [5.0, 6.0, 4.5, 5.5, 100.0]
    assert raw.iloc[0].tolist() == [10.0, 12.0, 9.0, 11.0, 100.0]
    assert "yes (OHLC scaled by adj close / close)" in validate_source(path).to_text()
    assert "no (raw prices kept)" in validate_source(path, adjust=False).to_text()
