"""Data audit: where the bars themselves are suspect.

Checks (each finding is one row of :attr:`AuditReport.findings`):

* ``gap``: timestamps missing against the expected calendar. The bar interval is inferred (the
  median spacing, or ``bars.attrs["frequency"]``); the calendar is ``business`` (Monday-Friday
  dates, for daily equity data), ``continuous`` (24/7: crypto, synthetic minute data), or
  ``session`` (intraday bars on business days only: gaps inside a day plus missing days). ``auto``
  picks ``continuous`` when the data has weekend bars, else ``business`` for daily and ``session``
  for intraday bars. A single missing business day is ``info`` (most likely an exchange
  holiday), and so are gaps of a continuous calendar that start at least three times on the
  same weekday and time of day (a weekly market closure, as in FX data); other gaps are
  ``warning``.
* ``price_spike`` / ``return_outlier`` / ``range_outlier``: robust z-score
  ``(x - median) / (1.4826 MAD)`` above the threshold, with median and MAD taken over a local
  centred window (so a calm and a turbulent year are each judged against themselves). A spike is
  a return outlier at ``t`` followed by an opposite one at ``t+1`` (the close of bar ``t`` alone
  is off); it is reported once, at ``t``.
* ``stale_price``: at least ``stale_min_run`` consecutive bars with an identical close.
* ``zero_volume``: at least ``zero_volume_min_run`` consecutive bars with zero volume.
* ``label_imbalance``: share of up moves among non-zero forward returns at a horizon differs from
  one half by more than the threshold (train window and all data reported).
* ``distribution_shift``: two-sample Kolmogorov-Smirnov test of returns, absolute returns,
  log ranges and log volume, train window vs later data (first vs second half when there is no
  later data), rejected at ``shift_alpha``.

Timestamps in findings are the bars' own (UTC) timestamps; for gaps, the first and last missing
ones. Everything here is descriptive: nothing the audit computes feeds the feature selection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from research._json import to_jsonable
from research.explore._nb import runs_nb
from research.explore.spec import AuditSpec

__all__ = ["AuditReport", "audit_bars", "bar_interval", "FINDING_COLUMNS"]

FINDING_COLUMNS = ["check", "severity", "start", "end", "n_bars", "value", "detail"]
#: at most this many rows per check are kept in the findings table (largest first); totals are
#: always in the summary
MAX_ROWS_PER_CHECK = 500
_MAD_TO_STD = 1.4826


@dataclass
class AuditReport:
    """Result of :func:`audit_bars`.

    Attributes:
        findings: one row per finding, columns :data:`FINDING_COLUMNS` (``start``/``end`` are
            timestamps, ``n_bars`` the bars concerned, ``value`` the statistic).
        frequency: inferred bar interval.
        calendar: the calendar the gaps were checked against.
        label_balance: per horizon, share of up moves (train and all data) and of zero moves.
        shift: per series, KS statistic and p-value between the two periods compared.
        summary: counts per check and the headline numbers (JSON-ready).
    """

    findings: pd.DataFrame
    frequency: pd.Timedelta
    calendar: str
    label_balance: pd.DataFrame
    shift: pd.DataFrame
    summary: dict[str, Any]

    def of(self, check: str) -> pd.DataFrame:
        """The findings of one check."""
        return self.findings[self.findings["check"] == check].reset_index(drop=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: summary, findings as records, label balance and shift tables."""

        def records(df: pd.DataFrame) -> list[dict[str, Any]]:
            out = []
            for row in df.reset_index().to_dict(orient="records"):
                out.append({k: to_jsonable(v) for k, v in row.items()})
            return out

        return {
            "summary": self.summary,
            "frequency": str(self.frequency),
            "calendar": self.calendar,
            "findings": records(self.findings.set_index("check")),
            "label_balance": records(self.label_balance),
            "shift": records(self.shift),
        }


def bar_interval(index: pd.DatetimeIndex, attrs_frequency: str | None = None) -> pd.Timedelta:
    """The bar interval: ``attrs_frequency`` when it parses as a fixed offset, else the median
    spacing (robust to gaps; :func:`data_loaders._calendar.infer_frequency`, used to validate
    bars, takes the most common step instead)."""
    if attrs_frequency:
        try:
            return pd.Timedelta(pd.tseries.frequencies.to_offset(attrs_frequency))
        except (ValueError, TypeError):
            pass
    if len(index) < 2:
        return pd.Timedelta(0)
    diffs = np.diff(index.as_unit("ns").asi8)
    return pd.Timedelta(int(np.median(diffs)), unit="ns")


