"""Tests of data_loaders/store.py and ``research data download/update`` on recorded responses.

The network layer (``yfinance.Ticker``, a ccxt exchange's ``fetch_ohlcv``) is replaced by fakes
serving the recorded responses of ``tests/data_loaders/fixtures`` (see test_online.py); a test
"publishes" new bars or "revises" old ones by editing what the fake serves.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from data_loaders.errors import ConfigError, DataValidationError
from data_loaders.sources._parquet import load_parquet
from data_loaders.store import (
    MANIFEST,
    StoreSpec,
    download_store,
    is_store,
    read_manifest,
    read_store,
    symbol_file,
    update_store,
)
from research.cli import main
from tests.data_loaders.conftest import FIXTURES, yfinance_history


class FakeTicker:
    """``yfinance.Ticker`` serving ``FakeTicker.history_frame`` within ``[start, end)``."""

    history_frame = yfinance_history()
    calls: list[dict] = []

    def __init__(self, symbol: str):
        self.symbol = symbol

    def history(self, start=None, end=None, **kwargs):
        FakeTicker.calls.append({"symbol": self.symbol, "start": start, "end": end})
        h = FakeTicker.history_frame
        dates = h.index.strftime("%Y-%m-%d")
        keep = np.ones(len(h), bool)
        if start is not None:
            keep &= dates >= start
        if end is not None:
            keep &= dates < end
        return h[keep].copy()


@pytest.fixture
def yf(monkeypatch):
    yfinance = pytest.importorskip("yfinance")
    FakeTicker.history_frame = yfinance_history()
    FakeTicker.calls = []
    monkeypatch.setattr(yfinance, "Ticker", FakeTicker)
    return FakeTicker


def _expected(start: str, end: str) -> np.ndarray:
    """Adjusted OHLCV of the recording in [start, end), computed here from the CSV."""
    h = yfinance_history()
    dates = h.index.strftime("%Y-%m-%d")
    h = h[(dates >= start) & (dates < end)]
    f = h["Adj Close"] / h["Close"]
    return np.column_stack(
        [h["Open"] * f, h["High"] * f, h["Low"] * f, h["Adj Close"], h["Volume"]]
    )


SPEC = StoreSpec(source="yfinance", symbols=("AAPL",), timeframe="1d", start="2012-11-01")


def test_download_then_update_appends_only_the_new_bars(yf, tmp_path):
    store = tmp_path / "store"
    first = download_store(SPEC, store, end="2012-11-16")
    (u,) = first.updates
    assert (u.status, u.new_bars) == ("created", 11) and first.ok
    path = store / "AAPL.parquet"
    before = load_parquet(path)
    np.testing.assert_allclose(before.to_numpy(), _expected("2012-11-01", "2012-11-16"), rtol=1e-12)
    spec, files = read_manifest(store)
    assert spec == SPEC and files["AAPL"] == {
        "file": "AAPL.parquet",
        "last": "2012-11-15 00:00:00+00:00",
    }

    yf.calls.clear()
    report = update_store(store, end="2012-12-01")
    (u,) = report.updates
    assert (u.status, u.new_bars) == ("appended", 10)
    # only the overlap (the 3 last stored bars) and the new bars were asked for
    assert yf.calls == [{"symbol": "AAPL", "start": "2012-11-13", "end": "2012-12-01"}]
    after = load_parquet(path)
    assert len(after) == 21
    pd.testing.assert_frame_equal(after.iloc[:11], before, check_freq=False)
    np.testing.assert_allclose(after.to_numpy(), _expected("2012-11-01", "2012-12-01"), rtol=1e-12)

    again = update_store(store, end="2012-12-01")
    assert again.updates[0].status == "up-to-date" and again.updates[0].new_bars == 0
    pd.testing.assert_frame_equal(load_parquet(path), after)
    assert list(read_store(store)) == ["AAPL"]
    from data_loaders import load_bars

    as_folder = load_bars(str(store))  # a store is an ordinary folder of bars too
    np.testing.assert_array_equal(as_folder["AAPL"].to_numpy(), after.to_numpy())


def test_revised_history_is_reported_in_one_line_and_nothing_is_written(yf, tmp_path):
    store = tmp_path / "s"
    download_store(SPEC, store, end="2012-11-16")
    path = store / "AAPL.parquet"
    stored = path.read_bytes()
    revised = yfinance_history()
    revised.loc[revised.index[9], "Close"] *= 1.01  # 2012-11-14: inside the 3-bar overlap
    yf.history_frame = revised
    report = update_store(store, end="2012-12-01")
    (u,) = report.updates
    assert u.status == "revised" and not report.ok
    assert "\n" not in u.message
    assert "revised history: stored" in u.message and "2012-11-14" in u.message
    assert "nothing written" in u.message
    assert path.read_bytes() == stored  # untouched
    # on request the whole history is downloaded again
    report = update_store(store, end="2012-12-01", rewrite=True)
    assert report.updates[0].status == "rewritten" and report.ok
    got = load_parquet(path)
    assert len(got) == 21
    assert got.loc["2012-11-14", "close"].item() == pytest.approx(revised["Adj Close"].iloc[9])


def test_a_kill_during_the_write_leaves_the_stored_file_valid(yf, tmp_path, monkeypatch):
    store = tmp_path / "s"
    download_store(SPEC, store, end="2012-11-16")
    path = store / "AAPL.parquet"
    stored = path.read_bytes()
    real = pd.DataFrame.to_parquet

    def dying(self, target, *args, **kwargs):
        with open(target, "wb") as fh:  # half a file, then the process "dies"
            fh.write(b"PAR1" + b"\0" * 100)
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_parquet", dying)
    with pytest.raises(KeyboardInterrupt):
        update_store(store, end="2012-12-01")
    assert path.read_bytes() == stored
    assert len(load_parquet(path)) == 11  # still valid bars
    assert sorted(p.name for p in store.iterdir()) == ["AAPL.parquet", MANIFEST]  # no temp file
    monkeypatch.setattr(pd.DataFrame, "to_parquet", real)
    (u,) = update_store(store, end="2012-12-01").updates
    assert (u.status, u.new_bars) == ("appended", 10)


def test_a_killed_download_resumes(yf, tmp_path, monkeypatch):
    spec = StoreSpec(
        source="yfinance", symbols=("AAPL", "MSFT"), timeframe="1d", start="2012-11-01"
    )
    store = tmp_path / "s"
    real = FakeTicker.history

    def killed_on_msft(self, **kwargs):
        if self.symbol == "MSFT":
            raise KeyboardInterrupt
        return real(self, **kwargs)

    monkeypatch.setattr(FakeTicker, "history", killed_on_msft)
    with pytest.raises(KeyboardInterrupt):
        download_store(spec, store, end="2012-11-16")
    assert (store / "AAPL.parquet").exists() and not (store / "MSFT.parquet").exists()
    monkeypatch.setattr(FakeTicker, "history", real)
    report = update_store(store, end="2012-11-16")
    assert [(u.symbol, u.status) for u in report.updates] == [
        ("AAPL", "up-to-date"),
        ("MSFT", "created"),
    ]
    assert len(read_store(store)["MSFT"]) == 11


def test_new_bars_breaking_the_contract_are_refused(yf, tmp_path):
    store = tmp_path / "s"
    download_store(SPEC, store, end="2012-11-16")
    stored = (store / "AAPL.parquet").read_bytes()
    bad = yfinance_history()
    bad.loc[bad.index[15], "High"] = bad["Low"].iloc[15] * 0.5  # high below low on 2012-11-23
    yf.history_frame = bad
    with pytest.raises(DataValidationError, match="2012-11-2"):
        update_store(store, end="2012-12-01")
    assert (store / "AAPL.parquet").read_bytes() == stored


def test_store_errors_name_the_folder(yf, tmp_path):
    with pytest.raises(ConfigError, match=r"not a data store \(no manifest.json\)"):
        update_store(tmp_path)
    assert not is_store(tmp_path)
    download_store(SPEC, tmp_path / "s", end="2012-11-16")
    assert is_store(tmp_path / "s")
    other = StoreSpec(source="yfinance", symbols=("IBM",), timeframe="1d")
    with pytest.raises(ConfigError, match="holds a store of yfinance AAPL"):
        download_store(other, tmp_path / "s")
    with pytest.raises(ConfigError, match=r"'AAPX' is not in the store \(did you mean 'AAPL'\?\)"):
        update_store(tmp_path / "s", symbols=["AAPX"])
    assert symbol_file("BTC/USDT") == "BTC-USDT.parquet"


# ---------------------------------------------------------------------------------------------
# ccxt
# ---------------------------------------------------------------------------------------------
CANDLES = json.loads((FIXTURES / "ccxt_kraken_EURUSD_1h.json").read_text())["candles"]
HOUR_MS = 3_600_000


@pytest.fixture
def kraken(monkeypatch):
    ccxt = pytest.importorskip("ccxt")

    class FakeKraken(ccxt.kraken):
        served = CANDLES[:20]
        requests: list[int] = []

        def load_markets(self, reload=False, params=None):
            self.markets = {"EUR/USD": {"symbol": "EUR/USD"}}
            return self.markets

        def fetch_ohlcv(self, symbol, timeframe="1m", since=None, limit=None, params=None):
            FakeKraken.requests.append(since)
            return [list(c) for c in FakeKraken.served if c[0] >= since][:limit]

        def milliseconds(self):
            return FakeKraken.served[-1][0] + HOUR_MS + 1

    monkeypatch.setattr(ccxt, "kraken", FakeKraken)
    return FakeKraken


def test_ccxt_store_follows_new_candles(kraken, tmp_path):
    spec = StoreSpec(source="ccxt", exchange="kraken", symbols=("EUR/USD",), timeframe="1h",
                     start=str(pd.Timestamp(CANDLES[0][0], unit="ms", tz="UTC")))  # fmt: skip
    store = tmp_path / "fx"
    assert download_store(spec, store).updates[0].new_bars == 20
    kraken.served = CANDLES  # ten more hours published
    kraken.requests = []
    (u,) = update_store(store).updates
    assert (u.status, u.new_bars) == ("appended", 10)
    assert kraken.requests[0] == CANDLES[17][0]  # from the third-last stored candle
    bars = read_store(store)["EUR/USD"]
    np.testing.assert_array_equal(bars.to_numpy(), np.array([c[1:6] for c in CANDLES]))
    assert (store / "EUR-USD.parquet").exists()


# ---------------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------------
def test_cli_download_update_and_revised_exit_status(yf, tmp_path, capsys):
    store = str(tmp_path / "cli")
    code = main(["data", "download", "yfinance:AAPL", "--start", "2012-11-01", "--end",
                 "2012-11-16", "--to", store])  # fmt: skip
    out = capsys.readouterr()
    assert code == 0 and "AAPL.parquet: created: 11 bars" in out.out
    assert main(["data", "update", store, "--end", "2012-12-01", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["ok"] and payload["updates"][0]["new_bars"] == 10
    revised = yfinance_history()
    revised.loc[revised.index[20], "Volume"] += 1
    yf.history_frame = revised
    assert main(["data", "update", store]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "revised history: stored volume at 2012-11-30" in err
    assert main(["data", "download", "quandl:AAPL", "--to", store]) == 2
    assert "download SOURCE must be yfinance:" in capsys.readouterr().err


def test_a_failing_source_is_reported_and_the_other_symbols_still_update(
    yf, tmp_path, capsys, monkeypatch
):
    spec = StoreSpec(
        source="yfinance", symbols=("MSFT", "AAPL"), timeframe="1d", start="2012-11-01"
    )
    store = tmp_path / "s"
    download_store(spec, store, end="2012-11-16")
    real = FakeTicker.history

    def msft_offline(self, **kwargs):
        if self.symbol == "MSFT":
            raise ConnectionError("Could not resolve host: query2.finance.yahoo.com")
        return real(self, **kwargs)

    monkeypatch.setattr(FakeTicker, "history", msft_offline)
    code = main(["data", "update", str(store), "--end", "2012-12-01"])
    out = capsys.readouterr()
    assert code == 2
    (line,) = out.err.strip().splitlines()
    assert "MSFT.parquet: failed: yfinance:MSFT: could not download from Yahoo Finance" in line
    assert "AAPL.parquet: appended: 10 new bars" in out.out
    assert len(load_parquet(store / "MSFT.parquet")) == 11  # untouched
    _, files = read_manifest(store)
    assert files["AAPL"]["last"] == "2012-11-30 00:00:00+00:00"
