"""A folder of one file per symbol -> ``dict[symbol, DataFrame]``.

The symbol is the file name without its suffix, upper-cased (``aapl.csv`` -> ``AAPL``,
``btc-usdt.parquet`` -> ``BTC-USDT``). Every file is validated; the first bad file stops the load
with its own message. Only ``.csv``, ``.csv.gz``, ``.tsv``, ``.parquet`` and ``.pq`` files are
read: hidden files and files of other types (``README.txt``, ``notes.md``, ``LICENSE``) are
ignored. (A single ``.txt`` file of bars loads as CSV, but not inside a folder, where text files
are usually documentation.)
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from data_loaders._files import MissingFileError
from data_loaders.errors import DataValidationError
from data_loaders.sources._base import Source
from data_loaders.sources._csv import CsvSource, load_csv
from data_loaders.sources._parquet import ParquetSource, load_parquet

__all__ = ["load_folder", "FolderSource", "symbol_of"]

#: text files in a folder are documentation, not bars
_FOLDER_CSV_SUFFIXES = tuple(s for s in CsvSource.suffixes if s != ".txt")
_READERS = ((_FOLDER_CSV_SUFFIXES, load_csv), (ParquetSource.suffixes, load_parquet))


def symbol_of(path: Path) -> str:
    """``aapl.csv.gz`` -> ``AAPL``."""
    name = path.name
    for suffixes, _ in _READERS:
        for suffix in sorted(suffixes, key=len, reverse=True):
            if name.lower().endswith(suffix):
                return name[: -len(suffix)].upper()
    return path.stem.upper()


def load_folder(
    path: str | os.PathLike,
    *,
    tz: str | None = None,
    adjust: bool = True,
    repair: Iterable[str] | str = (),
) -> dict[str, pd.DataFrame]:
    """Load every ``.csv``/``.csv.gz``/``.tsv``/``.parquet`` file of a folder, one per symbol.

    Returns
    -------
    dict[str, DataFrame]
        Symbol -> contract bars, sorted by symbol; ``attrs["symbol"]`` is set on each.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise MissingFileError(f"{path}: folder not found (rule: the source must exist)")
    if not p.is_dir():
        raise DataValidationError(f"{path}: not a folder")
    files: dict[str, tuple[Path, Any]] = {}
    for f in sorted(p.iterdir()):
        if f.name.startswith(".") or not f.is_file():
            continue
        reader = next((r for suffixes, r in _READERS if f.name.lower().endswith(suffixes)), None)
        if reader is None:
            continue
        sym = symbol_of(f)
        if sym in files:
            raise DataValidationError(
                f"{path}: files {files[sym][0].name!r} and {f.name!r} both give symbol {sym!r} "
                "(rule: one file per symbol)"
            )
        files[sym] = (f, reader)
    if not files:
        raise DataValidationError(
            f"{path}: no .csv, .csv.gz, .tsv or .parquet files in this folder"
        )
    return {
        sym: reader(f, tz=tz, adjust=adjust, repair=repair, symbol=sym)
        for sym, (f, reader) in sorted(files.items())
    }


class FolderSource(Source):
    """A folder of one file per symbol: ``load_bars("data/")``."""

    name = "folder"
    description = "folder of one CSV/Parquet file per symbol -> dict[symbol, DataFrame]"

    def handles_path(self, path: Path) -> bool:
        return path.is_dir()

    def load(self, target: str | Path, *, tz=None, adjust=True, repair=(), **options: Any):
        self.check_options(options)
        return load_folder(target, tz=tz, adjust=adjust, repair=repair)
