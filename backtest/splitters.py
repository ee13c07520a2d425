"""Time-series splitters that never shuffle: walk-forward and combinatorial purged CV.

:class:`WalkForward` cuts a bar index into consecutive (train, test) folds, each train window
strictly before its test window::

    rolling  (anchored=False)  |--- train ---|purge|-- test --|
                                     |--- train ---|purge|-- test --|
    anchored (anchored=True)   |--- train ---|purge|-- test --|
                               |-------- train -------|purge|-- test --|

Sizes (``train``, ``test``, ``step``, ``min_train``) are a number of bars (``int``) or a calendar
duration: a string such as ``"3Y"``, ``"6M"``, ``"180D"``, ``"2W"``, ``"12h"``, ``"30min"`` or a
pandas ``DateOffset`` / ``Timedelta``. Year/quarter/month units are calendar durations, so
pandas' anchored spellings ``"3YE"``/``"3YS"``/``"6ME"``/``"6MS"`` mean the same as ``"3Y"``/``"6M"``
here (a window is never snapped to a month or year end). Calendar sizes need a
``DatetimeIndex``. ``purge`` and ``embargo`` are numbers of bars.

* **purge**: bars dropped from the end of each train window, just before its test window (the
  labels/positions of those bars can reach into the test window).
* **embargo**: bars left unused between one test window and the next, so that consecutive
  out-of-sample windows are at least ``embargo`` bars apart. (In Lopez de Prado's k-fold setting
  the embargo removes *train* bars that follow a test window; in walk-forward no train bar of a
  fold follows its own test window, so the gap is placed between test windows instead.) With
  bar sizes the default ``step`` is ``test + embargo``; with a calendar step the test windows stay
  on the calendar grid and each one after the first starts at least ``embargo`` bars after the
  previous one ended.

:class:`CombinatorialPurged` is combinatorial purged cross-validation (CPCV, Lopez de Prado,
*Advances in Financial Machine Learning*, ch. 12): ``n_groups`` contiguous groups, every choice of
``n_test_groups`` of them is a test set, train is the rest minus ``purge`` bars before and
``embargo`` bars after each test block; :meth:`CombinatorialPurged.paths` assembles the
``C(n_groups - 1, n_test_groups - 1)`` backtest paths.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from data_loaders.bars import bars_index
from data_loaders.errors import DataTooShortError, ParameterError

__all__ = ["Fold", "WalkForward", "CPCVSplit", "CombinatorialPurged", "parse_size"]

Size = int | pd.DateOffset | pd.Timedelta

_UNITS: dict[str, str] = {
    **dict.fromkeys(("y", "ye", "ys", "a", "year", "years"), "years"),
    **dict.fromkeys(("q", "qe", "qs", "quarter", "quarters"), "quarters"),
    **dict.fromkeys(("m", "me", "ms", "mo", "month", "months"), "months"),
    **dict.fromkeys(("w", "week", "weeks"), "weeks"),
    **dict.fromkeys(("d", "day", "days"), "days"),
    **dict.fromkeys(("b", "bd", "bday", "bdays"), "bdays"),
    **dict.fromkeys(("h", "hour", "hours"), "hours"),
    **dict.fromkeys(("min", "t", "minute", "minutes"), "minutes"),
    **dict.fromkeys(("s", "sec", "second", "seconds"), "seconds"),
}
_SIZE_RE = re.compile(r"^\s*(\d+)\s*([A-Za-z]*)\s*$")
_SIZE_HELP = "a number of bars (int) or a duration like '3Y', '6M', '180D', '2W', '12h', '30min'"


def parse_size(value: Any, name: str) -> Size:
    """Parse a window size: ``int`` bars, or a calendar ``DateOffset`` / ``Timedelta``.

    Args:
        value: ``int`` (> 0), a digit string (bars), a duration string (see module docstring),
            a ``pd.DateOffset``, ``pd.Timedelta`` or ``datetime.timedelta``.
        name: the argument name, used in error messages.

    Raises:
        ParameterError: naming the argument, the accepted forms and the value received.
    """
    bad = ParameterError(f"`{name}` must be {_SIZE_HELP}, got {value!r}")
    if isinstance(value, bool):
        raise bad
    if isinstance(value, int | np.integer):
        if value <= 0:
            raise ParameterError(f"`{name}` must be a positive number of bars, got {value!r}")
        return int(value)
    if isinstance(value, dt.timedelta):  # includes pd.Timedelta
        td = pd.Timedelta(value)
        if td <= pd.Timedelta(0):
            raise ParameterError(f"`{name}` must be a positive duration, got {value!r}")
        return td
    if isinstance(value, pd.DateOffset):
        return value
    if not isinstance(value, str):
        raise bad
    match = _SIZE_RE.match(value)
    if not match:
        raise bad
    count, unit = int(match.group(1)), match.group(2).lower()
    if count <= 0:
        raise ParameterError(f"`{name}` must be positive, got {value!r}")
    if unit == "":
        return count
    kind = _UNITS.get(unit)
    if kind is None:
        raise bad
    if kind == "years":
        return pd.DateOffset(years=count)
    if kind == "quarters":
        return pd.DateOffset(months=3 * count)
    if kind == "months":
        return pd.DateOffset(months=count)
    if kind == "bdays":
        return pd.offsets.BDay(count)
    return pd.Timedelta(**{kind: count})


def _gap(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ParameterError(f"`{name}` must be a number of bars >= 0 (int), got {value!r}")
    return int(value)


def _as_index(data: Any) -> pd.Index:
    if isinstance(data, pd.Index):
        return data
    if isinstance(data, pd.DataFrame | pd.Series):
        return data.index
    if isinstance(data, Mapping) and data:  # several symbols: the union of their calendars
        return bars_index({k: pd.DataFrame(index=_as_index(v)) for k, v in data.items()})
    if isinstance(data, int | np.integer) and not isinstance(data, bool) and data >= 0:
        return pd.RangeIndex(int(data))
    raise ParameterError(
        f"split() needs a pandas Index, bars (DataFrame/Series/dict of them) or a bar count, "
        f"got {type(data).__name__}"
    )


@dataclass(frozen=True)
class Fold:
    """One walk-forward fold; positions are 0-based integer positions into the index.

    Attributes:
        number: 0-based fold number.
        train, test: position slices (``bars.iloc[fold.train]``); ``step`` is always ``None``.
        train_start, train_end, test_start, test_end: index labels (timestamps) of the first and
            the **last** bar of each window (inclusive).
    """

    number: int
    train: slice
    test: slice
    train_start: Any
    train_end: Any
    test_start: Any
    test_end: Any

    @property
    def train_range(self) -> range:
        """Train positions as a ``range``."""
        return range(self.train.start, self.train.stop)

    @property
    def test_range(self) -> range:
        """Test positions as a ``range``."""
        return range(self.test.start, self.test.stop)

    @property
    def n_train(self) -> int:
        return self.train.stop - self.train.start

    @property
    def n_test(self) -> int:
        return self.test.stop - self.test.start


class _Timeline:
    """Positions on an index of bars: by timestamp (a DatetimeIndex) or by count."""

    def __init__(self, idx: pd.Index) -> None:
        self.idx, self.n = idx, len(idx)
        is_dt = isinstance(idx, pd.DatetimeIndex)
        # epoch nanoseconds (UTC if tz-aware)
        self.values = idx.as_unit("ns").asi8 if is_dt else None
        gap = int(np.diff(self.values).max()) if is_dt and self.n > 1 else None
        self.max_gap = None if gap is None else pd.Timedelta(gap, unit="ns")

    def pos_of(self, time: pd.Timestamp) -> int:
        """First position whose timestamp is >= ``time``."""
        return int(np.searchsorted(self.values, pd.Timestamp(time).value, side="left"))

    def pos_after(self, time: pd.Timestamp) -> int:
        """First position whose timestamp is > ``time``."""
        return int(np.searchsorted(self.values, pd.Timestamp(time).value, side="right"))

    def window_end(self, start: int, start_time: Any, size: Size) -> tuple[int, bool]:
        """Exclusive end of a window starting at ``start``; and whether the data covers it."""
        n = self.n
        if isinstance(size, int):
            end = start + size
            return min(end, n), end <= n
        end_time = start_time + size
        complete = n > 0 and self.max_gap is not None and end_time <= self.idx[-1] + self.max_gap
        return self.pos_of(end_time), complete


class WalkForward:
    """Rolling or anchored walk-forward splits with purge and embargo gaps (see module docstring).

    Args:
        train: train window size (bars or calendar duration). For ``anchored=True`` the size of
            the first train window, which then grows.
        test: test window size.
        step: distance between consecutive test-window starts; default ``test + embargo`` (bars)
            or ``test`` (calendar).
        anchored: expanding train windows that all start at the first bar.
        purge: bars dropped between each train window and its test window.
        embargo: minimum number of unused bars between consecutive test windows.
        min_train: size of the first train window when smaller than ``train``; the first folds
            then use all the data available (anchored) until their train window reaches
            ``train`` and starts rolling. Default: ``train``.

    Example::

        >>> folds = WalkForward(train="3Y", test="6M", purge=5).split(bars.index)
        >>> for fold in folds:
        ...     fit(bars.iloc[fold.train]); evaluate(bars.iloc[fold.test])
    """

    def __init__(
        self,
        train: Any,
        test: Any,
        step: Any = None,
        anchored: bool = False,
        purge: int = 0,
        embargo: int = 0,
        min_train: Any = None,
    ) -> None:
        self.train = train
        self.test = test
        self.step = step
        self.anchored = anchored
        self.purge = purge
        self.embargo = embargo
        self.min_train = min_train

    def __repr__(self) -> str:
        args = ", ".join(
            f"{k}={getattr(self, k)!r}"
            for k in ("train", "test", "step", "anchored", "purge", "embargo", "min_train")
        )
        return f"WalkForward({args})"

    def _sizes(self) -> tuple[Size, Size, Size, int, int, Size]:
        train = parse_size(self.train, "train")
        test = parse_size(self.test, "test")
        purge = _gap(self.purge, "purge")
        embargo = _gap(self.embargo, "embargo")
        if self.step is None:
            step: Size = test + embargo if isinstance(test, int) else test
        else:
            step = parse_size(self.step, "step")
        if (
            embargo > 0
            and isinstance(step, int)
            and isinstance(test, int)
            and step < test + embargo
        ):
            raise ParameterError(
                f"`step` must be >= test + embargo = {test + embargo} bars so that test windows "
                f"stay {embargo} bars apart, got step={step}"
            )
        min_train = train if self.min_train is None else parse_size(self.min_train, "min_train")
        if isinstance(train, int) and isinstance(min_train, int) and min_train > train:
            raise ParameterError(
                f"`min_train` must be <= `train`, got min_train={min_train}, train={train}"
            )
        return train, test, step, purge, embargo, min_train

    def split(self, index: Any) -> list[Fold]:
        """The folds over ``index`` (a pandas Index, bars, a dict of bars, or a bar count).

        Raises:
            ParameterError: bad sizes, or calendar sizes on an index without timestamps.
            DataTooShortError: the data cannot hold a single fold (the message gives the numbers).
        """
        idx = _as_index(index)
        train, test, step, purge, embargo, min_train = self._sizes()
        sizes = {"train": train, "test": test, "step": step, "min_train": min_train}
        calendar = [k for k, v in sizes.items() if not isinstance(v, int)]
        is_dt = isinstance(idx, pd.DatetimeIndex)
        if calendar and not is_dt:
            raise ParameterError(
                f"calendar size `{calendar[0]}`={sizes[calendar[0]]!r} needs a DatetimeIndex, "
                f"got {type(idx).__name__}; give sizes in bars instead"
            )
        n = len(idx)
        if is_dt and n > 1 and not idx.is_monotonic_increasing:
            raise ParameterError("split() needs an increasing DatetimeIndex (sort the bars first)")
        line = _Timeline(idx)
        pos_of, pos_after, window_end = line.pos_of, line.pos_after, line.window_end

        # first fold: the first train window starts at bar 0
        if n == 0:
            raise self._too_short(idx, train, test, purge, min_train)
        train_end0, train_ok = window_end(0, idx[0], min_train)
        start0 = train_end0 + purge
        if not train_ok or start0 >= n:
            raise self._too_short(idx, train, test, purge, min_train)
        t0 = idx[start0]

        folds: list[Fold] = []
        prev_test_end = -1
        for k in itertools.count():
            if isinstance(step, int):
                nominal = start0 + k * step
                if nominal >= n:
                    break
                nominal_time = idx[nominal]
            else:
                nominal_time = t0 + k * step
                nominal = pos_of(nominal_time)
                if nominal >= n:
                    break
            test_end, complete = window_end(nominal, nominal_time, test)
            if not complete:
                break
            test_start = nominal
            if k > 0 and embargo > 0:
                test_start = max(test_start, prev_test_end + embargo)
            if test_start >= test_end:
                raise ParameterError(
                    f"`step`={self.step!r} leaves no test bars in fold {k} after the "
                    f"embargo={embargo}; use a longer step"
                )
            train_end = test_start - purge
            if self.anchored:
                train_start = 0
            elif isinstance(train, int):
                train_start = max(0, train_end - train)
            else:
                # the bars of the last `train` duration up to the last train bar
                train_start = pos_after(idx[train_end - 1] - train)
            if train_end <= train_start:
                raise self._too_short(idx, train, test, purge, min_train)
            folds.append(
                Fold(
                    number=k,
                    train=slice(train_start, train_end),
                    test=slice(test_start, test_end),
                    train_start=idx[train_start],
                    train_end=idx[train_end - 1],
                    test_start=idx[test_start],
                    test_end=idx[test_end - 1],
                )
            )
            prev_test_end = test_end
        if not folds:
            raise self._too_short(idx, train, test, purge, min_train)
        return folds

    def get_n_splits(self, index: Any) -> int:
        """Number of folds over ``index``."""
        return len(self.split(index))

    def _too_short(
        self, idx: pd.Index, train: Size, test: Size, purge: int, min_train: Size
    ) -> DataTooShortError:
        n = len(idx)
        if isinstance(min_train, int) and isinstance(test, int):
            need = min_train + purge + test
            return DataTooShortError(
                f"walk-forward needs at least {need} bars for one fold "
                f"(train={min_train} + purge={purge} + test={test}), but the data has {n} bars"
            )
        first = self.train if self.min_train is None else self.min_train
        span = f" ({idx[0]} .. {idx[-1]})" if n else ""
        return DataTooShortError(
            f"walk-forward cannot fit one fold of train={first!r} + purge={purge} bars + "
            f"test={self.test!r} in the data: {n} bars{span}; use shorter windows or more data"
        )


@dataclass(frozen=True)
class CPCVSplit:
    """One combinatorial split: sorted integer positions and the test groups it holds out."""

    number: int
    train: np.ndarray
    test: np.ndarray
    test_groups: tuple[int, ...]


class CombinatorialPurged:
    """Combinatorial purged cross-validation (CPCV) over contiguous groups, never shuffled.

    Args:
        n_groups: number of contiguous groups ``N`` the bars are cut into (``np.array_split``
            sizes: the first ``n % N`` groups get one bar more).
        n_test_groups: groups per test set ``k``; there are ``C(N, k)`` splits and
            ``C(N - 1, k - 1)`` backtest paths.
        purge: train bars dropped just before each contiguous test block.
        embargo: train bars dropped just after each contiguous test block.
    """

    def __init__(self, n_groups: int = 6, n_test_groups: int = 2, purge: int = 0, embargo: int = 0):
        self.n_groups = n_groups
        self.n_test_groups = n_test_groups
        self.purge = purge
        self.embargo = embargo

    def _check(self) -> tuple[int, int, int, int]:
        n_groups, k = self.n_groups, self.n_test_groups
        if isinstance(n_groups, bool) or not isinstance(n_groups, int | np.integer) or n_groups < 2:
            raise ParameterError(f"`n_groups` must be an int >= 2, got {n_groups!r}")
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k < n_groups:
            raise ParameterError(
                f"`n_test_groups` must be an int in [1, n_groups), got {k!r} with "
                f"n_groups={n_groups}"
            )
        return int(n_groups), int(k), _gap(self.purge, "purge"), _gap(self.embargo, "embargo")

    @property
    def n_splits(self) -> int:
        """``C(n_groups, n_test_groups)``."""
        n_groups, k, _, _ = self._check()
        return math.comb(n_groups, k)

    @property
    def n_paths(self) -> int:
        """``C(n_groups - 1, n_test_groups - 1)``: each group is tested that many times."""
        n_groups, k, _, _ = self._check()
        return math.comb(n_groups - 1, k - 1)

    def groups(self, index: Any) -> list[slice]:
        """The contiguous group slices of ``index`` (positions)."""
        n_groups, _, _, _ = self._check()
        n = len(_as_index(index))
        if n < n_groups:
            raise DataTooShortError(
                f"CPCV needs at least n_groups={n_groups} bars (one per group), data has {n}"
            )
        bounds = np.cumsum([0] + [len(a) for a in np.array_split(np.arange(n), n_groups)])
        return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]

    def split(self, index: Any) -> list[CPCVSplit]:
        """Every split, in ``itertools.combinations`` order of the test groups."""
        n_groups, k, purge, embargo = self._check()
        groups = self.groups(index)
        n = groups[-1].stop
        out = []
        for number, combo in enumerate(itertools.combinations(range(n_groups), k)):
            is_test = np.zeros(n, dtype=bool)
            for g in combo:
                is_test[groups[g]] = True
            keep = ~is_test
            # contiguous test blocks: purge before each block, embargo after it
            edges = np.flatnonzero(np.diff(np.r_[0, is_test.astype(np.int8), 0]))
            for start, stop in zip(edges[::2], edges[1::2]):
                keep[max(0, start - purge) : start] = False
                keep[stop : min(n, stop + embargo)] = False
            train = np.flatnonzero(keep)
            if train.size == 0:
                raise DataTooShortError(
                    f"CPCV split {number} (test groups {combo}) has no train bars left after "
                    f"purge={purge} and embargo={embargo} on {n} bars"
                )
            out.append(CPCVSplit(number, train, np.flatnonzero(is_test), tuple(combo)))
        return out

    def paths(self) -> np.ndarray:
        """Path assembly: ``paths[p, g]`` is the split whose test prediction of group ``g`` is
        used in backtest path ``p``; shape ``(n_paths, n_groups)``.

        Each group is held out by ``n_paths`` splits; path ``p`` takes the ``p``-th of them in
        split order, so every path covers every group exactly once.
        """
        n_groups, k, _, _ = self._check()
        used: list[list[int]] = [[] for _ in range(n_groups)]
        for number, combo in enumerate(itertools.combinations(range(n_groups), k)):
            for g in combo:
                used[g].append(number)
        return np.array(used, dtype=np.int64).T