def _finding(
    check: str, severity: str, start: Any, end: Any, n: int, value: float, detail: str
) -> dict:
    return {
        "check": check,
        "severity": severity,
        "start": start,
        "end": end,
        "n_bars": int(n),
        "value": float(value),
        "detail": detail,
    }


# --------------------------------------------------------------------------- gaps


def _choose_calendar(index: pd.DatetimeIndex, freq: pd.Timedelta, calendar: str) -> str:
    if calendar != "auto":
        return calendar
    has_weekend = bool((index.dayofweek >= 5).any())
    if has_weekend or freq > pd.Timedelta(days=1):
        return "continuous"
    return "business" if freq >= pd.Timedelta(days=1) else "session"


def _missing_business_days(index: pd.DatetimeIndex) -> list[dict]:
    dates = index.normalize().unique()
    expected = pd.bdate_range(dates[0], dates[-1], tz=index.tz)
    missing = expected.difference(dates)
    if len(missing) == 0:
        return []
    # time of day of the bars (most common), so missing "timestamps" look like the others
    tod = pd.Series(index - index.normalize()).mode().iloc[0]
    pos = np.searchsorted(expected.as_unit("ns").asi8, missing.as_unit("ns").asi8)
    breaks = np.flatnonzero(np.diff(pos) != 1) + 1
    out = []
    for run in np.split(np.arange(len(missing)), breaks):
        first, last = missing[run[0]] + tod, missing[run[-1]] + tod
        n = len(run)
        severity = "info" if n == 1 else "warning"
        detail = f"{n} business day(s) missing" + (" (likely a holiday)" if n == 1 else "")
        out.append(_finding("gap", severity, first, last, n, n, detail))
    return out


def _intrabar_gaps(index: pd.DatetimeIndex, freq: pd.Timedelta, same_day_only: bool) -> list[dict]:
    index = index.as_unit("ns")
    t = index.asi8
    f = freq.value
    d = np.diff(t)
    big = np.flatnonzero(d > 1.5 * f)
    if same_day_only:
        day = index.normalize().asi8
        big = big[day[big] == day[big + 1]]
    out = []
    for i in big:
        n_missing = int(round(d[i] / f)) - 1
        start = pd.Timestamp(t[i] + f, tz=index.tz)
        end = pd.Timestamp(t[i + 1] - f, tz=index.tz)
        out.append(
            _finding(
                "gap", "warning", start, end, n_missing, n_missing, f"{n_missing} bar(s) missing"
            )
        )
    return out


def _gaps(index: pd.DatetimeIndex, freq: pd.Timedelta, calendar: str) -> list[dict]:
    if len(index) < 2 or freq <= pd.Timedelta(0):
        return []
    if calendar == "business":
        return _missing_business_days(index)
    if calendar == "session":
        return _intrabar_gaps(index, freq, same_day_only=True) + _missing_business_days(index)
    return _mark_recurring(_intrabar_gaps(index, freq, same_day_only=False))


_MIN_RECURRING = 3
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _mark_recurring(found: list[dict]) -> list[dict]:
    """Gaps that start on the same weekday at the same time of day at least three times are a
    schedule (an FX or futures market's weekly closure, a daily maintenance break), not missing
    data: they become ``info``."""
    keys = [(f["start"].dayofweek, f["start"].time()) for f in found]
    counts: dict[Any, int] = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    for f, k in zip(found, keys):
        if counts[k] >= _MIN_RECURRING:
            f["severity"] = "info"
            f["detail"] += (
                f" (recurring: {counts[k]} gaps start on a {_DAYS[k[0]]} at {k[1]:%H:%M}, "
                "likely a scheduled closure)"
            )
    return found


# --------------------------------------------------------------------------- outliers


