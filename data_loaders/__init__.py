"""Data loaders: sources, validation, cleaning, resampling, bundled samples, synthetic bars.

Everything here hands out *bars*: a DataFrame with a tz-aware UTC ``DatetimeIndex`` named
``time`` (strictly increasing, ns unit), float64 columns ``open high low close volume`` (prices
> 0, ``high >= max(open, close)``, ``low <= min(open, close)``, volume >= 0) and ``attrs``
``source``, ``symbol``, ``adjusted``, ``frequency``, ``repairs``. Several symbols are a
``dict[symbol, DataFrame]``.

Start with :func:`load_bars` (``"sample:sp500"``, a CSV/Parquet file, a folder, ``yfinance:``,
``ccxt:``) and :func:`validate_source` for a summary; :func:`synthetic_bars` for tests.
:func:`download_store` / :func:`update_store` keep a local folder of online bars fresh
incrementally (``research data download/update``).

Public names are imported on first use (PEP 562), so ``from data_loaders.errors import ...``
and ``research --help`` stay fast: pandas, pyarrow and numba load only when needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from data_loaders import errors
from data_loaders.errors import (
    ConfigError,
    DataTooShortError,
    DataValidationError,
    ParameterError,
    ResearchError,
    StrategyError,
    did_you_mean,
)
from data_loaders.kernel_cache import ensure_current_kernels
from data_loaders.lazy import lazy_exports

# every package imports this one before any kernel runs: drop cached kernels built from old code
ensure_current_kernels()

#: public name -> module that defines it
_LAZY: dict[str, str] = {
    "MissingFileError": "data_loaders._files",
    "MissingDependencyError": "data_loaders._optional",
    "OnlineSourceError": "data_loaders.sources._online",
    "load_bars": "data_loaders._load",
    "validate_source": "data_loaders._load",
    "load_csv": "data_loaders.sources._csv",
    "load_parquet": "data_loaders.sources._parquet",
    "load_folder": "data_loaders.sources._folder",
    "load_sample": "data_loaders.sources._samples",
    "list_samples": "data_loaders._catalog",
    "SampleInfo": "data_loaders._catalog",
    "load_yfinance": "data_loaders.sources._yfinance",
    "load_ccxt": "data_loaders.sources._ccxt",
    "load_funding_rates": "data_loaders.sources._ccxt",
    "Source": "data_loaders.sources",
    "register_source": "data_loaders.sources",
    "get_source": "data_loaders.sources",
    "list_sources": "data_loaders.sources",
    "validate_bars": "data_loaders.validation",
    "check_bars": "data_loaders.validation",
    "summarize_bars": "data_loaders.validation",
    "ValidationReport": "data_loaders.validation",
    "REPAIRS": "data_loaders.validation",
    "detect_splits": "data_loaders.corporate_actions",
    "SplitFlag": "data_loaders.corporate_actions",
    "resample_bars": "data_loaders.resample",
    "check_resample_rule": "data_loaders.resample",
    "check_timezone": "data_loaders._dates",
    "fingerprint": "data_loaders._fingerprint",
    "data_fingerprint": "data_loaders._fingerprint",
    "matrix_fingerprint": "data_loaders._fingerprint",
    "BarCache": "data_loaders.cache",
    "cached_bars": "data_loaders.cache",
    "default_cache_dir": "data_loaders.cache",
    "Universe": "data_loaders.universe",
    "align_universe": "data_loaders.universe",
    "close_only_bars": "data_loaders.universe",
    "StoreSpec": "data_loaders.store",
    "download_store": "data_loaders.store",
    "update_store": "data_loaders.store",
    "read_store": "data_loaders.store",
    "synthetic_bars": "data_loaders.synthetic",
    "synthetic_universe": "data_loaders.synthetic",
    "cointegrated_pair": "data_loaders.synthetic",
    "Regime": "data_loaders.synthetic",
    "DEFAULT_REGIMES": "data_loaders.synthetic",
}

__all__ = [*errors.__all__, *_LAZY]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)


if TYPE_CHECKING:  # static analysers and IDEs see the real names
    from data_loaders._catalog import SampleInfo, list_samples
    from data_loaders._dates import check_timezone
    from data_loaders._files import MissingFileError
    from data_loaders._fingerprint import data_fingerprint, fingerprint, matrix_fingerprint
    from data_loaders._load import load_bars, validate_source
    from data_loaders._optional import MissingDependencyError
    from data_loaders.cache import BarCache, cached_bars, default_cache_dir
    from data_loaders.corporate_actions import SplitFlag, detect_splits
    from data_loaders.resample import check_resample_rule, resample_bars
    from data_loaders.sources import Source, get_source, list_sources, register_source
    from data_loaders.sources._ccxt import load_ccxt, load_funding_rates
    from data_loaders.sources._csv import load_csv
    from data_loaders.sources._folder import load_folder
    from data_loaders.sources._online import OnlineSourceError
    from data_loaders.sources._parquet import load_parquet
    from data_loaders.sources._samples import load_sample
    from data_loaders.sources._yfinance import load_yfinance
    from data_loaders.store import StoreSpec, download_store, read_store, update_store
    from data_loaders.synthetic import (
        DEFAULT_REGIMES,
        Regime,
        cointegrated_pair,
        synthetic_bars,
        synthetic_universe,
    )
    from data_loaders.validation import (
        REPAIRS,
        ValidationReport,
        check_bars,
        summarize_bars,
        validate_bars,
    )
