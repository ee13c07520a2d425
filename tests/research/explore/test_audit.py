"""The data audit finds what was planted, and nothing else, on otherwise clean bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data_loaders import Regime, synthetic_bars
from research.explore.audit import audit_bars, bar_interval
from research.explore.spec import load_spec
from tests.conftest import make_bars

ONE_REGIME = (Regime("flat", drift=0.0, volatility=0.2, mean_duration=10**9),)


def _spec(**audit):
    return load_spec({"audit": audit}).audit


@pytest.fixture(scope="module")
def planted():
    """3,000 minute bars with a gap, a spike, a level jump, a wide bar, a stale run and a
    zero-volume run; returns (bars, original index)."""
    bars = synthetic_bars(3000, freq="1min", seed=21, regimes=ONE_REGIME)
    idx = bars.index
    b = bars.copy()
    col = b.columns.get_loc
    b.iloc[1500, col("close")] *= 1.05  # one bad close: a spike that reverts
    b.iloc[1500, col("high")] = max(b.iloc[1500, col("high")], b.iloc[1500, col("close")])
    b.iloc[2000:, [col(c) for c in ("open", "high", "low", "close")]] *= 1.03  # a level jump
    b.iloc[2500, col("high")] *= 1.02  # one very wide bar
    last = b.iloc[2199, col("close")]
    for c in ("open", "high", "low", "close"):
        b.iloc[2200:2212, col(c)] = last  # 12 more bars at the close of bar 2199
    b.iloc[2600:2605, col("volume")] = 0.0
    b = b.drop(index=idx[1000:1010])  # 10 missing minutes
    return b, idx


def test_planted_defects_are_found_exactly(planted) -> None:
    bars, idx = planted
    rep = audit_bars(bars, _spec(calendar="continuous"), horizons=(1,))
    assert rep.frequency == pd.Timedelta(minutes=1)

    gap = rep.of("gap")
    assert len(gap) == 1
    assert (gap.at[0, "start"], gap.at[0, "end"], gap.at[0, "n_bars"]) == (idx[1000], idx[1009], 10)

    spike = rep.of("price_spike")
    assert spike["start"].tolist() == [idx[1500]]
    jump = rep.of("return_outlier")
    assert jump["start"].tolist() == [idx[2000]]
    assert jump.at[0, "value"] > 10
    # the wide bar, and the spike bar (its high had to rise to the bad close)
    assert rep.of("range_outlier")["start"].tolist() == [idx[1500], idx[2500]]

    stale = rep.of("stale_price")
    assert len(stale) == 1
    assert (stale.at[0, "start"], stale.at[0, "end"], stale.at[0, "n_bars"]) == (
        idx[2199],
        idx[2211],
        13,
    )

    zero = rep.of("zero_volume")
    assert len(zero) == 1
    assert (zero.at[0, "start"], zero.at[0, "end"], zero.at[0, "n_bars"]) == (
        idx[2600],
        idx[2604],
        5,
    )

    assert rep.summary["counts"] == {
        "gap": 1,
        "price_spike": 1,
        "return_outlier": 1,
        "range_outlier": 2,
        "stale_price": 1,
        "zero_volume": 1,
    }
    d = rep.to_dict()
    assert d["summary"]["n_bars"] == len(bars) and len(d["findings"]) == 7


def test_clean_bars_have_no_findings() -> None:
    bars = synthetic_bars(3000, freq="1min", seed=22, regimes=ONE_REGIME)
    rep = audit_bars(bars, _spec(calendar="continuous"), horizons=(1, 5))
    assert rep.findings.empty, rep.findings
    assert not rep.label_balance["imbalanced"].any()
    assert not rep.shift["shifted"].any()


def test_thresholds_come_from_the_spec(planted) -> None:
    bars, idx = planted
    rep = audit_bars(bars, _spec(calendar="continuous", stale_min_run=14, zero_volume_min_run=6))
    assert rep.of("stale_price").empty and rep.of("zero_volume").empty
    rep = audit_bars(bars, _spec(calendar="continuous", outlier_z=1000.0))
    assert rep.of("price_spike").empty and rep.of("return_outlier").empty


def test_business_day_gaps_and_holidays() -> None:
    bars = make_bars(300, freq="B", seed=23)
    idx = bars.index
    bars = bars.drop(index=[idx[50], *idx[100:103]])
    rep = audit_bars(bars, _spec())  # auto: daily weekday bars -> business calendar
    assert rep.calendar == "business"
    gap = rep.of("gap")
    assert gap[["start", "end", "n_bars", "severity"]].values.tolist() == [
        [idx[50], idx[50], 1, "info"],  # one weekday: most likely a holiday
        [idx[100], idx[102], 3, "warning"],
    ]


def test_session_calendar_ignores_nights_and_weekends() -> None:
    days = pd.bdate_range("2024-03-04", periods=10, tz="UTC")
    times = [
        d + pd.Timedelta(hours=14, minutes=30) + pd.Timedelta(minutes=m)
        for d in days
        for m in range(390)
    ]
    index = pd.DatetimeIndex(times, name="time")
    bars = make_bars(len(index), seed=24)
    bars.index = index
    missing = index[395:400]  # 5 minutes on the second day
    rep = audit_bars(bars.drop(index=missing), _spec())
    assert rep.calendar == "session"
    gap = rep.of("gap")
    assert gap[["start", "end", "n_bars"]].values.tolist() == [[missing[0], missing[-1], 5]]


def test_label_imbalance_at_each_horizon() -> None:
    up = make_bars(2000, freq="B", seed=25, drift=0.004, vol=0.01)
    rep = audit_bars(up, _spec(imbalance_threshold=0.05), horizons=(1, 5), train_stop=1400)
    bal = rep.label_balance
    lc = np.log(up["close"].to_numpy()[:1400])
    assert bal.at[1, "share_up_train"] == pytest.approx(((lc[1:] - lc[:-1]) > 0).mean())
    assert bal["imbalanced"].all() and (bal["share_up_train"] > 0.6).all()
    assert set(rep.of("label_imbalance")["value"].round(6)) == set(bal["share_up_train"].round(6))


def test_distribution_shift_between_train_and_later_data() -> None:
    bars = make_bars(3000, freq="B", seed=26, vol=0.01)
    later = make_bars(3000, freq="B", seed=27, vol=0.03)
    # same index, the last 900 bars three times as volatile (chained to keep prices continuous)
    ratio = bars["close"].iloc[2099] / later["close"].iloc[2099]
    tail = later.iloc[2100:].copy()
    tail[["open", "high", "low", "close"]] *= ratio
    mixed = pd.concat([bars.iloc[:2100], tail])
    rep = audit_bars(mixed, _spec(), train_stop=2100)
    assert rep.shift.attrs["comparison"] == "train vs later"
    assert rep.shift.at["abs_returns", "shifted"]
    assert rep.shift.at["abs_returns", "pvalue"] < 1e-10
    found = rep.of("distribution_shift")
    assert any(d.startswith("abs_returns") for d in found["detail"])
    calm = audit_bars(bars, _spec(), train_stop=2100)
    assert not calm.shift.at["abs_returns", "shifted"]


def test_infer_frequency() -> None:
    idx = pd.date_range("2024-01-01", periods=10, freq="5min", tz="UTC")
    assert bar_interval(idx) == pd.Timedelta(minutes=5)
    assert bar_interval(idx.delete([3, 4, 5])) == pd.Timedelta(minutes=5)
    assert bar_interval(idx, "1h") == pd.Timedelta(hours=1)


def test_weekly_closures_are_info_and_a_real_gap_a_warning() -> None:
    """FX-like hourly bars: closed from Friday 22:00 to Sunday 22:00 every week (weekend bars
    exist, so the calendar is continuous), plus one real hole on a Wednesday."""
    full = pd.date_range("2024-01-01", "2024-03-01", freq="h", tz="UTC", inclusive="left")
    dow, hour = full.dayofweek, full.hour
    closed = ((dow == 4) & (hour >= 22)) | (dow == 5) | ((dow == 6) & (hour < 22))
    index = full[~closed]
    hole = index[(index >= "2024-01-17 10:00") & (index < "2024-01-17 15:00")]
    bars = make_bars(len(index), seed=28)
    bars.index = index.rename("time")
    rep = audit_bars(bars.drop(index=hole), _spec())
    assert rep.calendar == "continuous"
    gap = rep.of("gap")
    weekly = gap[gap["severity"] == "info"]
    assert len(weekly) == 8 and (weekly["n_bars"] == 48).all()
    assert (weekly["start"].dt.dayofweek == 4).all() and "recurring" in weekly["detail"].iloc[0]
    real = gap[gap["severity"] == "warning"]
    assert real[["start", "end", "n_bars"]].values.tolist() == [[hole[0], hole[-1], 5]]
