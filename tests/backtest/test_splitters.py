"""Walk-forward and CPCV splitters: exact boundaries, calendar sizes, gaps, errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from backtest.splitters import CombinatorialPurged, Fold, WalkForward, parse_size
from data_loaders.errors import DataTooShortError, ParameterError


def _bounds(folds: list[Fold]) -> list[tuple[int, int, int, int]]:
    return [(f.train.start, f.train.stop, f.test.start, f.test.stop) for f in folds]


def test_rolling_exact_boundaries_with_purge_and_embargo() -> None:
    folds = WalkForward(train=10, test=5, purge=2, embargo=1).split(40)
    # test starts at train + purge = 12; step defaults to test + embargo = 6; the 5th fold
    # (test 36..41) would run past the 40 bars
    assert _bounds(folds) == [(0, 10, 12, 17), (6, 16, 18, 23), (12, 22, 24, 29), (18, 28, 30, 35)]
    assert [f.number for f in folds] == [0, 1, 2, 3]
    assert folds[1].train_range == range(6, 16) and folds[1].test_range == range(18, 23)
    assert (folds[0].n_train, folds[0].n_test) == (10, 5)


def test_labels_are_first_and_last_bar_of_each_window(daily_bars: pd.DataFrame) -> None:
    folds = WalkForward(train=100, test=50).split(daily_bars.index)
    idx = daily_bars.index
    for f in folds:
        assert f.train_start == idx[f.train.start] and f.train_end == idx[f.train.stop - 1]
        assert f.test_start == idx[f.test.start] and f.test_end == idx[f.test.stop - 1]
        assert len(daily_bars.iloc[f.test]) == 50
    assert _bounds(folds)[:2] == [(0, 100, 100, 150), (50, 150, 150, 200)]
    assert len(folds) == 8  # tests 100..500 in steps of 50


# (splitter options, bars, expected (train start, train stop, test start, test stop) per fold)
EXACT_BOUNDS = {
    "anchored train grows from the first bar": (
        {"train": 20, "test": 10, "anchored": True, "purge": 1},
        75,
        [(0, 20, 21, 31), (0, 30, 31, 41), (0, 40, 41, 51), (0, 50, 51, 61), (0, 60, 61, 71)],
    ),
    "min_train starts anchored, then rolls": (
        {"train": 30, "test": 10, "min_train": 10},
        70,
        [
            (0, 10, 10, 20),
            (0, 20, 20, 30),
            (0, 30, 30, 40),
            (10, 40, 40, 50),
            (20, 50, 50, 60),
            (30, 60, 60, 70),
        ],
    ),
    "explicit step, overlapping tests": (
        {"train": 10, "test": 6, "step": 3},
        25,
        [(0, 10, 10, 16), (3, 13, 13, 19), (6, 16, 16, 22), (9, 19, 19, 25)],
    ),
}


@pytest.mark.parametrize(("kwargs", "n", "expected"), EXACT_BOUNDS.values(), ids=EXACT_BOUNDS)
def test_exact_boundaries(kwargs: dict, n: int, expected: list) -> None:
    assert _bounds(WalkForward(**kwargs).split(n)) == expected


@pytest.mark.parametrize(
    ("kwargs", "n"),
    [
        ({"train": 50, "test": 20, "purge": 3, "embargo": 4}, 400),
        ({"train": 50, "test": 20, "anchored": True, "purge": 5}, 400),
        ({"train": "1Y", "test": "3M", "purge": 2, "embargo": 5}, 1000),
        ({"train": "6M", "test": "2W", "step": "1M", "embargo": 2}, 1000),
    ],
)
def test_gaps_no_overlap_never_shuffled(bars_factory, kwargs: dict, n: int) -> None:
    idx = bars_factory(n, freq="B").index
    folds = WalkForward(**kwargs).split(idx)
    purge, embargo = kwargs.get("purge", 0), kwargs.get("embargo", 0)
    assert len(folds) >= 2
    for f in folds:
        assert 0 <= f.train.start < f.train.stop <= f.test.start < f.test.stop <= n
        assert f.test.start - f.train.stop == purge  # exactly the purged bars
        if kwargs.get("anchored"):
            assert f.train.start == 0
    for a, b in zip(folds, folds[1:]):
        assert b.test.start - a.test.stop >= embargo  # test windows apart by the embargo
        assert b.test.start > a.test.start and b.train.stop > a.train.stop  # time moves forward


def test_calendar_sizes_on_business_days() -> None:
    idx = pd.bdate_range("2020-01-01", "2023-12-31", tz="UTC", name="time")
    folds = WalkForward(train="1Y", test="6M").split(idx)
    dates = idx.tz_convert(None)
    assert len(folds) == 6
    for k, f in enumerate(folds):
        t0 = pd.Timestamp("2021-01-01") + pd.DateOffset(months=6 * k)
        expected_test = np.flatnonzero((dates >= t0) & (dates < t0 + pd.DateOffset(months=6)))
        assert list(f.test_range) == list(expected_test)
        last_train = dates[f.train.stop - 1]
        expected_train = np.flatnonzero(
            (dates > last_train - pd.DateOffset(years=1)) & (dates < t0)
        )
        assert list(f.train_range) == list(expected_train)
    assert folds[0].train.start == 0 and folds[0].test_start == pd.Timestamp("2021-01-01", tz="UTC")
    # the last window ends on Friday 2023-12-29: complete (no bar could follow before 2024-01-01)
    assert folds[-1].test_end == pd.Timestamp("2023-12-29", tz="UTC")
    # pandas' anchored spellings are plain durations here
    assert _bounds(WalkForward(train="1YE", test="6ME").split(idx)) == _bounds(folds)


def test_calendar_embargo_clips_the_start_of_the_next_window() -> None:
    idx = pd.bdate_range("2020-01-01", "2022-12-31", tz="UTC")
    plain = WalkForward(train="1Y", test="6M").split(idx)
    embargoed = WalkForward(train="1Y", test="6M", embargo=3).split(idx)
    assert len(plain) == len(embargoed) == 4
    assert _bounds(embargoed)[0] == _bounds(plain)[0]
    for p, e in zip(plain[1:], embargoed[1:]):
        assert e.test.start == p.test.start + 3 and e.test.stop == p.test.stop
        assert e.train.stop == e.test.start


def test_too_short_errors_give_the_numbers(bars_factory) -> None:
    with pytest.raises(DataTooShortError) as err:
        WalkForward(train=252, test=63, purge=5).split(300)
    assert str(err.value) == (
        "walk-forward needs at least 320 bars for one fold (train=252 + purge=5 + test=63), "
        "but the data has 300 bars"
    )
    idx = bars_factory(300, freq="B", start="2020-01-01").index
    with pytest.raises(
        DataTooShortError,
        match=r"train='3Y' \+ purge=0 bars \+ test='6M'.*"
        r"300 bars \(2020-01-01 00:00:00\+00:00 \.\. 2021-02-23",
    ):
        WalkForward(train="3Y", test="6M").split(idx)
    with pytest.raises(DataTooShortError, match="but the data has 0 bars"):
        WalkForward(train=5, test=5).split(0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"train": "3X", "test": 10},
            r"`train` must be a number of bars \(int\) or a duration "
            r"like '3Y', '6M', '180D', '2W', '12h', '30min', got '3X'",
        ),
        ({"train": 10, "test": 0}, r"`test` must be a positive number of bars, got 0"),
        ({"train": 10, "test": 2.5}, r"`test` must be a number of bars .* got 2.5"),
        (
            {"train": 10, "test": 5, "purge": -1},
            r"`purge` must be a number of bars >= 0 \(int\), got -1",
        ),
        (
            {"train": 10, "test": 5, "step": 5, "embargo": 2},
            r"`step` must be >= test \+ embargo = 7",
        ),
        (
            {"train": 10, "test": 5, "min_train": 20},
            r"`min_train` must be <= `train`, got min_train=20",
        ),
        (
            {"train": "1Y", "test": 5},
            r"calendar size `train`=<DateOffset: years=1> needs a DatetimeIndex",
        ),
    ],
)
def test_bad_arguments_name_the_argument(kwargs: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        WalkForward(**kwargs).split(500)


def test_parse_size_forms() -> None:
    assert parse_size(252, "train") == 252 and parse_size("252", "train") == 252
    assert parse_size("3Y", "x") == pd.DateOffset(years=3) == parse_size("3YE", "x")
    assert parse_size("6M", "x") == pd.DateOffset(months=6) == parse_size("6MS", "x")
    assert parse_size("2Q", "x") == pd.DateOffset(months=6)
    assert parse_size("180D", "x") == pd.Timedelta(days=180)
    assert parse_size("2W", "x") == pd.Timedelta(weeks=2)
    assert parse_size("12h", "x") == pd.Timedelta(hours=12)
    assert parse_size("30min", "x") == pd.Timedelta(minutes=30)
    assert parse_size("5B", "x") == pd.offsets.BDay(5)
    assert parse_size(pd.Timedelta("3D"), "x") == pd.Timedelta(days=3)
    with pytest.raises(ParameterError, match="`test` must be a positive duration"):
        parse_size(pd.Timedelta(0), "test")


def test_split_accepts_bars_dicts_and_counts(daily_bars: pd.DataFrame) -> None:
    wf = WalkForward(train=200, test=100)
    expected = _bounds(wf.split(daily_bars.index))
    assert _bounds(wf.split(daily_bars)) == expected
    assert _bounds(wf.split({"A": daily_bars})) == expected
    assert _bounds(wf.split(len(daily_bars))) == expected
    assert wf.get_n_splits(daily_bars) == 3


# --- CPCV ------------------------------------------------------------------------------------------
def test_cpcv_counts_paths_and_purging() -> None:
    cv = CombinatorialPurged(n_groups=6, n_test_groups=2, purge=2, embargo=3)
    splits = cv.split(60)
    assert cv.n_splits == len(splits) == 15 and cv.n_paths == 5
    groups = cv.groups(60)
    assert [(g.start, g.stop) for g in groups] == [(i * 10, i * 10 + 10) for i in range(6)]
    for s in splits:
        assert not set(s.train) & set(s.test)
        assert np.all(np.diff(s.train) > 0) and np.all(np.diff(s.test) > 0)
        expected_test = np.concatenate([np.arange(g * 10, g * 10 + 10) for g in s.test_groups])
        np.testing.assert_array_equal(s.test, expected_test)
    # test groups (1, 3): blocks 10..20 and 30..40; purge 2 before, embargo 3 after each
    s = next(s for s in splits if s.test_groups == (1, 3))
    dropped = sorted(set(range(60)) - set(s.train) - set(s.test))
    assert dropped == [8, 9, 20, 21, 22, 28, 29, 40, 41, 42]
    # adjacent groups form one block: no purge between them
    s = next(s for s in splits if s.test_groups == (2, 3))
    assert sorted(set(range(60)) - set(s.train) - set(s.test)) == [18, 19, 40, 41, 42]


def test_cpcv_paths_cover_every_group_once() -> None:
    cv = CombinatorialPurged(n_groups=6, n_test_groups=2)
    paths = cv.paths()
    splits = cv.split(60)
    assert paths.shape == (math.comb(5, 1), 6)
    for path in paths:
        for g, number in enumerate(path):
            assert g in splits[number].test_groups
    # every (split, group) test prediction is used exactly once over all paths
    used = sorted((int(n), g) for path in paths for g, n in enumerate(path))
    assert used == sorted((s.number, g) for s in splits for g in s.test_groups)


def test_cpcv_errors() -> None:
    with pytest.raises(
        ParameterError, match=r"`n_test_groups` must be an int in \[1, n_groups\), got 6"
    ):
        CombinatorialPurged(n_groups=6, n_test_groups=6).split(100)
    with pytest.raises(DataTooShortError, match="CPCV needs at least n_groups=6 bars"):
        CombinatorialPurged(n_groups=6).split(4)
    with pytest.raises(DataTooShortError, match=r"no train bars left after purge=5 and embargo=5"):
        CombinatorialPurged(n_groups=3, n_test_groups=2, purge=5, embargo=5).split(12)
