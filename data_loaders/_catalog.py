"""The catalog of bundled real data sets: names, symbols, source package and license.

Light on purpose (standard library only), so ``research data samples`` and ``list_samples()``
answer without loading pandas; the loading itself is in ``data_loaders/sources/_samples.py``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from data_loaders._optional import MissingDependencyError, package_dir
from data_loaders.errors import DataValidationError, did_you_mean

__all__ = ["SampleInfo", "list_samples", "sample_info"]


@dataclass(frozen=True)
class SampleInfo:
    """Description of a bundled data set (``list_samples()`` returns these)."""

    name: str
    description: str
    symbols: tuple[str, ...]
    frequency: str
    start: str
    end: str
    rows: int  # total rows over all symbols
    package: str  # pip distribution providing the data
    module: str  # importable name of that package
    extra: str | None  # quant-research extra installing it (None: core dependency)
    license: str
    origin: str  # where the package took the data from

    @property
    def available(self) -> bool:
        """True if the providing package is installed (checked without importing it)."""
        try:
            package_dir(self.module, package=self.package, extra=self.extra, purpose="")
        except MissingDependencyError:
            return False
        return True

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["symbols"] = list(self.symbols)
        d["available"] = self.available
        return d


_ARCH = dict(
    package="arch",
    module="arch",
    extra=None,
    license="NCSA (University of Illinois/NCSA Open Source License)",
)
_BOKEH = dict(
    package="bokeh-sampledata",
    module="bokeh_sampledata",
    extra="samples",
    license="public domain data (Quandl WIKI Prices) in a BSD-3-Clause package",
    origin="Quandl WIKI Prices via bokeh-sampledata (stocks.csv.gz)",
)
_BOKEH_ROWS = {"AAPL": 3270, "MSFT": 3270, "IBM": 3270, "GOOG": 2148}
_SP500_20 = (
    "AAPL", "AMD", "BAC", "BBY", "CVX", "GE", "HD", "JNJ", "JPM", "KO",
    "LLY", "MRK", "MSFT", "PEP", "PFE", "PG", "RRC", "UNH", "WMT", "XOM",
)  # fmt: skip

_SAMPLES: dict[str, SampleInfo] = {
    "sp500": SampleInfo(
        "sp500",
        "S&P 500 index daily OHLCV",
        ("SP500",),
        "1D",
        "1999-01-04",
        "2018-12-31",
        5031,
        origin="arch.data.sp500 (sp500.csv.gz)",
        **_ARCH,
    ),
    "nasdaq": SampleInfo(
        "nasdaq",
        "NASDAQ Composite index daily OHLCV",
        ("NASDAQ",),
        "1D",
        "1999-01-04",
        "2018-12-31",
        5031,
        origin="arch.data.nasdaq (nasdaq.csv.gz)",
        **_ARCH,
    ),
    **{
        sym.lower(): SampleInfo(
            sym.lower(),
            f"{sym} daily raw OHLCV with adjusted close (splits/dividends)",
            (sym,),
            "1D",
            "2004-08-19" if sym == "GOOG" else "2000-03-01",
            "2013-03-01",
            _BOKEH_ROWS[sym],
            **_BOKEH,
        )
        for sym in ("AAPL", "MSFT", "IBM", "GOOG")
    },
    "stocks": SampleInfo(
        "stocks",
        "AAPL, GOOG, IBM, MSFT daily OHLCV as a dict of symbol -> bars",
        ("AAPL", "GOOG", "IBM", "MSFT"),
        "1D",
        "2000-03-01",
        "2013-03-01",
        sum(_BOKEH_ROWS.values()),
        **_BOKEH,
    ),
    "sp500_20": SampleInfo(
        "sp500_20",
        "20 S&P 500 stocks, daily adjusted closes (close-only) as a dict of symbol -> bars",
        _SP500_20,
        "1D",
        "1990-01-02",
        "2022-12-28",
        8313 * len(_SP500_20),
        package="quant-research",
        module="data_loaders",
        extra=None,
        license="BSD-3-Clause (skfolio; data_loaders/data/LICENSE-skfolio.txt)",
        origin="skfolio 1.12.2 skfolio/datasets/data/sp500_dataset.csv.gz, bundled in this package",
    ),
    "eurusd_1h": SampleInfo(
        "eurusd_1h",
        "EUR/USD hourly ask OHLCV (FX: Sunday 22:00 to Friday 21:00 UTC)",
        ("EURUSD",),
        "1h",
        "2017-01-01",
        "2017-12-29",
        6225,
        package="gym-anytrading",
        module="gym_anytrading",
        extra="samples",
        license="MIT",
        origin="gym_anytrading/datasets/data/FOREX_EURUSD_1H_ASK.csv",
    ),
}


def list_samples() -> list[SampleInfo]:
    """Every bundled data set, with its symbols, frequency, rows, source package and license."""
    return list(_SAMPLES.values())


def sample_info(name: str) -> SampleInfo:
    """The :class:`SampleInfo` of ``name``; unknown names raise with a did-you-mean."""
    key = name.strip().lower()
    if key not in _SAMPLES:
        raise DataValidationError(f"sample:{name}: unknown sample{did_you_mean(key, _SAMPLES)}")
    return _SAMPLES[key]
