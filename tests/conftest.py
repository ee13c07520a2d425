"""Shared, generic test fixtures: seeded random generators and small valid bars.

Keep this file small; fixtures specific to one area belong in that area's test module.
"""

from __future__ import annotations

from collections.abc import Callable

from research.cli import one_blas_thread

# one BLAS thread, as the console script runs, set before numpy loads its BLAS (research.cli
# imports no numpy): with pytest-xdist workers on two cores, BLAS threads only contend
one_blas_thread()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402


def make_bars(
    n: int = 500,
    *,
    freq: str = "B",
    seed: int = 0,
    start: str = "2020-01-01",
    drift: float = 0.0003,
    vol: float = 0.01,
    price: float = 100.0,
) -> pd.DataFrame:
    """Valid OHLCV bars (the shared bars contract) from a seeded geometric random walk.

    UTC ``DatetimeIndex`` named ``time``; ``open`` is the previous close times a small gap,
    ``high``/``low`` bracket ``open`` and ``close``.
    """
    rng = np.random.default_rng(seed)
    index = pd.date_range(start, periods=n, freq=freq, tz="UTC", name="time")
    log_ret = rng.normal(drift, vol, n)
    close = price * np.exp(np.cumsum(log_ret))
    prev_close = np.r_[price, close[:-1]]
    open_ = prev_close * np.exp(rng.normal(0.0, vol / 4, n))
    wick = np.abs(rng.normal(0.0, vol / 2, (2, n)))
    high = np.maximum(open_, close) * np.exp(wick[0])
    low = np.minimum(open_, close) * np.exp(-wick[1])
    volume = rng.integers(1_000, 100_000, n).astype(np.float64)
    df = pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )
    df.attrs.update(source="test:make_bars", symbol="TEST", adjusted=None, frequency=freq)
    return df


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded numpy generator (seed 12345)."""
    return np.random.default_rng(12345)


@pytest.fixture
def bars_factory() -> Callable[..., pd.DataFrame]:
    """The :func:`make_bars` function, for tests that need several or custom bars."""
    return make_bars


@pytest.fixture
def daily_bars() -> pd.DataFrame:
    """500 seeded business-day bars from 2020-01-01 (UTC)."""
    return make_bars(500, freq="B", seed=0)


@pytest.fixture
def stock_bars() -> dict[str, pd.DataFrame]:
    """Three seeded daily symbols on one shared business-day index (multi-asset bars)."""
    return {
        sym: make_bars(300, freq="B", seed=i + 1) for i, sym in enumerate(("AAA", "BBB", "CCC"))
    }
