"""The lookahead check catches leaky position functions and passes causal ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest.lookahead import check_lookahead, cut_points, truncate_bars
from data_loaders.errors import DataTooShortError, DataValidationError, ParameterError


def sma_cross(bars: pd.DataFrame, fast: int = 10, slow: int = 30) -> pd.Series:
    close = bars["close"]
    pos = (close.rolling(fast).mean() > close.rolling(slow).mean()).astype(float)
    pos.iloc[: slow - 1] = 0.0
    return pos


def peeks_next_close(bars: pd.DataFrame) -> pd.Series:
    """Long when tomorrow's close is higher: the textbook leak."""
    close = bars["close"]
    return (close.shift(-1) > close).astype(float)


def full_sample_zscore(bars: pd.DataFrame) -> pd.Series:
    """Normalises by the mean/std of the whole sample: a subtle leak through statistics."""
    close = bars["close"]
    return np.sign((close - close.mean()) / close.std()).rename("position")


def test_causal_strategy_passes(daily_bars: pd.DataFrame) -> None:
    report = check_lookahead(sma_cross, daily_bars, n_cuts=15)
    assert report.ok and report.first_bad_bar is None and report.cut is None
    assert report.n_cuts_checked == 15
    assert report.message.startswith("no lookahead: positions on 15 truncated copies")


def test_next_close_leak_caught_at_its_first_bad_bar(daily_bars: pd.DataFrame) -> None:
    n = len(daily_bars)
    report = check_lookahead(peeks_next_close, daily_bars, n_cuts=20)
    assert not report.ok
    # independent expectation: cutting after bar c-1 turns its position to 0 (no next close);
    # it changes exactly when the full-data position there was 1
    full = peeks_next_close(daily_bars).to_numpy()
    cuts = np.unique(np.r_[np.linspace(n // 10, n - 1, 20).round().astype(int), n - 1])
    changed = [c for c in cuts if full[c - 1] == 1.0]
    first_cut = changed[0]
    assert report.bad_position == first_cut - 1
    assert report.first_bad_bar == daily_bars.index[first_cut - 1]
    assert report.cut == daily_bars.index[first_cut - 1] and report.cut_bars == first_cut
    assert (report.full_value, report.cut_value) == (1.0, 0.0)
    assert report.message.startswith(f"lookahead at bar {daily_bars.index[first_cut - 1]}")
    assert "1.0 with the full data but 0.0 when the data ends at" in report.message


def test_full_sample_statistics_leak_caught(daily_bars: pd.DataFrame) -> None:
    report = check_lookahead(full_sample_zscore, daily_bars)
    assert not report.ok
    assert report.bad_position < report.cut_bars


def test_centered_window_leak_caught(daily_bars: pd.DataFrame) -> None:
    def centered(bars: pd.DataFrame) -> pd.Series:
        smooth = bars["close"].rolling(9, center=True, min_periods=1).mean()
        return (bars["close"] > smooth).astype(float)

    report = check_lookahead(centered, daily_bars, n_cuts=10)
    assert not report.ok and report.cut_bars - report.bad_position <= 4  # reads 4 bars ahead


def test_multi_asset_dict_reports_the_symbol(stock_bars: dict[str, pd.DataFrame]) -> None:
    def clean(bars: dict[str, pd.DataFrame]) -> pd.DataFrame:
        return pd.DataFrame({s: sma_cross(b, 5, 20) for s, b in bars.items()})

    def leaky_on_bbb(bars: dict[str, pd.DataFrame]) -> pd.DataFrame:
        out = clean(bars)
        out["BBB"] = peeks_next_close(bars["BBB"])
        return out

    assert check_lookahead(clean, stock_bars, n_cuts=8).ok
    report = check_lookahead(leaky_on_bbb, stock_bars, n_cuts=8)
    assert not report.ok and report.column == "BBB"
    assert "[BBB]" in report.message


def test_series_bars_and_array_output(daily_bars: pd.DataFrame) -> None:
    close = daily_bars["close"]
    report = check_lookahead(lambda c: (c.diff() > 0).to_numpy(float), close, n_cuts=5)
    assert report.ok


def test_non_deterministic_function_is_reported(daily_bars: pd.DataFrame) -> None:
    rng = np.random.default_rng(0)
    report = check_lookahead(lambda b: rng.normal(size=len(b)), daily_bars)
    assert not report.ok and report.n_cuts_checked == 0
    assert report.message.startswith("not deterministic: two runs on the same data differ first")


def test_wrong_length_and_bad_arguments(daily_bars: pd.DataFrame) -> None:
    with pytest.raises(
        DataValidationError, match=r"returned positions of shape \(499,\) for 500 bars"
    ):
        check_lookahead(lambda b: np.zeros(499), daily_bars)
    with pytest.raises(DataTooShortError, match="more than min_bars=500 bars to cut, data has 500"):
        check_lookahead(sma_cross, daily_bars, min_bars=500)
    with pytest.raises(ParameterError, match="`n_cuts` must be an int >= 1, got 0"):
        check_lookahead(sma_cross, daily_bars, n_cuts=0)


def test_cut_points_and_truncation(stock_bars: dict[str, pd.DataFrame]) -> None:
    cuts = cut_points(100, 5, 10)
    assert list(cuts) == [10, 32, 54, 77, 99]
    assert list(cut_points(12, 50, 10)) == [10, 11]
    part = truncate_bars(stock_bars, 30)
    assert all(len(frame) == 30 for frame in part.values())
    assert part["AAA"].index[-1] == stock_bars["AAA"].index[29]
