"""Yahoo Finance through ``yfinance`` (extra ``online``): ``load_bars("yfinance:AAPL")``.

Uses ``yfinance.Ticker(symbol).history(start, end, interval, auto_adjust=False,
actions=False)``, whose frame carries Yahoo's (split-adjusted) OHLC and a dividend-and-split
adjusted ``Adj Close``: with ``adjust=True`` OHLC are scaled by ``Adj Close / Close`` like any
other source. Daily and coarser bars are labelled by their exchange-local date at 00:00 UTC;
intraday bars are converted to UTC. Results of a closed range are cached (see
``data_loaders.cache``); a range open to "now" is keyed by the last complete bar.

yfinance hides most failures and returns an empty frame; this loader turns an empty frame, a
network failure, a rate limit or an unknown symbol into :class:`OnlineSourceError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from data_loaders._optional import require
from data_loaders.cache import BarCache
from data_loaders.errors import ParameterError, did_you_mean
from data_loaders.sources._base import Bars, Source
from data_loaders.sources._online import (
    OnlineSourceError,
    cached_download,
    floor_now,
    query_options,
    to_utc,
)
from data_loaders.validation import validate_bars

__all__ = ["load_yfinance", "frame_from_history", "YFinanceSource", "INTERVALS"]

#: length of one unit of a Yahoo interval name (a count, then ``m``, ``h``, ``d``, ``wk``, ``mo``)
_UNITS = {
    "m": pd.Timedelta(minutes=1),
    "h": pd.Timedelta(hours=1),
    "d": pd.Timedelta(days=1),
    "wk": pd.Timedelta(weeks=1),
    "mo": pd.Timedelta(days=30),
}

#: Yahoo intervals and their length (a quarter, ``3mo``, counts 91 days)
INTERVALS: dict[str, pd.Timedelta] = {
    name: int(name.rstrip("mhdwko")) * _UNITS[name.lstrip("0123456789")]
    for name in ("1m", "2m", "5m", "15m", "30m", "60m", "90m", "1h", "1d", "5d", "1wk", "1mo")
} | {"3mo": pd.Timedelta(days=91)}


def frame_from_history(raw: pd.DataFrame, interval: str) -> pd.DataFrame:
    """Turn a ``Ticker.history`` frame into a raw bars frame for :func:`validate_bars`.

    Daily and coarser bars: the exchange-local date becomes 00:00 UTC (a session is one day,
    not a UTC instant). Intraday bars: converted to UTC. Event columns (dividends, splits,
    capital gains, repair flags) are dropped.
    """
    df = raw.drop(
        columns=[
            c
            for c in ("Dividends", "Stock Splits", "Capital Gains", "Repaired?")
            if c in raw.columns
        ]
    )
    idx = pd.DatetimeIndex(df.index)
    if INTERVALS[interval] >= pd.Timedelta(days=1):
        local = idx.tz_localize(None) if idx.tz is not None else idx
        idx = local.normalize().tz_localize("UTC")
    elif idx.tz is None:
        idx = idx.tz_localize("UTC")
    df = df.copy()
    df.index = idx.rename("time")
    return df


def _fetch(symbol: str, interval: str, start, end, adjust: bool, repair) -> pd.DataFrame:
    yf = require("yfinance", package="yfinance", extra="online", purpose="the yfinance source")
    label = f"yfinance:{symbol}"
    daily = INTERVALS[interval] >= pd.Timedelta(days=1)

    def arg(ts: pd.Timestamp | None):
        # dates are exchange-local session dates for yfinance; intraday bounds are instants
        return None if ts is None else (ts.strftime("%Y-%m-%d") if daily else ts.to_pydatetime())

    # yfinance logs most failures and returns an empty frame; let them raise for this call so
    # that "no network" and "unknown symbol" can be told apart
    debug = getattr(getattr(yf, "config", None), "debug", None)
    hidden = getattr(debug, "hide_exceptions", None)
    if hidden is not None:
        debug.hide_exceptions = False
    try:
        raw = yf.Ticker(symbol).history(
            period="max",
            start=arg(start),
            end=arg(end),
            interval=interval,
            auto_adjust=False,
            actions=False,
        )
    except Exception as exc:  # noqa: BLE001 - requests/curl/yfinance errors all mean "failed"
        kind = type(exc).__name__
        if "RateLimit" in kind:
            raise OnlineSourceError(
                f"{label}: Yahoo Finance rate limit reached; retry later"
            ) from None
        if "Missing" in kind:
            raise OnlineSourceError(f"{label}: unknown or delisted symbol ({exc})") from None
        raise OnlineSourceError(
            f"{label}: could not download from Yahoo Finance (no network?): {kind}: {exc}"
        ) from None
    finally:
        if hidden is not None:
            debug.hide_exceptions = hidden
    if raw is None or len(raw) == 0:
        span = (
            f"{start:%Y-%m-%d} .. {end:%Y-%m-%d}"
            if start is not None and end is not None
            else "all dates"
        )
        raise OnlineSourceError(
            f"{label}: Yahoo Finance returned no bars ({interval}, {span}): unknown or delisted "
            "symbol, no data in that range, or no network"
        )
    return validate_bars(
        frame_from_history(raw, interval), source=label, adjust=adjust, repair=repair, symbol=symbol
    )


def load_yfinance(
    symbol: str | Iterable[str],
    *,
    start: object = None,
    end: object = None,
    interval: str = "1d",
    adjust: bool = True,
    repair: Iterable[str] | str = (),
    cache: BarCache | bool | None = True,
    refresh: bool = False,
) -> Bars:
    """Download bars from Yahoo Finance (cached); several symbols give a dict.

    Parameters
    ----------
    symbol : str or iterable of str
        Yahoo ticker(s): ``AAPL``, ``^GSPC``, ``EURUSD=X``.
    start, end : date-like, optional
        Range ``[start, end)``; default all history up to the last complete bar.
    interval : str
        One of :data:`INTERVALS` (Yahoo limits intraday history to recent days).
    adjust : bool
        Scale OHLC by ``Adj Close / Close`` (default) or keep Yahoo's OHLC.
    repair : iterable of str
        Opt-in repairs, as for :func:`data_loaders.validate_bars`.
    cache : BarCache, bool or None
        Cache to use (default: :class:`BarCache` at ``$QR_CACHE_DIR``); False to bypass.
    refresh : bool
        Download again and replace the cache entry.
    """
    if not isinstance(symbol, str):
        return {
            s: load_yfinance(
                s,
                start=start,
                end=end,
                interval=interval,
                adjust=adjust,
                repair=repair,
                cache=cache,
                refresh=refresh,
            )
            for s in symbol
        }
    if interval not in INTERVALS:
        raise ParameterError(
            f"`interval`: unknown Yahoo interval {interval!r}{did_you_mean(interval, INTERVALS)}"
        )
    start_ts, end_ts = to_utc(start, "start"), to_utc(end, "end")
    if start_ts is not None and end_ts is not None and start_ts >= end_ts:
        raise ParameterError(f"`start` must be before `end`, got start={start_ts}, end={end_ts}")
    params = {
        "symbol": symbol,
        "interval": interval,
        "start": None if start_ts is None else start_ts.isoformat(),
        "end": (end_ts if end_ts is not None else floor_now(INTERVALS[interval])).isoformat(),
        "adjust": bool(adjust),
    }
    return cached_download(
        "yfinance",
        params,
        repair,
        lambda: _fetch(symbol, interval, start_ts, end_ts, adjust, repair),
        cache=cache,
        refresh=refresh,
    )


class YFinanceSource(Source):
    """``load_bars("yfinance:AAPL", start="2020-01-01", interval="1d")``."""

    name = "yfinance"
    scheme = "yfinance"
    options = ("start", "end", "interval", "cache", "refresh")
    description = "Yahoo Finance via yfinance (extra 'online'), cached"

    def load(self, target: str | Path, *, tz=None, adjust=True, repair=(), **options: Any) -> Bars:
        self.check_options(options)
        symbols = [s.strip() for s in str(target).split(",") if s.strip()]
        if not symbols:
            raise ParameterError("yfinance: no symbol given (use yfinance:AAPL)")
        return load_yfinance(
            symbols[0] if len(symbols) == 1 else symbols,
            adjust=adjust,
            repair=repair,
            **query_options(options),
        )
