"""ccxt funding-rate history on a recorded-format response (offline)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_loaders import load_funding_rates
from data_loaders.errors import ParameterError
from data_loaders.sources._online import OnlineSourceError
from tests.data_loaders.sources._fake_ccxt import Recording, install

RAW = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "ccxt_binance_BTCUSDT_funding.json").read_text()
)["rows"]
EIGHT_H = 8 * 3_600_000


@pytest.fixture
def binance(monkeypatch):
    """``ccxt.binance`` answering funding-rate history from the fixture, paged like Binance."""
    ccxt = pytest.importorskip("ccxt")

    class FakeBinance(Recording, ccxt.binance):
        def fetch_funding_rate_history(self, symbol=None, since=None, limit=None, params=None):
            self.note(symbol, since, limit)
            rows = [r for r in RAW if since is None or r["fundingTime"] >= since][:limit]
            return [self.parse_funding_rate_history(r) for r in rows]

    return install(monkeypatch, ccxt, "binance", FakeBinance)


def test_pages_forward_and_parses_rates(binance):
    rates = load_funding_rates(
        "binance", "BTC/USDT:USDT", start="2024-01-01", end="2024-01-05", limit=5,
        sleep=lambda s: None,
    )  # fmt: skip
    assert len(rates) == 12 and rates.name == "funding_rate"
    assert rates.index[0] == pd.Timestamp("2024-01-01", tz="UTC")
    assert (np.diff(rates.index.asi8) == EIGHT_H * 10**6).all()
    np.testing.assert_array_equal(rates.to_numpy(), [float(r["fundingRate"]) for r in RAW])
    sinces = [req[1] for req in binance.requests]
    assert sinces[:3] == [
        RAW[0]["fundingTime"],
        RAW[4]["fundingTime"] + 1,
        RAW[9]["fundingTime"] + 1,
    ]


def test_range_is_start_inclusive_end_exclusive(binance):
    rates = load_funding_rates(
        "binance", "BTC/USDT:USDT", start=RAW[2]["fundingTime"], end=RAW[5]["fundingTime"]
    )
    assert rates.index.asi8.tolist() == [RAW[k]["fundingTime"] * 10**6 for k in (2, 3, 4)]


def test_errors_are_one_line(binance):
    import ccxt

    binance.errors = [ccxt.RateLimitExceeded("429")] * 3
    with pytest.raises(OnlineSourceError, match="funding: rate limited by binance after 3 tries"):
        load_funding_rates("binance", "BTC/USDT:USDT", start="2024-01-01", end="2024-01-02",
                           max_retries=2, sleep=lambda s: None)  # fmt: skip
    with pytest.raises(OnlineSourceError, match="returned no funding rates"):
        load_funding_rates("binance", "BTC/USDT:USDT", start="2030-01-01", end="2030-01-02")
    with pytest.raises(ParameterError, match="`start` must be before `end`"):
        load_funding_rates("binance", "BTC/USDT:USDT", start="2024-01-02", end="2024-01-01")
    with pytest.raises(ParameterError, match="did you mean 'binance'"):
        load_funding_rates("binanse", "BTC/USDT:USDT", start="2024-01-01", end="2024-01-02")
