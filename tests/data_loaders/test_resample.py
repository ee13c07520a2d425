"""Resampling against hand computations: first open, max high, min low, last close, summed volume."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data_loaders import ParameterError, resample_bars, synthetic_bars, validate_bars


def _bars(times, open_, high, low, close, volume) -> pd.DataFrame:
    df = pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume},
        index=pd.DatetimeIndex(times),
    )
    return validate_bars(df, source="hand")


def _by_hand(bars: pd.DataFrame, groups: list[list[int]], labels: list[str]) -> pd.DataFrame:
    """Aggregate row positions with plain Python: the independent reference."""
    rows = []
    for g in groups:
        part = bars.iloc[g]
        rows.append(
            [
                part["open"].iloc[0],
                max(part["high"]),
                min(part["low"]),
                part["close"].iloc[-1],
                sum(part["volume"]),
            ]
        )
    index = pd.DatetimeIndex(labels, name="time").tz_localize("UTC").as_unit("ns")
    return pd.DataFrame(rows, index=index, columns=["open", "high", "low", "close", "volume"])


@pytest.fixture
def minutes() -> pd.DataFrame:
    """12 one-minute bars 09:00 .. 09:11 with irregular highs and lows."""
    n = 12
    open_ = 100.0 + np.arange(n)
    close = open_ + np.array([0.5, -0.3, 0.2, 0.9, -0.8, 0.1, 0.4, -0.6, 0.3, 0.7, -0.2, 0.6])
    high = np.maximum(open_, close) + np.array(
        [0.1, 2.0, 0.3, 0.2, 0.4, 0.1, 3.0, 0.2, 0.1, 0.5, 0.3, 0.2]
    )
    low = np.minimum(open_, close) - np.array(
        [0.2, 0.1, 1.5, 0.2, 0.3, 0.4, 0.1, 2.5, 0.2, 0.1, 0.9, 0.1]
    )
    volume = np.array([5.0, 0, 7, 3, 2, 8, 1, 0, 4, 6, 9, 2])
    times = pd.date_range("2024-03-04 09:00", periods=n, freq="min")
    return _bars(times, open_, high, low, close, volume)


def test_five_minute_bars_match_a_hand_computation(minutes):
    out = resample_bars(minutes, "5min")
    # 09:00 and 09:05 are full; 09:10 holds only 09:10-09:11 and is dropped as partial
    expected = _by_hand(
        minutes, [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]], ["2024-03-04 09:00", "2024-03-04 09:05"]
    )
    pd.testing.assert_frame_equal(out, expected)
    assert out.loc["2024-03-04 09:00"].tolist() == [100.0, 104.4, 99.8, 103.2, 17.0]
    assert out.attrs["frequency"] == "5min" and out.attrs["source"] == "hand"


def test_partial_last_bar_only_when_asked(minutes):
    out = resample_bars(minutes, "5min", keep_partial=True)
    expected = _by_hand(
        minutes,
        [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11]],
        ["2024-03-04 09:00", "2024-03-04 09:05", "2024-03-04 09:10"],
    )
    pd.testing.assert_frame_equal(out, expected)


def test_partial_first_bar_is_dropped_too(minutes):
    late = minutes.iloc[2:]  # starts 09:02: the 09:00 bin misses two expected minutes
    out = resample_bars(late, "5min")
    assert out.index.strftime("%H:%M").tolist() == ["09:05"]
    kept = resample_bars(late, "5min", keep_partial=True)
    assert kept.index.strftime("%H:%M").tolist() == ["09:00", "09:05", "09:10"]
    assert kept["open"].iloc[0] == 102.0 and kept["volume"].iloc[0] == 7 + 3 + 2


def test_hourly_bars_agree_with_pandas_resample():
    bars = synthetic_bars(3 * 24 * 60 + 17, freq="1min", seed=11)  # 3 days and 17 minutes
    out = resample_bars(bars, "1h")
    ref = (
        bars.resample("1h", label="left", closed="left")
        .agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
        .iloc[:-1]  # the 17-minute hour is partial
    )
    ref.index.freq = None
    assert len(out) == 72
    pd.testing.assert_frame_equal(out, ref, check_freq=False, rtol=0, atol=0, check_exact=True)


def test_bins_without_bars_give_no_row():
    times = pd.date_range("2024-03-04 00:00", periods=12, freq="h").delete([4, 5, 6, 7])  # outage
    bars = _bars(times, [1.0] * 8, [2.0] * 8, [0.5] * 8, [1.5] * 8, np.arange(8.0))
    out = resample_bars(bars, "2h")
    assert out.index.strftime("%H:%M").tolist() == ["00:00", "02:00", "08:00", "10:00"]
    assert out["volume"].tolist() == [0 + 1, 2 + 3, 4 + 5, 6 + 7]


@pytest.fixture
def stock_days() -> pd.DataFrame:
    """Three Mon-Fri weeks from Mon 2024-01-08, the middle Wednesday (01-17) a holiday."""
    days = pd.bdate_range("2024-01-08", "2024-01-26").delete(7)
    n = len(days)
    close = 50.0 + np.cumsum(np.linspace(-1, 1, n))
    open_ = np.r_[50.0, close[:-1]]
    return _bars(
        days,
        open_,
        np.maximum(open_, close) + 0.5,
        np.minimum(open_, close) - 0.5,
        close,
        10.0 + np.arange(n),
    )


def test_weekly_bars_from_daily_stock_bars(stock_days):
    out = resample_bars(stock_days, "W")
    # weeks are labelled by their Monday; the holiday week is complete (a Wednesday holiday is
    # a gap in the data, not a partial bin at the edge); a Friday end completes the last week
    expected = _by_hand(
        stock_days,
        [list(range(0, 5)), list(range(5, 9)), list(range(9, 14))],
        ["2024-01-08", "2024-01-15", "2024-01-22"],
    )
    pd.testing.assert_frame_equal(out, expected)
    assert out.attrs["frequency"] == "1W-SUN"


def test_week_ending_midweek_is_partial(stock_days):
    cut = stock_days.loc[:"2024-01-24"]  # ends on a Wednesday
    assert resample_bars(cut, "W").index.strftime("%Y-%m-%d").tolist() == [
        "2024-01-08",
        "2024-01-15",
    ]
    assert len(resample_bars(cut, "W", keep_partial=True)) == 3


def test_monthly_bars_are_labelled_by_the_first_day(stock_days):
    bars = synthetic_bars(90, freq="1D", start="2024-01-01", seed=3)  # Jan 1 .. Mar 30
    out = resample_bars(bars, "ME")
    assert out.index.strftime("%Y-%m-%d").tolist() == ["2024-01-01", "2024-02-01"]  # March partial
    jan = bars.loc["2024-01"]
    assert out.iloc[0].tolist() == [
        jan["open"].iloc[0],
        jan["high"].max(),
        jan["low"].min(),
        jan["close"].iloc[-1],
        jan["volume"].sum(),
    ]


def test_resampled_bars_keep_the_contract():
    bars = synthetic_bars(5000, freq="5min", seed=2)
    out = resample_bars(bars, "4h")
    validate_bars(out)  # raises if any contract rule broke
    assert (out.index.hour % 4 == 0).all() and (out.index.minute == 0).all()


def test_dicts_are_resampled_symbol_by_symbol(minutes):
    out = resample_bars({"A": minutes, "B": minutes.iloc[:10]}, "5min")
    assert list(out) == ["A", "B"]
    pd.testing.assert_frame_equal(out["A"], out["B"])


def test_fx_sample_to_four_hours_agrees_with_pandas():
    pytest.importorskip("gym_anytrading")
    from data_loaders import load_sample

    fx = load_sample("eurusd_1h")
    out = resample_bars(fx, "4h", keep_partial=True)
    ref = (
        fx.resample("4h")
        .agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
        .dropna()
    )
    ref = ref[fx.resample("4h").size().loc[ref.index] > 0]
    pd.testing.assert_frame_equal(out, ref, check_freq=False, check_exact=True)


@pytest.mark.parametrize(
    ("rule", "match"),
    [
        ("30s", r"`rule` '30s' is finer than the source frequency 1min"),
        ("bogus", r"`rule`: cannot read 'bogus' as a pandas frequency"),
        ("2W", r"calendar rules take n = 1"),
        ("-5min", r"must be a positive length"),
        ("BME", r"'BME' is not supported"),
    ],
)
def test_bad_rules_are_parameter_errors(minutes, rule, match):
    with pytest.raises(ParameterError, match=match):
        resample_bars(minutes, rule)
