"""Bar source plug-ins and their registry.

``ls data_loaders/sources`` shows every source: one module per source, each with one
:class:`~data_loaders.sources._base.Source` subclass, registered below. A new source is a new
module plus one line in :data:`_BUILTIN`; :func:`register_source` adds one at run time.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qsl

from data_loaders._files import MissingFileError
from data_loaders.errors import ParameterError, did_you_mean
from data_loaders.sources._base import Bars, Source
from data_loaders.sources._ccxt import CcxtSource
from data_loaders.sources._csv import CsvSource
from data_loaders.sources._folder import FolderSource
from data_loaders.sources._parquet import ParquetSource
from data_loaders.sources._samples import SampleSource
from data_loaders.sources._yfinance import YFinanceSource

__all__ = ["Source", "Bars", "register_source", "get_source", "list_sources", "resolve_source"]

_BUILTIN: tuple[type[Source], ...] = (
    CsvSource,
    ParquetSource,
    FolderSource,
    SampleSource,
    YFinanceSource,
    CcxtSource,
)
_REGISTRY: dict[str, Source] = {}


def register_source(source: Source) -> Source:
    """Add (or replace) a source instance under ``source.name``; returns it."""
    if not isinstance(source, Source):
        raise ParameterError(
            f"register_source expects a Source instance, got {type(source).__name__}"
        )
    _REGISTRY[source.name] = source
    return source


for _cls in _BUILTIN:
    register_source(_cls())


def get_source(name: str) -> Source:
    """The registered source called ``name`` (``csv``, ``parquet``, ``folder``, ``sample`` ...)."""
    if name not in _REGISTRY:
        raise ParameterError(f"unknown source {name!r}{did_you_mean(name, _REGISTRY)}")
    return _REGISTRY[name]


def list_sources() -> dict[str, Source]:
    """Registered sources by name."""
    return dict(_REGISTRY)


def _schemes() -> dict[str, Source]:
    return {s.scheme: s for s in _REGISTRY.values() if s.scheme}


def resolve_source(spec: str | os.PathLike) -> tuple[Source, str | Path, dict[str, str]]:
    """Choose the source for ``spec``; returns ``(source, target, options_from_query)``.

    ``scheme:target[?key=value&...]`` picks a source by scheme (``sample:aapl``,
    ``yfinance:AAPL?interval=1h``); anything else is a path: a folder, or a file chosen by
    suffix (unknown suffixes are read as CSV, which refuses binary files).
    """
    if isinstance(spec, str):
        scheme, sep, rest = spec.partition(":")
        schemes = _schemes()
        if sep and len(scheme) > 1 and scheme.lower() in schemes:
            target, _, query = rest.partition("?")
            return schemes[scheme.lower()], target, dict(parse_qsl(query, keep_blank_values=True))
        if (
            sep
            and len(scheme) > 1
            and not Path(spec).exists()
            and "/" not in scheme
            and "\\" not in scheme
        ):
            raise MissingFileError(
                f"{spec}: no such file, and {scheme!r} is not a source scheme"
                f"{did_you_mean(scheme.lower(), schemes)}"
            )
    path = Path(spec).expanduser()
    if not path.exists():
        raise MissingFileError(f"{spec}: file not found (rule: the source must exist)")
    for source in _REGISTRY.values():
        if source.scheme is None and source.handles_path(path):
            return source, path, {}
    with open(path, "rb") as f:
        magic = f.read(4)
    return (_REGISTRY["parquet"] if magic == b"PAR1" else _REGISTRY["csv"]), path, {}
