"""Shared helpers of the data-layer tests: small files written into ``tmp_path``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

FIXTURES = Path(__file__).parent / "fixtures"

#: a valid daily file: three rows, one with zero volume (legal)
GOOD_CSV = """Date,Open,High,Low,Close,Volume
2020-01-02,10,11,9,10.5,100
2020-01-03,10.5,11.5,10,11,0
2020-01-06,11,12,10.5,11.5,300
"""


def yfinance_history() -> pd.DataFrame:
    """``Ticker.history`` of AAPL, November 2012, as yfinance returns it (New York times)."""
    raw = pd.read_csv(FIXTURES / "yfinance_AAPL_1d_2012-11.csv", index_col="Date")
    raw.index = pd.to_datetime(raw.index, utc=True).tz_convert("America/New_York").rename("Date")
    return raw


@pytest.fixture
def write(tmp_path: Path):
    """``write("name.csv", text_or_bytes)`` -> path of the new file in tmp_path."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return path

    return _write


@pytest.fixture(autouse=True)
def _private_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own bar cache folder: nothing is read from or written to ~/.cache."""
    root = tmp_path / "bar-cache"
    monkeypatch.setenv("QR_CACHE_DIR", str(root))
    return root


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any attempt to open a network connection fail loudly."""
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
