"""Crypto exchanges through ``ccxt`` (extra ``online``): ``load_bars("ccxt:binance:BTC/USDT")``.

``exchange.fetch_ohlcv(symbol, timeframe, since, limit)`` returns at most ``limit`` candles
``[ms, open, high, low, close, volume]`` from ``since``; this loader pages forward from ``start``
(``since = last candle + one timeframe``) until ``end`` or an empty page. It is rate-limit aware:
ccxt's own throttle is on (``enableRateLimit``), and a ``RateLimitExceeded``/``DDoSProtection``
or transient ``NetworkError`` is retried after ``rateLimit * 2**attempt`` ms, up to
``max_retries`` times. The candle still forming at "now" is dropped (it is not a finished bar).
Candles repeated across page boundaries are fetched twice, not duplicated in the data, so they are
merged without a repair note. Results are cached like the yfinance source.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_loaders._optional import require
from data_loaders.cache import BarCache
from data_loaders.errors import ParameterError, did_you_mean
from data_loaders.sources._base import Source
from data_loaders.sources._online import OnlineSourceError, cached_download, query_options, to_utc
from data_loaders.validation import validate_bars

__all__ = ["load_ccxt", "fetch_ohlcv_range", "load_funding_rates", "CcxtSource"]

_COLUMNS = ("time", "open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class _Requests:
    """The requests of one load from one exchange: ``label`` names them in messages; pages of
    at most ``limit`` rows; back-off on rate limits and transient network errors, ``sleep``-ing
    ``rateLimit * 2**attempt`` ms, up to ``max_retries`` times."""

    ccxt: Any
    ex: Any
    label: str
    limit: int
    max_retries: int
    sleep: Callable[[float], None]

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ParameterError(f"`limit` must be >= 1, got {self.limit}")

    def call(self, fn: Callable[[], Any]) -> Any:
        """Call ``fn`` with back-off on rate limits and transient network errors."""
        ccxt, ex, label = self.ccxt, self.ex, self.label
        for attempt in range(self.max_retries + 1):
            try:
                return fn()
            except (ccxt.RateLimitExceeded, ccxt.DDoSProtection) as exc:
                if attempt == self.max_retries:
                    raise OnlineSourceError(
                        f"{label}: rate limited by {ex.id} after {attempt + 1} tries ({exc})"
                    ) from None
            except ccxt.BadSymbol as exc:
                raise OnlineSourceError(f"{label}: unknown symbol on {ex.id} ({exc})") from None
            except ccxt.NetworkError as exc:
                if attempt == self.max_retries:
                    raise OnlineSourceError(
                        f"{label}: could not reach {ex.id} (no network?) after {attempt + 1} "
                        f"tries: {type(exc).__name__}: {exc}"
                    ) from None
            except ccxt.BaseError as exc:
                raise OnlineSourceError(
                    f"{label}: {ex.id} refused the request: {type(exc).__name__}: {exc}"
                ) from None
            self.sleep(float(getattr(ex, "rateLimit", 1000) or 1000) / 1000.0 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def pages(
        self,
        fetch: Callable[[int, int], Any],
        stamps: Callable[[Any], list],
        start_ms: int,
        end_ms: int,
        step: int,
    ) -> Iterator[Any]:
        """Pages of ``fetch(since, limit)`` forward from ``start_ms`` (with :meth:`call`'s
        back-off): the next ``since`` is the page's last timestamp (``stamps(page)``, in ms) +
        ``step``. Stops at ``end_ms``, at a page without timestamps, or when the exchange
        ignores ``since``."""
        since = start_ms
        while since < end_ms:
            page = self.call(lambda s=since: fetch(s, self.limit))
            times = [int(t) for t in stamps(page or []) if t is not None]
            if not times:
                return
            yield page
            if max(times) < since:  # the exchange ignored `since`: no progress possible
                return
            since = max(times) + step


def fetch_ohlcv_range(
    requests: _Requests, symbol: str, timeframe: str, start_ms: int, end_ms: int
) -> np.ndarray:
    """All candles with ``start_ms <= time < end_ms``, paging by ``since``.

    Returns
    -------
    float64 array, shape (n, 6)
        ``[ms, open, high, low, close, volume]`` rows, sorted, one per timestamp.
    """
    ex = requests.ex
    step = int(ex.parse_timeframe(timeframe) * 1000)
    pages = [
        np.array([[np.nan if v is None else v for v in row[:6]] for row in page], dtype=np.float64)
        for page in requests.pages(
            lambda since, limit: ex.fetch_ohlcv(symbol, timeframe, since, limit),
            lambda page: [row[0] for row in page], start_ms, end_ms, step,
        )
    ]  # fmt: skip
    if not pages:
        return np.empty((0, 6))
    data = np.concatenate(pages)
    data = data[(data[:, 0] >= start_ms) & (data[:, 0] < end_ms)]
    # candles repeated on page boundaries: keep the last copy of each timestamp
    _, last_pos = np.unique(data[::-1, 0], return_index=True)
    return data[len(data) - 1 - last_pos]


def _fetch(
    requests: _Requests, symbol: str, timeframe: str, start_ms: int, end_ms: int, repair: Any
) -> pd.DataFrame:
    ex, label = requests.ex, requests.label
    exchange = ex.id
    requests.call(ex.load_markets)
    markets = getattr(ex, "markets", None) or {}
    if symbol not in markets:
        raise OnlineSourceError(
            f"{label}: unknown symbol on {exchange}{did_you_mean(symbol, markets)}"
        )
    rows = fetch_ohlcv_range(requests, symbol, timeframe, start_ms, end_ms)
    step = int(ex.parse_timeframe(timeframe) * 1000)
    rows = rows[rows[:, 0] + step <= ex.milliseconds()]  # drop the candle still forming
    if not len(rows):
        raise OnlineSourceError(
            f"{label}: {exchange} returned no finished {timeframe} candles between "
            f"{pd.Timestamp(start_ms, unit='ms', tz='UTC')} and {pd.Timestamp(end_ms, unit='ms', tz='UTC')}"
        )
    raw = pd.DataFrame(rows, columns=list(_COLUMNS))
    raw["time"] = raw["time"].astype(np.int64)
    return validate_bars(raw, source=label, repair=repair, symbol=symbol)


def _exchange(ccxt: Any, exchange: str) -> Any:
    """A ccxt exchange by id (ccxt throttles its own requests to ``rateLimit``)."""
    exchanges = list(getattr(ccxt, "exchanges", []))
    if exchange not in exchanges:
        raise ParameterError(
            f"`exchange`: unknown ccxt exchange {exchange!r}{did_you_mean(exchange, exchanges)}"
        )
    return getattr(ccxt, exchange)({"enableRateLimit": True})


def load_ccxt(
    exchange: str,
    symbol: str,
    *,
    timeframe: str = "1h",
    start: object = None,
    end: object = None,
    limit: int = 1000,
    max_retries: int = 5,
    repair: Iterable[str] | str = (),
    cache: BarCache | bool | None = True,
    refresh: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> pd.DataFrame:
    """Download finished candles from a ccxt exchange (cached).

    Parameters
    ----------
    exchange : str
        ccxt exchange id (``binance``, ``kraken``, ``coinbase`` ...).
    symbol : str
        Unified market symbol (``BTC/USDT``).
    timeframe : str
        Candle length as the exchange names it (``1m``, ``1h``, ``1d`` ...).
    start, end : date-like or epoch ms, optional
        Range ``[start, end)``; default the last ``limit`` candles before now.
    limit : int
        Candles per request (exchanges cap it, often at 500-1000).
    max_retries : int
        Retries after a rate limit or a transient network error.
    repair, cache, refresh
        As for :func:`data_loaders.sources._yfinance.load_yfinance`.
    sleep : callable
        Back-off sleep in seconds (tests pass a recorder).
    """
    ccxt = require("ccxt", package="ccxt", extra="online", purpose="the ccxt source")
    probe = _exchange(ccxt, exchange)
    if not (getattr(probe, "has", {}) or {}).get("fetchOHLCV"):
        raise OnlineSourceError(f"ccxt:{exchange}: this exchange does not serve OHLCV candles")
    timeframes = getattr(probe, "timeframes", None) or {}
    if timeframes and timeframe not in timeframes:
        raise ParameterError(
            f"`timeframe`: {exchange} has no timeframe {timeframe!r}{did_you_mean(timeframe, timeframes)}"
        )
    requests = _Requests(ccxt, probe, f"ccxt:{probe.id}:{symbol}", limit, max_retries, sleep)
    step = int(probe.parse_timeframe(timeframe) * 1000)
    start_ts, end_ts = to_utc(start, "start"), to_utc(end, "end")
    end_ms = (
        int(end_ts.value // 1_000_000)
        if end_ts is not None
        else (probe.milliseconds() // step) * step
    )
    start_ms = int(start_ts.value // 1_000_000) if start_ts is not None else end_ms - limit * step
    if start_ms >= end_ms:
        raise ParameterError(f"`start` must be before `end`, got start={start_ts}, end={end_ts}")
    params = {
        "exchange": exchange,
        "symbol": symbol,
        "timeframe": timeframe,
        "start": start_ms,
        "end": end_ms,
    }
    return cached_download(
        "ccxt",
        params,
        repair,
        lambda: _fetch(requests, symbol, timeframe, start_ms, end_ms, repair),
        cache=cache,
        refresh=refresh,
    )


def load_funding_rates(
    exchange: str,
    symbol: str,
    *,
    start: object,
    end: object,
    limit: int = 1000,
    max_retries: int = 5,
    sleep: Callable[[float], None] = time.sleep,
) -> pd.Series:
    """Funding-rate history of a perpetual swap (``"BTC/USDT:USDT"``) between ``[start, end)``.

    Pages ``exchange.fetch_funding_rate_history(symbol, since, limit)`` forward from ``start``
    (``since`` = last funding time + 1 ms) until ``end`` or an empty page, with the back-off of
    the candle loader. Each value is the rate paid at its funding time, a fraction of the
    position's notional per funding interval (positive: longs pay shorts).

    Returns:
        float64 Series ``funding_rate`` indexed by UTC funding time, sorted, one per time.

    Raises:
        ParameterError: unknown exchange, bad range or limit.
        OnlineSourceError: the exchange has no funding-rate history, refused or was unreachable,
            or returned nothing in the range (one line each).
    """
    ccxt = require("ccxt", package="ccxt", extra="online", purpose="ccxt funding rates")
    ex = _exchange(ccxt, exchange)
    label = f"ccxt:{exchange}:{symbol} funding"
    if not (getattr(ex, "has", {}) or {}).get("fetchFundingRateHistory"):
        raise OnlineSourceError(f"{label}: {exchange} does not serve funding-rate history")
    requests = _Requests(ccxt, ex, label, limit, max_retries, sleep)
    start_ts, end_ts = to_utc(start, "start"), to_utc(end, "end")
    if start_ts is None or end_ts is None or start_ts >= end_ts:
        raise ParameterError(f"`start` must be before `end`, got start={start_ts}, end={end_ts}")
    start_ms, end_ms = int(start_ts.value // 1_000_000), int(end_ts.value // 1_000_000)
    rows: dict[int, float] = {}
    pages = requests.pages(
        lambda since, limit: ex.fetch_funding_rate_history(symbol, since, limit),
        lambda page: [r.get("timestamp") for r in page], start_ms, end_ms, 1,
    )  # fmt: skip
    for page in pages:
        for r in page:
            if r.get("timestamp") is not None and start_ms <= int(r["timestamp"]) < end_ms:
                rate = r.get("fundingRate")
                rows[int(r["timestamp"])] = np.nan if rate is None else float(rate)
    if not rows:
        raise OnlineSourceError(
            f"{label}: {exchange} returned no funding rates between {start_ts} and {end_ts}"
        )
    keys = sorted(rows)
    index = pd.DatetimeIndex(pd.to_datetime(keys, unit="ms", utc=True), name="time").as_unit("ns")
    return pd.Series([rows[k] for k in keys], index=index, name="funding_rate", dtype=np.float64)


class CcxtSource(Source):
    """``load_bars("ccxt:binance:BTC/USDT", timeframe="1h", start="2024-01-01")``."""

    name = "ccxt"
    scheme = "ccxt"
    options = ("timeframe", "start", "end", "limit", "max_retries", "cache", "refresh")
    description = "crypto exchanges via ccxt (extra 'online'), paged and cached"

    def load(
        self, target: str | Path, *, tz=None, adjust=True, repair=(), **options: Any
    ) -> pd.DataFrame:
        self.check_options(options)
        exchange, sep, symbol = str(target).partition(":")
        if not sep or not exchange or not symbol:
            raise ParameterError(
                f"ccxt source needs 'ccxt:EXCHANGE:SYMBOL' (e.g. ccxt:binance:BTC/USDT), got 'ccxt:{target}'"
            )
        options = query_options(options, ints=("limit", "max_retries"))
        return load_ccxt(exchange, symbol, repair=repair, **options)
