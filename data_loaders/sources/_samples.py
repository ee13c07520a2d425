"""Bundled real market data, read at run time from installed data packages (never copied here).

======================  =====================================================================
name                    data
======================  =====================================================================
``sp500``, ``nasdaq``   S&P 500 / NASDAQ Composite daily OHLCV, 1999-2018, shipped with
                        ``arch`` (core dependency; University of Illinois/NCSA license).
``aapl`` ``msft``       Daily raw OHLCV with the vendor's adjusted close, 2000-2013 (GOOG from
``ibm`` ``goog``        2004), Quandl WIKI prices (public domain) shipped with
                        ``bokeh-sampledata`` (BSD-3-Clause code; extra ``samples``).
``stocks``              The four above as ``dict[symbol, DataFrame]``.
``eurusd_1h``           EUR/USD hourly ask bars, 2017, shipped with ``gym-anytrading`` (MIT;
                        extra ``samples``).
======================  =====================================================================

The bokeh stock files hold *raw* prices beside an adjusted close: AAPL splits 2:1 on
2000-06-21 and 2005-02-28, MSFT on 2003-02-18. By default OHLC are scaled by the adjusted
close (``adjust=True``); ``adjust=False`` keeps raw prices, whose split days the validation
summary flags. Their adjusted close also includes actions after 2013 (AAPL's later splits), so
adjusted AAPL prices are small numbers; returns are what matter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_loaders._optional import MissingDependencyError, package_dir
from data_loaders.errors import DataValidationError, did_you_mean
from data_loaders.sources._base import Bars, Source
from data_loaders.sources._csv import load_csv
from data_loaders.validation import validate_bars

__all__ = ["SampleInfo", "list_samples", "load_sample", "sample_info", "SampleSource"]


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


def _dir(info: SampleInfo) -> Path:
    return package_dir(
        info.module, package=info.package, extra=info.extra, purpose=f"sample {info.name!r}"
    )


def _load_bokeh(symbols: tuple[str, ...], adjust: bool, repair: Any) -> dict[str, pd.DataFrame]:
    path = _dir(_SAMPLES["stocks"]) / "_data" / "stocks.csv.gz"
    raw = pd.read_csv(path)
    ticker = raw["Ticker"].to_numpy()
    out = {}
    for sym in symbols:
        pos = np.flatnonzero(ticker == sym)
        out[sym] = validate_bars(
            raw.iloc[pos].drop(columns="Ticker"),
            source=f"sample:{sym.lower()}",
            adjust=adjust,
            repair=repair,
            symbol=sym,
            rows=pos + 1,
        )
    return out


def load_sample(name: str, *, adjust: bool = True, repair: Iterable[str] | str = ()) -> Bars:
    """Load a bundled data set (offline) as contract bars.

    Parameters
    ----------
    name : str
        One of ``list_samples()`` names: ``sp500``, ``nasdaq``, ``aapl``, ``msft``, ``ibm``,
        ``goog``, ``stocks`` (dict), ``eurusd_1h``.
    adjust : bool
        Scale OHLC by the adjusted close where the data has one (bokeh stocks; arch's adjusted
        close equals its close). ``False`` keeps raw prices.
    repair : iterable of str
        Opt-in repairs, as for :func:`data_loaders.validate_bars`.

    Raises
    ------
    MissingDependencyError
        (a ``ResearchError``) if the providing package is not installed, naming the pip command.
    """
    info = sample_info(name)
    if info.module == "arch":
        path = _dir(info) / "data" / info.name / f"{info.name}.csv.gz"
        return load_csv(
            path, adjust=adjust, repair=repair, symbol=info.symbols[0], source=f"sample:{info.name}"
        )
    if info.module == "gym_anytrading":
        path = _dir(info) / "datasets" / "data" / "FOREX_EURUSD_1H_ASK.csv"
        return load_csv(
            path, adjust=adjust, repair=repair, symbol="EURUSD", source=f"sample:{info.name}"
        )
    frames = _load_bokeh(info.symbols, adjust, repair)
    return frames if info.name == "stocks" else frames[info.symbols[0]]


class SampleSource(Source):
    """Bundled samples: ``load_bars("sample:aapl")``."""

    name = "sample"
    scheme = "sample"
    description = "bundled real data from installed packages (see list_samples())"

    def load(self, target: str | Path, *, tz=None, adjust=True, repair=(), **options: Any) -> Bars:
        self.check_options(options)
        return load_sample(str(target), adjust=adjust, repair=repair)
