"""yfinance and ccxt sources on recorded responses (``tests/data_loaders/fixtures``), offline.

The network layer (``yfinance.Ticker`` and a ccxt exchange's ``fetch_ohlcv``/``load_markets``)
is replaced by fakes that serve the recorded responses; the loaders' own range handling,
paging, retries, caching, adjustment and validation run unchanged.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest

from data_loaders import (
    MissingDependencyError,
    OnlineSourceError,
    ParameterError,
    load_bars,
    load_ccxt,
    load_yfinance,
)
from tests.data_loaders.conftest import FIXTURES, yfinance_history
from tests.data_loaders.sources._fake_ccxt import Recording, install

# ---------------------------------------------------------------------------------------------
# yfinance
# ---------------------------------------------------------------------------------------------


HISTORY = yfinance_history()
NOV = {"start": "2012-11-01", "end": "2012-12-01"}


class FakeTicker:
    """Stands in for ``yfinance.Ticker``: serves the recorded frame, or fails as configured."""

    calls: list[tuple[str, dict]] = []
    outcome: dict[str, object] = {}

    def __init__(self, symbol: str):
        self.symbol = symbol

    def history(self, **kwargs):
        import yfinance

        kwargs["hide_exceptions_during_call"] = yfinance.config.debug.hide_exceptions
        FakeTicker.calls.append((self.symbol, kwargs))
        result = FakeTicker.outcome.get(self.symbol, HISTORY)
        if isinstance(result, BaseException):
            raise result
        return result.copy()


@pytest.fixture
def yf(monkeypatch):
    yfinance = pytest.importorskip("yfinance")
    FakeTicker.calls = []
    FakeTicker.outcome = {}
    monkeypatch.setattr(yfinance, "Ticker", FakeTicker)
    return FakeTicker


def test_yfinance_daily_bars_are_adjusted_and_dated_by_session(yf):
    bars = load_yfinance("AAPL", **NOV, cache=False)
    assert len(bars) == len(HISTORY) == 21
    # daily bars are labelled by the exchange-local session date, at 00:00 UTC
    assert [f"{t:%Y-%m-%d %H:%M}" for t in bars.index] == [
        f"{t:%Y-%m-%d} 00:00" for t in HISTORY.index
    ]
    factor = HISTORY["Adj Close"] / HISTORY["Close"]
    np.testing.assert_allclose(bars["close"], HISTORY["Adj Close"], rtol=0)
    np.testing.assert_allclose(bars["open"], HISTORY["Open"] * factor, rtol=1e-12)
    np.testing.assert_allclose(bars["high"], HISTORY["High"] * factor, rtol=1e-12)
    np.testing.assert_allclose(bars["low"], HISTORY["Low"] * factor, rtol=1e-12)
    np.testing.assert_array_equal(bars["volume"], HISTORY["Volume"].astype(float))
    assert bars.attrs == {
        "source": "yfinance:AAPL",
        "symbol": "AAPL",
        "adjusted": True,
        "frequency": "1D",
        "repairs": (),
    }
    ((symbol, kwargs),) = yf.calls
    assert symbol == "AAPL"
    assert kwargs == {
        "period": "max",
        "start": "2012-11-01",
        "end": "2012-12-01",
        "interval": "1d",
        "auto_adjust": False,
        "actions": False,
        "hide_exceptions_during_call": False,  # real errors surface during the call ...
    }
    import yfinance

    assert yfinance.config.debug.hide_exceptions is True  # ... and the setting is restored


def test_yfinance_raw_prices_on_request(yf):
    bars = load_yfinance("AAPL", **NOV, adjust=False, cache=False)
    assert bars.attrs["adjusted"] is False
    np.testing.assert_array_equal(bars["close"], HISTORY["Close"])
    np.testing.assert_array_equal(bars["open"], HISTORY["Open"])


def test_yfinance_results_are_cached_by_symbol_range_and_adjustment(yf):
    first = load_yfinance("AAPL", **NOV)
    again = load_yfinance("AAPL", **NOV)
    assert len(yf.calls) == 1
    pd.testing.assert_frame_equal(again, first)
    load_yfinance("AAPL", start="2012-11-01", end="2012-11-30")
    load_yfinance("AAPL", **NOV, adjust=False)
    load_yfinance("MSFT", **NOV)
    assert len(yf.calls) == 4
    load_yfinance("AAPL", **NOV, refresh=True)
    assert len(yf.calls) == 5


def test_an_open_range_is_asked_again_once_a_new_bar_completes(yf, monkeypatch):
    import data_loaders.sources._yfinance as module

    now = {"t": pd.Timestamp("2012-11-30", tz="UTC")}
    monkeypatch.setattr(module, "floor_now", lambda step: now["t"])
    load_yfinance("AAPL", start="2012-11-01")
    load_yfinance("AAPL", start="2012-11-01")
    assert len(yf.calls) == 1  # same last complete bar: a hit
    now["t"] = pd.Timestamp("2012-12-01", tz="UTC")
    load_yfinance("AAPL", start="2012-11-01")
    assert len(yf.calls) == 2  # a day later the cached entry is stale and not served


def test_yfinance_several_symbols_and_the_scheme(yf):
    data = load_yfinance(["AAPL", "IBM"], **NOV, cache=False)
    assert list(data) == ["AAPL", "IBM"] and data["IBM"].attrs["symbol"] == "IBM"
    bars = load_bars("yfinance:AAPL?start=2012-11-01&end=2012-12-01&cache=")
    assert len(bars) == 21 and bars.attrs["source"] == "yfinance:AAPL"


def _yf_error(name: str) -> BaseException:
    import yfinance.exceptions as yfe

    if name == "tz-missing":
        return yfe.YFTzMissingError("ZZZZ")
    if name == "rate-limit":
        return yfe.YFRateLimitError()
    try:
        from curl_cffi.requests.exceptions import DNSError

        return DNSError(
            "Failed to perform, curl: (6) Could not resolve host: query2.finance.yahoo.com"
        )
    except ImportError:  # pragma: no cover - older yfinance on requests
        return ConnectionError("Could not resolve host: query2.finance.yahoo.com")


@pytest.mark.parametrize(
    ("outcome", "match"),
    [
        (
            "empty",
            r"^yfinance:ZZZZ: Yahoo Finance returned no bars \(1d, 2012-11-01 \.\. 2012-12-01\)",
        ),
        ("tz-missing", r"^yfinance:ZZZZ: unknown or delisted symbol"),
        ("rate-limit", r"^yfinance:ZZZZ: Yahoo Finance rate limit reached; retry later$"),
        ("no-network", r"^yfinance:ZZZZ: could not download from Yahoo Finance \(no network\?\): "),
    ],
)
def test_yfinance_failures_are_one_clear_error(yf, outcome, match):
    yf.outcome["ZZZZ"] = HISTORY.iloc[:0] if outcome == "empty" else _yf_error(outcome)
    with pytest.raises(OnlineSourceError, match=match) as err:
        load_yfinance("ZZZZ", **NOV)
    assert "\n" not in str(err.value)
    import yfinance

    assert yfinance.config.debug.hide_exceptions is True


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"interval": "1hr"},
            r"`interval`: unknown Yahoo interval '1hr' \(did you mean '1h'\?\)",
        ),
        ({"start": "2012-12-01", "end": "2012-11-01"}, r"`start` must be before `end`"),
        ({"start": "someday"}, r"`start`: cannot read 'someday' as a date"),
    ],
)
def test_yfinance_bad_arguments(yf, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        load_yfinance("AAPL", **kwargs)
    assert yf.calls == []


# ---------------------------------------------------------------------------------------------
# ccxt
# ---------------------------------------------------------------------------------------------

RECORDED = json.loads((FIXTURES / "ccxt_kraken_EURUSD_1h.json").read_text())
CANDLES = RECORDED["candles"]
HOUR_MS = 3_600_000
T0 = CANDLES[0][0]  # 2017-01-02 00:00 UTC
AFTER_LAST = CANDLES[-1][0] + HOUR_MS  # 2017-01-03 06:00 UTC: every recorded candle finished


def _ms(ts: str) -> int:
    return int(pd.Timestamp(ts, tz="UTC").value // 1_000_000)


@pytest.fixture
def kraken(monkeypatch):
    """Replace ``ccxt.kraken`` by a subclass that answers from the recording."""
    ccxt = pytest.importorskip("ccxt")

    class FakeKraken(Recording, ccxt.kraken):
        now_ms = AFTER_LAST + 10 * HOUR_MS
        overlap = 0  # candles before `since` repeated at the start of each page
        markets_served = ("EUR/USD", "BTC/USD")

        def load_markets(self, reload=False, params=None):
            self.markets = {m: {"symbol": m} for m in self.markets_served}
            return self.markets

        def fetch_ohlcv(self, symbol, timeframe="1m", since=None, limit=None, params=None):
            self.note(symbol, timeframe, since, limit)
            first = since - self.overlap * HOUR_MS
            return [list(c) for c in CANDLES if c[0] >= first][:limit]

        def milliseconds(self):
            return self.now_ms

    return install(monkeypatch, ccxt, "kraken", FakeKraken)


def _expected_frame(candles) -> np.ndarray:
    return np.array([c[1:6] for c in candles], dtype=float)


def test_ccxt_pages_forward_until_the_end(kraken):
    sleeps = []
    bars = load_ccxt(
        "kraken",
        "EUR/USD",
        timeframe="1h",
        start=T0,
        end=AFTER_LAST,
        limit=7,
        cache=False,
        sleep=sleeps.append,
    )
    assert len(bars) == 30
    assert bars.index[0] == pd.Timestamp("2017-01-02 00:00", tz="UTC")
    assert bars.index[-1] == pd.Timestamp("2017-01-03 05:00", tz="UTC")
    np.testing.assert_array_equal(bars.to_numpy(), _expected_frame(CANDLES))
    # since = last candle + one timeframe, page after page
    assert kraken.requests == [("EUR/USD", "1h", T0 + i * 7 * HOUR_MS, 7) for i in range(5)]
    assert sleeps == []
    assert bars.attrs["source"] == "ccxt:kraken:EUR/USD" and bars.attrs["frequency"] == "1h"


def test_ccxt_range_is_start_inclusive_end_exclusive(kraken):
    bars = load_ccxt(
        "kraken", "EUR/USD", start="2017-01-02 03:00", end="2017-01-02 10:00", cache=False
    )
    assert [t.hour for t in bars.index] == [3, 4, 5, 6, 7, 8, 9]
    np.testing.assert_array_equal(bars.to_numpy(), _expected_frame(CANDLES[3:10]))


def test_ccxt_drops_the_candle_still_forming(kraken):
    kraken.now_ms = CANDLES[-1][0] + HOUR_MS // 2  # the 05:00 candle closes at 06:00
    bars = load_ccxt("kraken", "EUR/USD", start=T0, end=AFTER_LAST, cache=False)
    assert len(bars) == 29 and bars.index[-1] == pd.Timestamp("2017-01-03 04:00", tz="UTC")


def test_ccxt_candles_repeated_across_pages_are_merged(kraken):
    kraken.overlap = 2
    bars = load_ccxt("kraken", "EUR/USD", start=T0, end=AFTER_LAST, limit=10, cache=False)
    np.testing.assert_array_equal(bars.to_numpy(), _expected_frame(CANDLES))
    assert bars.attrs["repairs"] == ()


def test_ccxt_backs_off_on_rate_limits_then_succeeds(kraken):
    import ccxt

    kraken.errors = [ccxt.RateLimitExceeded("429"), ccxt.DDoSProtection("slow down")]
    sleeps = []
    bars = load_ccxt(
        "kraken", "EUR/USD", start=T0, end=AFTER_LAST, cache=False, sleep=sleeps.append
    )
    rate = kraken().rateLimit / 1000
    assert sleeps == [rate, 2 * rate]  # rateLimit * 2**attempt
    assert len(bars) == 30 and len(kraken.requests) == 3


@pytest.mark.parametrize(
    ("errors", "match"),
    [
        ("rate", r"^ccxt:kraken:EUR/USD: rate limited by kraken after 3 tries"),
        (
            "network",
            r"^ccxt:kraken:EUR/USD: could not reach kraken \(no network\?\) after 3 tries: NetworkError",
        ),
        ("badsymbol", r"^ccxt:kraken:EUR/USD: unknown symbol on kraken"),
        ("other", r"^ccxt:kraken:EUR/USD: kraken refused the request: AuthenticationError"),
    ],
)
def test_ccxt_failures_are_one_clear_error(kraken, errors, match):
    import ccxt

    make = {
        "rate": lambda: ccxt.RateLimitExceeded("429 Too Many Requests"),
        "network": lambda: ccxt.NetworkError("Could not resolve host"),
        "badsymbol": lambda: ccxt.BadSymbol("kraken does not have market symbol"),
        "other": lambda: ccxt.AuthenticationError("key required"),
    }[errors]
    kraken.errors = [make() for _ in range(10)]
    sleeps = []
    with pytest.raises(OnlineSourceError, match=match) as err:
        load_ccxt("kraken", "EUR/USD", start=T0, end=AFTER_LAST, max_retries=2, sleep=sleeps.append)
    assert "\n" not in str(err.value)
    assert len(sleeps) == (2 if errors in ("rate", "network") else 0)


def test_ccxt_unknown_symbol_suggests_a_market(kraken):
    with pytest.raises(
        OnlineSourceError, match=r"unknown symbol on kraken \(did you mean 'EUR/USD'\?\)"
    ):
        load_ccxt("kraken", "EUR/USDT", start=T0, end=AFTER_LAST)
    assert kraken.requests == []


def test_ccxt_no_candles_in_range(kraken):
    with pytest.raises(
        OnlineSourceError, match=r"kraken returned no finished 1h candles between 2018-01-01"
    ):
        load_ccxt("kraken", "EUR/USD", start="2018-01-01", end="2018-01-02")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"exchange": "krakn"},
            r"`exchange`: unknown ccxt exchange 'krakn' \(did you mean 'kraken'\?\)",
        ),
        ({"timeframe": "7m"}, r"`timeframe`: kraken has no timeframe '7m'"),
        ({"limit": 0}, r"`limit` must be >= 1, got 0"),
        ({"start": AFTER_LAST, "end": T0}, r"`start` must be before `end`"),
    ],
)
def test_ccxt_bad_arguments(kraken, kwargs, match):
    args = {"exchange": "kraken", "symbol": "EUR/USD", "start": T0, "end": AFTER_LAST, **kwargs}
    with pytest.raises(ParameterError, match=match):
        load_ccxt(args.pop("exchange"), args.pop("symbol"), **args)


def test_ccxt_results_are_cached_by_range(kraken):
    load_ccxt("kraken", "EUR/USD", start=T0, end=AFTER_LAST)
    n = len(kraken.requests)
    cached = load_ccxt("kraken", "EUR/USD", start=T0, end=AFTER_LAST)
    assert len(kraken.requests) == n and len(cached) == 30
    load_ccxt("kraken", "EUR/USD", start=T0, end=AFTER_LAST - HOUR_MS)
    assert len(kraken.requests) > n


def test_ccxt_scheme_with_query_options(kraken):
    bars = load_bars(
        f"ccxt:kraken:EUR/USD?timeframe=1h&start={T0}&end=2017-01-02T12:00:00Z&limit=5"
    )
    assert len(bars) == 12
    assert [r[3] for r in kraken.requests] == [5, 5, 5]
    with pytest.raises(ParameterError, match=r"needs 'ccxt:EXCHANGE:SYMBOL'"):
        load_bars("ccxt:kraken")


def test_ccxt_default_range_is_the_last_limit_candles_before_now(kraken):
    kraken.now_ms = AFTER_LAST + HOUR_MS // 3  # 06:20: the last finished candle is 05:00
    bars = load_ccxt("kraken", "EUR/USD", limit=10, cache=False)
    assert bars.index[0] == pd.Timestamp("2017-01-02 20:00", tz="UTC") and len(bars) == 10
    assert _ms(str(bars.index[-1])) == CANDLES[-1][0]


# ---------------------------------------------------------------------------------------------
# missing extra
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "call"),
    [
        ("yfinance", lambda: load_yfinance("AAPL", **NOV)),
        ("ccxt", lambda: load_ccxt("kraken", "EUR/USD")),
    ],
)
def test_missing_online_extra_names_the_pip_command(monkeypatch, module, call):
    monkeypatch.setitem(sys.modules, module, None)  # import now raises ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install 'quant-research\[online\]'"):
        call()


def test_query_flags_of_a_scheme_are_typed(yf, tmp_path, _private_cache_dir):
    spec = "yfinance:AAPL?start=2012-11-01&end=2012-12-01"
    load_bars(spec + "&cache=off")
    load_bars(spec + "&cache=off")
    assert len(yf.calls) == 2 and not _private_cache_dir.exists()
    folder = tmp_path / "my-cache"
    load_bars(f"{spec}&cache={folder}")
    load_bars(f"{spec}&cache={folder}")
    assert len(yf.calls) == 3 and (folder / "CACHEDIR.TAG").exists()
    load_bars(f"{spec}&cache={folder}&refresh=yes")
    assert len(yf.calls) == 4
    with pytest.raises(ParameterError, match=r"`refresh` must be true or false, got 'maybe'"):
        load_bars(spec + "&refresh=maybe")


def test_ccxt_query_integers_are_checked(kraken):
    with pytest.raises(ParameterError, match=r"`limit` must be an integer, got 'many'"):
        load_bars(f"ccxt:kraken:EUR/USD?start={T0}&limit=many")


def test_a_cache_of_the_wrong_type_is_refused(yf):
    with pytest.raises(
        ParameterError, match=r"`cache` must be True, False, None or a BarCache, got str"
    ):
        load_yfinance("AAPL", **NOV, cache="yes")
