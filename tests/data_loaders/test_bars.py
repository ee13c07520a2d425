"""data_loaders.bars: the reference index, positional slicing and the one bars-per-year rule."""

from __future__ import annotations

import pandas as pd
import pytest

from data_loaders.bars import bars_index, bars_per_year, first_frame, is_multi, slice_bars


def _frame(n: int, freq: str = "D") -> pd.DataFrame:
    idx = pd.date_range("2021-01-01", periods=n, freq=freq, tz="UTC", name="time")
    return pd.DataFrame({"open": range(1, n + 1), "close": range(2, n + 2)}, index=idx, dtype=float)


def test_index_first_frame_and_slice_of_one_frame_and_a_dict():
    a, b = _frame(10), _frame(10) * 2
    assert not is_multi(a) and is_multi({"A": a})
    assert first_frame({"A": a, "B": b}) is a
    assert bars_index({"A": a, "B": b}).equals(a.index)
    part = slice_bars({"A": a, "B": b}, 2, 5)
    assert list(part) == ["A", "B"]
    assert part["B"]["close"].tolist() == [8.0, 10.0, 12.0]  # rows 2..4 of b
    assert slice_bars(a, None, 3)["open"].tolist() == [1.0, 2.0, 3.0]


def test_a_dict_on_calendars_of_its_own_is_indexed_and_sliced_on_the_union():
    full = _frame(10)  # 2021-01-01 .. 01-10
    late = full.iloc[4:]  # listed on day 5
    gappy = full.drop(full.index[[2, 3, 6]])  # no bar on days 3, 4 and 7
    bars = {"A": gappy, "B": late}
    union = bars_index(bars)
    assert union.equals(full.index.delete([2, 3]))  # days 3 and 4: no symbol has a bar
    part = slice_bars(bars, 2, 5)  # union rows 2..4: days 5, 6 and 7
    assert part["A"].index.equals(full.index[[4, 5]])  # A has no bar on day 7
    assert part["B"].index.equals(full.index[[4, 5, 6]])
    before = slice_bars(bars, 0, 2)  # days 1 and 2: B not listed yet, an empty frame
    assert before["A"]["close"].tolist() == [2.0, 3.0] and before["B"].empty
    assert list(before["B"].columns) == ["open", "close"]


@pytest.mark.parametrize(
    ("freq", "n", "expected"),
    [("B", 50, 252.0), ("D", 50, 365.0), ("W", 50, 52.0), ("ME", 50, 12.0)],
)
def test_bars_per_year_snaps_common_calendars(freq, n, expected):
    assert bars_per_year(_frame(n, freq).index) == expected


def test_bars_per_year_rounds_other_rates_and_falls_back_on_short_data():
    hourly = _frame(24 * 365 + 1, "h").index  # 8760 steps over 365 days
    assert bars_per_year(hourly) == round(8760 / (365 / 365.25))
    assert bars_per_year(_frame(1).index) == 252.0
    assert bars_per_year(_frame(1).index, default=365.0) == 365.0
    # 2 bars a week for a year: 104.4/yr, far from every snap -> rounded
    twice = pd.DatetimeIndex(
        sorted(list(_frame(53, "W-MON").index) + list(_frame(53, "W-THU").index))
    )
    years = (twice[-1] - twice[0]) / pd.Timedelta(days=365.25)
    assert bars_per_year(twice) == round((len(twice) - 1) / years)
