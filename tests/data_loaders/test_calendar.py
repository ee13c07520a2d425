"""Frequency and trading-calendar inference, and gaps against the inferred calendar."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data_loaders._calendar import (
    find_gaps,
    frequency_string,
    infer_calendar,
    infer_frequency,
    missing_slots,
)


def _sessions(days: pd.DatetimeIndex, start: str, periods: int, freq: str) -> pd.DatetimeIndex:
    """The same intraday session on each day (UTC)."""
    offset = pd.Timedelta(f"{start}:00")
    parts = [pd.date_range(d + offset, periods=periods, freq=freq).as_unit("ns") for d in days]
    return parts[0].append(parts[1:]).rename("time")


def _fx_hours(first: str, last: str) -> pd.DatetimeIndex:
    """Hourly FX bars: Sunday 22:00 to Friday 20:00 UTC every week."""
    full = pd.date_range(first, last, freq="h", tz="UTC", name="time").as_unit("ns")
    dow, hour = full.day_of_week, full.hour
    closed = (dow == 5) | ((dow == 4) & (hour >= 21)) | ((dow == 6) & (hour < 22))
    return full[~closed]


def _summary(index: pd.DatetimeIndex) -> tuple[str, int, int, int]:
    cal = infer_calendar(index)
    gaps = find_gaps(index, cal)
    return cal.describe(), gaps.expected, gaps.missing, gaps.n_gaps


def test_crypto_hours_expect_every_slot_and_count_missing_hours():
    full = pd.date_range("2024-01-01", periods=24 * 14, freq="h", tz="UTC", name="time")
    index = full.delete([10, 50, 51, 200, 300])
    assert _summary(index) == ("24/7 (every slot of the week)", 336, 5, 4)
    assert missing_slots(index, infer_calendar(index)).equals(full[[10, 50, 51, 200, 300]])


def test_one_day_of_hourly_bars_with_two_missing_hours():
    index = pd.DatetimeIndex(
        [f"2021-03-01 {h:02d}:00" for h in (0, 1, 4, 5, 6, 7, 8)], name="time"
    ).tz_localize("UTC")
    cal = infer_calendar(index)
    gaps = find_gaps(index, cal)
    assert (gaps.expected, gaps.missing, gaps.n_gaps) == (9, 2, 1)
    assert [str(t) for t in missing_slots(index, cal)] == [
        "2021-03-01 02:00:00+00:00",
        "2021-03-01 03:00:00+00:00",
    ]


def test_stock_minute_bars_expect_the_session_on_weekdays():
    days = pd.bdate_range("2024-01-08", periods=15, tz="UTC")
    index = _sessions(days, "14:30", 390, "min")
    assert _summary(index) == ("Mon-Fri, 1950 of 10080 slots a week", 5850, 0, 0)
    # a Wednesday holiday is one gap of a whole session
    holiday = index[index.normalize() != pd.Timestamp("2024-01-17", tz="UTC")]
    assert _summary(holiday)[1:] == (5850, 390, 1)


def test_two_days_of_stock_bars_do_not_expect_the_night():
    days = pd.DatetimeIndex(["2024-01-08", "2024-01-09"], tz="UTC")
    index = _sessions(days, "14:30", 7, "h")
    _, expected, missing, _ = _summary(index)
    assert (expected, missing) == (14, 0)


def test_a_lunch_break_seen_every_day_is_closed_not_a_gap():
    days = pd.bdate_range("2024-01-08", periods=10, tz="UTC")
    morning = _sessions(days, "00:00", 5, "30min")  # 00:00-02:00
    afternoon = _sessions(days, "03:30", 5, "30min")  # 03:30-05:30
    index = morning.append(afternoon).sort_values()
    assert _summary(index) == ("Mon-Fri, 50 of 336 slots a week", 100, 0, 0)


@pytest.mark.parametrize(("last", "weeks"), [("2024-01-19 20:00", 2), ("2024-03-29 20:00", 12)])
def test_fx_hours_expect_sunday_evening_to_friday_evening(last, weeks):
    index = _fx_hours("2024-01-07 22:00", last)
    description, expected, missing, n_gaps = _summary(index)
    assert description == "Sun-Fri, 119 of 168 slots a week"
    assert (expected, missing, n_gaps) == (len(index), 0, 0)
    cal = infer_calendar(index)
    week = cal.expected.reshape(7, 24)
    assert week[6, 22:].all() and not week[6, :22].any()  # Sunday opens 22:00
    assert week[4, :21].all() and not week[4, 21:].any()  # Friday closes 21:00
    assert not week[5].any()  # Saturday


def test_fx_hours_with_a_missing_tuesday_afternoon():
    index = _fx_hours("2024-01-07 22:00", "2024-03-29 20:00")
    cut = index[
        (index < pd.Timestamp("2024-02-06 12:00", tz="UTC"))
        | (index >= pd.Timestamp("2024-02-06 18:00", tz="UTC"))
    ]
    (gap,) = find_gaps(cut, infer_calendar(cut)).all()
    assert (str(gap.start), str(gap.end), gap.missing) == (
        "2024-02-06 12:00:00+00:00",
        "2024-02-06 17:00:00+00:00",
        6,
    )


def test_two_weeks_of_daily_bars_with_both_wednesdays_missing():
    days = pd.bdate_range("2020-01-06", "2020-01-17", tz="UTC")
    index = days[days.day_of_week != 2].rename("time")
    assert _summary(index) == ("Mon-Fri", 10, 2, 2)


def test_a_weekday_that_never_trades_over_many_weeks_is_closed():
    days = pd.bdate_range("2024-01-01", periods=40, tz="UTC")
    index = days[days.day_of_week != 2].rename("time")  # eight weeks without a Wednesday
    assert _summary(index) == ("Mon-Tue, Thu-Fri", len(index), 0, 0)


def test_a_week_of_weekday_bars_cannot_tell_the_weekend():
    # never reached slots count as expected (conservative), but the span holds no gap
    index = pd.bdate_range("2024-01-08", periods=5, tz="UTC", name="time")
    description, expected, missing, _ = _summary(index)
    assert (expected, missing) == (5, 0)


def test_weekly_and_monthly_bars():
    weekly = pd.date_range("2024-01-01", periods=10, freq="W-MON", tz="UTC", name="time")
    assert infer_calendar(weekly).n_slots == 1
    assert _summary(weekly.delete(3))[1:] == (10, 1, 1)
    monthly = pd.date_range("2024-01-01", periods=10, freq="MS", tz="UTC", name="time")
    assert infer_calendar(monthly) is None  # a month does not divide a week: no gap count
    assert frequency_string(infer_frequency(monthly)) == "1ME"


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        (["1min"] * 5 + ["3min"], "1min"),
        (["1h", "2h", "2h"], "2h"),
        (["1D", "1D", "3D", "1D", "3D"], "1D"),
        (["15s"] * 3, "15s"),
        (["7D"] * 3, "1W"),
        (["90min"] * 3, "90min"),
    ],
)
def test_frequency_is_the_most_common_step(steps, expected):
    times = [pd.Timestamp("2024-01-01", tz="UTC")]
    for s in steps:
        times.append(times[-1] + pd.Timedelta(s))
    assert frequency_string(infer_frequency(pd.DatetimeIndex(times))) == expected


def test_single_bar_has_no_frequency_or_calendar():
    one = pd.DatetimeIndex(["2024-01-01"], tz="UTC")
    assert infer_frequency(one) is None and infer_calendar(one) is None


def test_calendar_of_a_million_minute_bars_is_vectorised():
    index = pd.date_range("2024-01-01", periods=1_000_000, freq="min", tz="UTC", name="time")
    cal = infer_calendar(index.delete(np.arange(1000, 1100)))
    assert cal.expected.all() and find_gaps(index.delete(np.arange(1000, 1100)), cal).missing == 100
