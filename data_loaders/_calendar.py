"""Bar frequency and the expected trading calendar, both inferred from the timestamps themselves.

* The **frequency** is the most common positive step between consecutive timestamps.
* The **calendar** says which bar slots of the week are expected. A week holds
  ``7 days / frequency`` slots (10,080 for minute bars, 7 for daily bars); slot ``s`` starts
  at Monday 00:00 UTC + phase + ``s * frequency``. Which slots are expected is decided from the
  data in three steps, so that a few missing bars in a short file do not redefine the market:

  1. *Trading days.* A weekday trades when it holds a bar in at least half of the weeks the
     data reaches it. Trading weeks are contiguous, so the weekdays between trading days trade
     too (a Wednesday missing from both weeks of a two-week Mon-Fri file is a gap, not a
     closed day); the longest run of non-trading days (the weekend) stays closed, and so does
     any other run the data shows closed: reached in at least :data:`MIN_EVIDENCE` weeks and
     traded in fewer than a quarter of them. Weekdays the data never reaches count as trading.
  2. *Session* (intraday bars only). The same rule over the times of day of the trading days:
     the longest run of quiet times (the night) is closed, shorter quiet runs (two missing
     hours in one day of 24/7 bars) are holes in the session unless the data shows them closed
     (a lunch break seen on many days). The week's first and last trading day may open late
     or close early (FX: Sunday 22:00, Friday 21:00 UTC): there the session starts at the
     earliest (ends at the latest) bar seen on that weekday.
  3. *Slots.* Steps 1 and 2 give a prior ``P`` (1 for a trading day's session slot, else 0);
     slot ``s`` is expected when ``present + K * P >= (possible + K) / 2`` with ``possible`` the
     weeks that reach it, ``present`` the weeks holding a bar there and ``K`` =
     :data:`PRIOR_WEEKS`. Long histories decide by their own majority (an FX series' Sunday
     starts at 22:00 UTC, its Friday ends at 21:00); short ones lean on the prior.

  So a 24/7 crypto series expects every slot, a stock series expects Mon-Fri (exchange holidays
  then show up as gaps), and an FX series expects Sunday 22:00 to Friday 21:00 UTC.
* A **gap** is a run of consecutive expected slots with no bar.

The calendar only exists when the frequency divides a week (intraday and daily bars); for
weekly or monthly bars there is no calendar and no gap count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "Calendar",
    "Gap",
    "GapSummary",
    "infer_frequency",
    "frequency_string",
    "infer_calendar",
    "find_gaps",
    "missing_slots",
]

_SECOND = 1_000_000_000
_DAY = 86_400 * _SECOND
_WEEK = 7 * _DAY
_ANCHOR = int(pd.Timestamp("1970-01-05", tz="UTC").value)  # a Monday 00:00 UTC
_MAX_GRID = 50_000_000  # beyond this many grid points the calendar is not built
_DAYNAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

#: weeks (days, for a session) of evidence needed to call a quiet weekday (time) closed
MIN_EVIDENCE = 4
#: weight, in weeks, of the trading-day/session prior against a slot's own record
PRIOR_WEEKS = 2


def _mode(values: np.ndarray) -> int:
    """Most common value of a non-empty int array (ties: the smallest), via sort + run lengths."""
    first = values[0]
    if np.all(values == first):
        return int(first)
    v = np.sort(values)
    starts = np.flatnonzero(np.r_[True, v[1:] != v[:-1]])
    counts = np.diff(np.r_[starts, len(v)])
    return int(v[starts[np.argmax(counts)]])


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """Unique values of an already sorted array."""
    if len(values) == 0:
        return values
    return values[np.r_[True, values[1:] != values[:-1]]]


def infer_frequency(index: pd.DatetimeIndex) -> pd.Timedelta | None:
    """Most common positive step between consecutive timestamps (ties: the smallest); None if < 2."""
    if len(index) < 2:
        return None
    steps = np.diff(index.as_unit("ns").asi8)
    steps = steps[steps > 0]
    if not len(steps):
        return None
    return pd.Timedelta(_mode(steps), unit="ns")


def frequency_string(step: pd.Timedelta | None) -> str | None:
    """Compact pandas-style name of a step: ``1min``, ``5min``, ``1h``, ``1D``, ``1W``, ``1ME``."""
    if step is None:
        return None
    ns = int(step.value)
    if 28 * _DAY <= ns <= 31 * _DAY:
        return "1ME"
    if 89 * _DAY <= ns <= 92 * _DAY:
        return "1QE"
    if 365 * _DAY <= ns <= 366 * _DAY:
        return "1YE"
    for size, name in (
        (_WEEK, "W"),
        (_DAY, "D"),
        (3600 * _SECOND, "h"),
        (60 * _SECOND, "min"),
        (_SECOND, "s"),
        (1_000_000, "ms"),
        (1_000, "us"),
        (1, "ns"),
    ):
        if ns % size == 0:
            return f"{ns // size}{name}"
    return f"{ns}ns"  # pragma: no cover - every int divides by 1


@dataclass(frozen=True)
class Calendar:
    """Expected bar slots of a week (see module docstring).

    Attributes
    ----------
    step_ns : int
        Bar frequency in nanoseconds (divides one week).
    origin_ns : int
        Start of slot 0 of some week (a Monday 00:00 UTC plus the grid phase).
    expected : bool ndarray, shape (n_slots,)
        Whether each slot of the week is expected to hold a bar.
    """

    step_ns: int
    origin_ns: int
    expected: np.ndarray

    @property
    def n_slots(self) -> int:
        return len(self.expected)

    def expects_between(self, after_ns: int, before_ns: int) -> bool:
        """True if some expected slot starts strictly after ``after_ns`` and before ``before_ns``."""
        k0 = int((after_ns - self.origin_ns) // self.step_ns) + 1
        k1 = int(-((self.origin_ns - before_ns) // self.step_ns)) - 1  # ceil(...) - 1
        if k1 < k0:
            return False
        ks = np.arange(k0, min(k1, k0 + self.n_slots) + 1, dtype=np.int64)
        return bool(self.expected[ks % self.n_slots].any())

    def describe(self) -> str:
        """Human summary such as ``Mon-Fri`` or ``24/7``."""
        if self.expected.all():
            return "24/7 (every slot of the week)"
        per_day = self.expected.reshape(7, -1) if self.n_slots % 7 == 0 else None
        days = (
            [d for d in range(7) if per_day[d].any()]
            if per_day is not None
            else sorted({int(s * self.step_ns // _DAY) % 7 for s in np.flatnonzero(self.expected)})
        )
        text = _day_ranges(days)
        if self.step_ns < _DAY:
            text += f", {int(self.expected.sum())} of {self.n_slots} slots a week"
        return text


def _day_ranges(days: list[int]) -> str:
    if not days:
        return "no days"
    # rotate so a range wrapping over Sunday->Monday (e.g. Sun-Fri) reads naturally
    day_set = set(days)
    start = next((d for d in range(7) if d in day_set and (d - 1) % 7 not in day_set), days[0])
    parts, run = [], []
    for i in range(7):
        d = (start + i) % 7
        if d in day_set:
            run.append(d)
        elif run:
            parts.append(run)
            run = []
    if run:
        parts.append(run)
    return ", ".join(
        _DAYNAMES[r[0]] if len(r) == 1 else f"{_DAYNAMES[r[0]]}-{_DAYNAMES[r[-1]]}" for r in parts
    )


def _residue_counts(lo: int, hi: int, n: int) -> np.ndarray:
    """How many integers ``x`` in ``[lo, hi]`` have ``x % n == r``, for ``r = 0 .. n-1``."""
    r = np.arange(n, dtype=np.int64)
    return (hi - r) // n - (lo - 1 - r) // n


def _open_positions(reached: np.ndarray, hits: np.ndarray) -> np.ndarray:
    """Open positions of a cycle (weekdays of a week, times of a day); see the module docstring.

    ``reached[i]`` counts the cycles (weeks, days) whose span covers position ``i`` and
    ``hits[i]`` those holding a bar there.
    """
    n = len(reached)
    active = (reached > 0) & (2 * hits >= reached)
    is_open = active | (reached == 0)
    if active.all() or not active.any():
        return is_open
    # runs of inactive positions, walking the cycle from just after an active one
    shift = int(np.flatnonzero(active)[-1]) + 1
    order = (np.arange(n) + shift) % n
    quiet = ~active[order]
    edges = np.diff(np.r_[0, quiet.astype(np.int8), 0])
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    runs = [order[a:b] for a, b in zip(starts, stops, strict=True)]
    # the longest quiet run (most evidence on ties) is the closed part of the cycle
    closed = max(range(len(runs)), key=lambda i: (len(runs[i]), int(reached[runs[i]].sum())))
    for i, run in enumerate(runs):
        if i == closed:
            continue
        shown_closed = (reached[run] >= MIN_EVIDENCE) & (4 * hits[run] < reached[run])
        is_open[run[~shown_closed]] = True
    return is_open


def infer_calendar(index: pd.DatetimeIndex, step: pd.Timedelta | None = None) -> Calendar | None:
    """Infer the expected weekly slots of ``index`` (UTC, sorted); None when not applicable."""
    step = infer_frequency(index) if step is None else step
    if step is None:
        return None
    step_ns = int(step.value)
    if step_ns <= 0 or _WEEK % step_ns:
        return None
    ns = index.as_unit("ns").asi8
    span = (ns[-1] - ns[0]) // step_ns + 1
    if span > _MAX_GRID:
        return None
    origin = _ANCHOR + _mode((ns - _ANCHOR) % step_ns)
    n_slots = _WEEK // step_ns
    on_grid = (ns - origin) % step_ns == 0
    k = _sorted_unique((ns[on_grid] - origin) // step_ns)
    if not len(k):
        return Calendar(step_ns=step_ns, origin_ns=origin, expected=np.ones(n_slots, dtype=bool))
    k0, k1 = int(k[0]), int(k[-1])
    possible = _residue_counts(k0, k1, n_slots)
    present = np.bincount(k % n_slots, minlength=n_slots)
    if _DAY % step_ns == 0:
        per_day = _DAY // step_ns
        days = _sorted_unique(k // per_day)  # day 0 is a Monday (origin is Monday + phase)
        trading = _open_positions(
            _residue_counts(k0 // per_day, k1 // per_day, 7), np.bincount(days % 7, minlength=7)
        )
        session = _open_positions(
            possible.reshape(7, per_day)[trading].sum(axis=0),
            present.reshape(7, per_day)[trading].sum(axis=0),
        )
        prior = np.outer(trading, session)
        seen = present.reshape(7, per_day) > 0
        times = np.arange(per_day)
        for d in np.flatnonzero(trading & seen.any(axis=1)):
            # the week's first (last) trading day may open late (close early), as FX on Sunday
            # 22:00 (Friday 21:00) UTC: there the prior starts (ends) with the bars seen
            hours = np.flatnonzero(seen[d])
            if not trading[(d - 1) % 7]:
                prior[d] &= times >= hours[0]
            if not trading[(d + 1) % 7]:
                prior[d] &= times <= hours[-1]
        prior = prior.ravel()
    else:  # bars that do not tile a day (e.g. 7h): each slot by its own majority
        prior = (possible == 0) | (2 * present >= possible)
    expected = 2 * (present + PRIOR_WEEKS * prior) >= possible + PRIOR_WEEKS
    return Calendar(step_ns=step_ns, origin_ns=origin, expected=expected)


@dataclass(frozen=True)
class Gap:
    """A run of missing expected bars: first and last missing slot, and how many are missing."""

    start: pd.Timestamp
    end: pd.Timestamp
    missing: int


@dataclass(frozen=True)
class GapSummary:
    """Expected vs present bars over the data's span under its calendar.

    ``starts`` / ``ends`` (int64 ns, UTC) and ``sizes`` describe every run of missing expected
    slots, in time order; :meth:`largest` turns the biggest ones into :class:`Gap` records.
    """

    expected: int
    missing: int
    starts: np.ndarray
    ends: np.ndarray
    sizes: np.ndarray

    @property
    def n_gaps(self) -> int:
        return len(self.sizes)

    def gap(self, i: int) -> Gap:
        """The ``i``-th run in time order."""
        return Gap(
            pd.Timestamp(int(self.starts[i]), tz="UTC"),
            pd.Timestamp(int(self.ends[i]), tz="UTC"),
            int(self.sizes[i]),
        )

    def largest(self, n: int = 5) -> tuple[Gap, ...]:
        """The ``n`` longest runs (ties: earliest first), longest first."""
        order = np.lexsort((np.arange(len(self.sizes)), -self.sizes))[:n]
        return tuple(self.gap(int(i)) for i in order)

    def all(self) -> tuple[Gap, ...]:
        """Every run, in time order."""
        return tuple(self.gap(i) for i in range(self.n_gaps))


_EMPTY = np.empty(0, dtype=np.int64)


def find_gaps(index: pd.DatetimeIndex, calendar: Calendar) -> GapSummary:
    """Runs of expected slots without a bar between the first and the last bar of ``index``."""
    ns = index.as_unit("ns").asi8
    on_grid = (ns - calendar.origin_ns) % calendar.step_ns == 0
    k = (ns[on_grid] - calendar.origin_ns) // calendar.step_ns
    if not len(k):
        return GapSummary(0, 0, _EMPTY, _EMPTY, _EMPTY)
    k_all = np.arange(k[0], k[-1] + 1, dtype=np.int64)
    k_exp = k_all[calendar.expected[k_all % calendar.n_slots]]
    present = np.zeros(len(k_all), dtype=bool)
    present[k - k[0]] = True
    present_exp = present[k_exp - k[0]]
    missing_pos = np.flatnonzero(~present_exp)
    if not len(missing_pos):
        return GapSummary(len(k_exp), 0, _EMPTY, _EMPTY, _EMPTY)
    breaks = np.flatnonzero(np.diff(missing_pos) != 1)
    first = np.r_[missing_pos[0], missing_pos[breaks + 1]]
    last = np.r_[missing_pos[breaks], missing_pos[-1]]
    to_ns = lambda pos: calendar.origin_ns + k_exp[pos] * calendar.step_ns  # noqa: E731
    return GapSummary(
        expected=len(k_exp),
        missing=len(missing_pos),
        starts=to_ns(first),
        ends=to_ns(last),
        sizes=(last - first + 1).astype(np.int64),
    )


def missing_slots(index: pd.DatetimeIndex, calendar: Calendar) -> pd.DatetimeIndex:
    """Every expected slot between the first and last bar that holds no bar (UTC)."""
    ns = index.as_unit("ns").asi8
    on_grid = (ns - calendar.origin_ns) % calendar.step_ns == 0
    k = (ns[on_grid] - calendar.origin_ns) // calendar.step_ns
    if not len(k):
        return pd.DatetimeIndex([], tz="UTC", name=index.name).as_unit("ns")
    k_all = np.arange(k[0], k[-1] + 1, dtype=np.int64)
    present = np.zeros(len(k_all), dtype=bool)
    present[k - k[0]] = True
    missing = k_all[~present & calendar.expected[k_all % calendar.n_slots]]
    out = (calendar.origin_ns + missing * calendar.step_ns).astype("datetime64[ns]")
    return pd.DatetimeIndex(out, name=index.name).tz_localize("UTC")
