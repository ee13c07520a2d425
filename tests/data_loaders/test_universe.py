"""Universes: union calendars with gaps and late listings, close-only bars, the sp500_20 sample."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from data_loaders import DataValidationError, load_bars
from data_loaders.universe import align_universe, close_only_bars, require_fields


def _bars(days: list[str], start: float) -> pd.DataFrame:
    index = pd.DatetimeIndex(pd.to_datetime(days), tz="UTC").rename("time")
    close = start + np.arange(len(days), dtype=float)
    return pd.DataFrame(
        {"open": close - 0.5, "high": close + 1, "low": close - 1, "close": close, "volume": 10.0},
        index=index,
    )


@pytest.fixture
def gappy() -> dict[str, pd.DataFrame]:
    return {
        "A": _bars(["2024-01-01", "2024-01-02", "2024-01-04", "2024-01-05"], 10.0),  # gap on 3rd
        "B": _bars(["2024-01-03", "2024-01-04", "2024-01-05", "2024-01-06"], 100.0),  # late
        "C": _bars(["2024-01-01", "2024-01-02", "2024-01-03"], 50.0),  # delisted early
    }


def test_union_calendar_keeps_every_timestamp_and_masks_missing_bars(gappy):
    uni = align_universe(gappy)
    assert [str(t.date()) for t in uni.index] == [f"2024-01-0{d}" for d in range(1, 7)]
    expected = np.array(
        [[1, 0, 1], [1, 0, 1], [0, 1, 1], [1, 1, 0], [1, 1, 0], [0, 1, 0]], dtype=bool
    )
    np.testing.assert_array_equal(uni.available, expected)
    close = uni.frame("close")
    # no forward fill: the missing bars are NaN, present bars keep their own values
    assert np.isnan(close.loc["2024-01-03", "A"]) and np.isnan(close.loc["2024-01-06", "A"])
    assert close.loc["2024-01-04", "A"] == 12.0
    assert close["B"].tolist()[2:] == [100.0, 101.0, 102.0, 103.0]
    np.testing.assert_array_equal(uni.first_bar, [0, 2, 0])
    np.testing.assert_array_equal(uni.last_bar, [4, 5, 2])


def test_bars_round_trip_to_each_symbols_own_calendar(gappy):
    uni = align_universe(gappy)
    for sym, frame in gappy.items():
        back = uni.bars(sym)
        assert back.index.equals(frame.index)
        np.testing.assert_array_equal(back["close"].to_numpy(), frame["close"].to_numpy())


def test_take_restricts_rows(gappy):
    part = align_universe(gappy).take(slice(0, 3))
    assert part.shape == (3, 3) and part.available[:, 1].tolist() == [False, False, True]


def test_a_window_without_a_symbols_bar_is_an_empty_column_with_an_empty_life(gappy):
    from data_loaders.bars import slice_bars

    window = slice_bars(gappy, 0, 2)  # Jan 1-2: B not listed yet (an empty frame)
    assert window["B"].empty
    uni = align_universe(window)
    assert uni.shape == (2, 3) and not uni.available[:, 1].any()
    assert np.isnan(uni.panels["close"][:, 1]).all()
    np.testing.assert_array_equal(uni.first_bar, [0, 2, 0])  # B: n (never)
    np.testing.assert_array_equal(uni.last_bar, [1, -1, 1])  # B: -1 (never)
    with pytest.raises(DataValidationError, match="universe: no bars"):
        align_universe({s: f.iloc[0:0] for s, f in gappy.items()})


def test_bad_universes_are_refused_in_one_line(gappy):
    with pytest.raises(DataValidationError, match="non-empty dict"):
        align_universe({})
    naive = gappy["A"].tz_localize(None)
    with pytest.raises(DataValidationError, match="symbol 'A'.*tz-aware"):
        align_universe({"A": naive})
    with pytest.raises(DataValidationError, match=r"symbol 'B'.*missing column\(s\) \['open'\]"):
        align_universe({"A": gappy["A"], "B": gappy["B"].drop(columns="open")})
    with pytest.raises(DataValidationError, match="unknown symbol 'AA'.*did you mean 'A'"):
        align_universe(gappy).bars("AA")


def test_close_only_bars_and_require_fields():
    index = pd.date_range("2024-01-01", periods=4, tz="UTC")
    bars = close_only_bars(pd.Series([1.0, np.nan, 2.0, 3.0], index=index), symbol="X", source="t")
    assert len(bars) == 3 and (bars["open"] == bars["close"]).all() and bars.attrs["close_only"]
    uni = align_universe({"X": bars}, source="t")
    require_fields(uni, ["close"], who="strategy 'ok'")  # closes are fine
    with pytest.raises(DataValidationError) as err:
        require_fields(uni, ["close", "open"], who="strategy 'needs_open'")
    assert str(err.value).count("\n") == 0
    assert "strategy 'needs_open' reads 'open'" in str(err.value) and "close-only for X" in str(
        err.value
    )
    with pytest.raises(DataValidationError, match="close -1.0 at .* finite and > 0"):
        close_only_bars(pd.Series([1.0, -1.0], index=index[:2]), symbol="X", source="t")


def test_sp500_20_sample_matches_the_bundled_file():
    from pathlib import Path

    import data_loaders

    path = Path(data_loaders.__file__).parent / "data" / "sp500_20.csv.gz"
    with gzip.open(path, "rt") as fh:
        lines = fh.read().splitlines()
    header = lines[0].split(",")
    last = lines[-1].split(",")
    frames = load_bars("sample:sp500_20")
    assert list(frames) == header[1:] and len(frames) == 20
    aapl = frames["AAPL"]
    assert len(aapl) == len(lines) - 1 == 8313
    assert aapl.index[-1] == pd.Timestamp(last[0], tz="UTC")
    assert aapl["close"].iloc[-1] == float(last[1])
    assert aapl.attrs["close_only"] and aapl.attrs["source"] == "sample:sp500_20"
    assert (
        (Path(data_loaders.__file__).parent / "data" / "LICENSE-skfolio.txt")
        .read_text()
        .count("BSD 3-Clause")
    )
