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
``sp500_20``            20 S&P 500 stocks, daily *adjusted closes only*, 1990-2022, from skfolio
                        (BSD-3-Clause), bundled in this package (``data_loaders/data``) as a
                        ``dict[symbol, DataFrame]`` of close-only bars
                        (:func:`data_loaders.universe.close_only_bars`).
======================  =====================================================================

The bokeh stock files hold *raw* prices beside an adjusted close: AAPL splits 2:1 on
2000-06-21 and 2005-02-28, MSFT on 2003-02-18. By default OHLC are scaled by the adjusted
close (``adjust=True``); ``adjust=False`` keeps raw prices, whose split days the validation
summary flags. Their adjusted close also includes actions after 2013 (AAPL's later splits), so
adjusted AAPL prices are small numbers; returns are what matter.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_loaders._catalog import _SAMPLES, SampleInfo, list_samples, sample_info
from data_loaders._optional import package_dir
from data_loaders.sources._base import Bars, Source
from data_loaders.sources._csv import load_csv
from data_loaders.universe import close_only_bars
from data_loaders.validation import validate_bars

__all__ = ["SampleInfo", "list_samples", "load_sample", "sample_info", "SampleSource"]


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


def _load_sp500_20(info: SampleInfo) -> dict[str, pd.DataFrame]:
    path = _dir(info) / "data" / "sp500_20.csv.gz"
    raw = pd.read_csv(path, index_col="Date")
    raw.index = pd.DatetimeIndex(pd.to_datetime(raw.index), tz="UTC").as_unit("ns")
    out = {}
    for sym in info.symbols:
        out[sym] = close_only_bars(raw[sym], symbol=sym, source=f"sample:{info.name}")
        out[sym].attrs["frequency"] = info.frequency
    return out


def load_sample(name: str, *, adjust: bool = True, repair: Iterable[str] | str = ()) -> Bars:
    """Load a bundled data set (offline) as contract bars.

    Parameters
    ----------
    name : str
        One of ``list_samples()`` names: ``sp500``, ``nasdaq``, ``aapl``, ``msft``, ``ibm``,
        ``goog``, ``stocks`` (dict), ``eurusd_1h``, ``sp500_20`` (dict, close-only).
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
    if info.name == "sp500_20":
        return _load_sp500_20(info)
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