def _robust_z(x: pd.Series, window: int, center_on_median: bool = True) -> pd.Series:
    roll = x.rolling(window, center=True, min_periods=max(5, window // 4))
    med = roll.median() if center_on_median else pd.Series(0.0, index=x.index)
    dev = (x - med).abs()
    mad = dev.rolling(window, center=True, min_periods=max(5, window // 4)).median()
    global_mad = float(np.nanmedian(np.abs(x - np.nanmedian(x))))
    floor = 0.25 * global_mad if global_mad > 0 else 1e-12
    return (x - med) / (_MAD_TO_STD * mad.clip(lower=floor))


def _outliers(bars: pd.DataFrame, z_max: float, window: int) -> list[dict]:
    idx = bars.index
    lc = np.log(bars["close"].to_numpy(dtype=np.float64))
    r = pd.Series(np.concatenate([[np.nan], np.diff(lc)]), index=idx)
    z = _robust_z(r, window).to_numpy()
    out: list[dict] = []
    flagged = np.flatnonzero(np.abs(np.nan_to_num(z)) > z_max)
    used = set()
    for i in flagged:
        if i in used:
            continue
        j = i + 1
        if j < len(z) and abs(np.nan_to_num(z[j])) > z_max and np.sign(z[j]) == -np.sign(z[i]):
            used.add(j)
            out.append(
                _finding(
                    "price_spike",
                    "warning",
                    idx[i],
                    idx[i],
                    1,
                    z[i],
                    f"close jumps {r.iloc[i]:+.4g} (log) and reverts {r.iloc[j]:+.4g} on the next bar",
                )
            )
        else:
            out.append(
                _finding(
                    "return_outlier",
                    "warning",
                    idx[i],
                    idx[i],
                    1,
                    z[i],
                    f"log return {r.iloc[i]:+.4g}",
                )
            )
    rng = pd.Series(np.log(bars["high"].to_numpy() / bars["low"].to_numpy()), index=idx)
    zr = _robust_z(rng, window).to_numpy()
    for i in np.flatnonzero(np.nan_to_num(zr) > z_max):
        out.append(
            _finding(
                "range_outlier",
                "warning",
                idx[i],
                idx[i],
                1,
                zr[i],
                f"log(high/low) {rng.iloc[i]:.4g}",
            )
        )
    return out


# --------------------------------------------------------------------------- runs


def _runs(
    mask: np.ndarray, min_len: int, index: pd.DatetimeIndex, check: str, what: str
) -> list[dict]:
    starts, lengths = runs_nb(mask, int(min_len))
    return [
        _finding(check, "warning", index[s], index[s + n - 1], n, n, f"{n} bars {what}")
        for s, n in zip(starts, lengths)
    ]


def _stale(close: np.ndarray, min_run: int, index: pd.DatetimeIndex) -> list[dict]:
    # same[t]: close[t] == close[t-1]; a run of k such flags spans k + 1 bars with one close
    same = np.zeros(close.shape[0], dtype=bool)
    same[1:] = close[1:] == close[:-1]
    starts, lengths = runs_nb(same, max(1, int(min_run) - 1))
    return [
        _finding(
            "stale_price",
            "warning",
            index[s - 1],
            index[s + k - 1],
            k + 1,
            close[s],
            f"{k + 1} bars with close {close[s]:.6g}",
        )
        for s, k in zip(starts, lengths)
    ]


# --------------------------------------------------------------------------- labels, shift


def _label_balance(
    lc: np.ndarray, horizons: Sequence[int], train_stop: int, threshold: float
) -> pd.DataFrame:
    rows = []
    for h in horizons:
        shares = {}
        for part, stop in (("train", train_stop), ("all", lc.shape[0])):
            f = lc[h:stop] - lc[: max(0, stop - h)]
            up, down = int((f > 0).sum()), int((f < 0).sum())
            shares[part] = (
                up / (up + down) if up + down else np.nan,
                float((f == 0).mean()) if f.size else np.nan,
            )
        rows.append(
            {
                "horizon": h,
                "share_up_train": shares["train"][0],
                "share_up_all": shares["all"][0],
                "share_flat_all": shares["all"][1],
            }
        )
    table = pd.DataFrame(rows).set_index("horizon")
    table["imbalanced"] = (table["share_up_train"] - 0.5).abs() > threshold
    return table


def _shift(bars: pd.DataFrame, train_stop: int, alpha: float) -> tuple[pd.DataFrame, str]:
    from scipy import stats

    n = len(bars)
    if n - train_stop >= 20:
        cut, label = train_stop, "train vs later"
    else:
        cut, label = n // 2, "first half vs second half"
    lc = np.log(bars["close"].to_numpy(dtype=np.float64))
    r = np.concatenate([[np.nan], np.diff(lc)])
    series = {
        "returns": r,
        "abs_returns": np.abs(r),
        "log_range": np.log(bars["high"].to_numpy() / bars["low"].to_numpy()),
    }
    vol = bars["volume"].to_numpy(dtype=np.float64)
    if (vol > 0).mean() > 0.5:
        with np.errstate(divide="ignore"):
            series["log_volume"] = np.where(vol > 0, np.log(np.where(vol > 0, vol, 1.0)), np.nan)
    rows = []
    for name, x in series.items():
        a, b = x[:cut], x[cut:]
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        if a.size < 10 or b.size < 10:
            continue
        res = stats.ks_2samp(a, b)
        rows.append({"series": name, "ks_stat": float(res.statistic), "pvalue": float(res.pvalue)})
    table = pd.DataFrame(rows, columns=["series", "ks_stat", "pvalue"]).set_index("series")
    table["shifted"] = table["pvalue"] < alpha
    table.attrs["comparison"] = label
    return table, label


# --------------------------------------------------------------------------- entry point


def audit_bars(
    bars: pd.DataFrame,
    spec: AuditSpec,
    *,
    horizons: Sequence[int] = (1,),
    train_stop: int | None = None,
) -> AuditReport:
    """Audit one symbol's bars.

    Args:
        bars: bars (the bars contract: :mod:`data_loaders.validation`).
        spec: the ``audit`` section of the exploration spec.
        horizons: forward-return horizons (bars) for the label-balance check.
        train_stop: number of bars in the train window (the rest is "later data"); default all.

    Returns:
        An :class:`AuditReport`.
    """
    n = len(bars)
    train_stop = n if train_stop is None else int(train_stop)
    index = bars.index
    freq = bar_interval(index, bars.attrs.get("frequency"))
    calendar = _choose_calendar(index, freq, spec.calendar)
    close = bars["close"].to_numpy(dtype=np.float64)
    lc = np.log(close)

    found: list[dict] = []
    found += _gaps(index, freq, calendar)
    found += _outliers(bars, spec.outlier_z, spec.outlier_window)
    found += _stale(close, spec.stale_min_run, index)
    found += _runs(
        bars["volume"].to_numpy() == 0,
        spec.zero_volume_min_run,
        index,
        "zero_volume",
        "with zero volume",
    )
    balance = _label_balance(lc, horizons, train_stop, spec.imbalance_threshold)
    found += [
        _finding(
            "label_imbalance", "warning", index[0], index[min(train_stop, n) - 1], train_stop,
            row["share_up_train"],
            f"horizon {h}: {row['share_up_train']:.1%} of moves up in the train window",
        )
        for h, row in balance[balance["imbalanced"]].iterrows()
    ]  # fmt: skip
    shift, comparison = _shift(bars, train_stop, spec.shift_alpha)
    found += [
        _finding(
            "distribution_shift", "warning", index[0], index[-1], n, row["ks_stat"],
            f"{name}: KS {row['ks_stat']:.3f}, p={row['pvalue']:.2g} ({comparison})",
        )
        for name, row in shift[shift["shifted"]].iterrows()
    ]  # fmt: skip

    findings = pd.DataFrame(found, columns=FINDING_COLUMNS)
    counts = findings.groupby("check").size().to_dict() if len(findings) else {}
    bars_concerned = findings.groupby("check")["n_bars"].sum().to_dict() if len(findings) else {}
    if len(findings):
        # cap each check to its largest findings, then order by check and time
        findings["_abs"] = findings["value"].abs()
        findings = (
            findings.sort_values("_abs", ascending=False, kind="stable")
            .groupby("check", sort=False)
            .head(MAX_ROWS_PER_CHECK)
            .drop(columns="_abs")
            .sort_values(["check", "start"], kind="stable")
            .reset_index(drop=True)
        )
    summary = {
        "n_bars": n,
        "start": index[0].isoformat() if n else None,
        "end": index[-1].isoformat() if n else None,
        "frequency": str(freq),
        "calendar": calendar,
        "counts": {k: int(v) for k, v in counts.items()},
        "bars_concerned": {k: int(v) for k, v in bars_concerned.items()},
        "shift_comparison": comparison,
    }
    return AuditReport(findings, freq, calendar, balance, shift, summary)
