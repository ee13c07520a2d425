"""A local Parquet cache of bars keyed by source and range (used by the online sources).

* Location: ``$QR_CACHE_DIR`` if set, else ``~/.cache/quant-research``.
* Layout: ``<root>/<source>/<readable-key>-<sha256 prefix>.parquet``; the key is the source name
  plus every parameter that changes the data (symbol, interval, start, end, adjust ...), in
  canonical JSON, so two different requests never share a file.
* Safety: the cache writes only inside a folder it created or an empty one, marked with a
  standard ``CACHEDIR.TAG``; it refuses a non-empty folder without that tag, and it never
  follows or replaces a symlink. Writes go to a temporary file renamed into place, so a crash
  leaves no half file.
* Never stale or mismatched: each entry carries its full key in the Parquet metadata and is
  served only to a request with exactly that key (a damaged or foreign file at the entry's
  path is a miss, and the next fetch replaces it). Online sources put the end of an open range
  (the last complete bar) in the key, so a later request asks the source again.
* Bounded: after each write the least recently used entries (served or written last) are
  deleted until the cache holds at most ``$QR_CACHE_MAX_DATA`` (default 2 GB); see
  :mod:`data_loaders.lru` and ``research cache``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from data_loaders.errors import ParameterError, ResearchError
from data_loaders.lru import enforce_cap, touch

__all__ = ["ENV_VAR", "default_cache_dir", "BarCache", "cached_bars"]

ENV_VAR = "QR_CACHE_DIR"
_DEFAULT = "~/.cache/quant-research"
_TAG = "CACHEDIR.TAG"
_TAG_TEXT = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by quant-research (data_loaders.cache).\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)
_META_KEY = b"quant_research.cache"


def default_cache_dir() -> Path:
    """``$QR_CACHE_DIR`` or ``~/.cache/quant-research`` (not created here)."""
    return Path(os.environ.get(ENV_VAR) or _DEFAULT).expanduser()


def _slug(text: str, limit: int = 60) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", text).strip("_")[:limit] or "_"


def _canonical(params: Mapping[str, Any]) -> str:
    return json.dumps({k: params[k] for k in sorted(params)}, default=str, separators=(",", ":"))


class BarCache:
    """Parquet cache of single-symbol bars.

    Parameters
    ----------
    root : str or Path, optional
        Cache folder (default :func:`default_cache_dir`, read when used).
    """

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = root

    @property
    def directory(self) -> Path:
        return Path(self.root).expanduser() if self.root is not None else default_cache_dir()

    def key(self, source: str, params: Mapping[str, Any]) -> str:
        """Canonical key text of a request."""
        return f"{source}|{_canonical(params)}"

    def path_for(self, source: str, params: Mapping[str, Any]) -> Path:
        """Where the entry of this request lives (whether or not it exists)."""
        key = self.key(source, params)
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        readable = _slug("_".join(str(params[k]) for k in sorted(params) if params[k] is not None))
        return self.directory / _slug(source) / f"{readable}-{digest}.parquet"

    def _ensure_root(self) -> Path:
        root = self.directory
        if root.exists() and not root.is_dir():
            raise ResearchError(f"cache directory {root} is a file; set {ENV_VAR} to a folder")
        if root.exists() and not (root / _TAG).exists():
            if any(root.iterdir()):
                raise ResearchError(
                    f"cache directory {root} holds files the cache did not create (no {_TAG}); "
                    f"refusing to write there: set {ENV_VAR} to a new or empty folder"
                )
        root.mkdir(parents=True, exist_ok=True)
        tag = root / _TAG
        if not tag.exists():
            tag.write_text(_TAG_TEXT)
        return root

    @staticmethod
    def _entry_key(path: Path) -> str | None:
        import pyarrow.parquet as pq

        try:
            meta = pq.read_schema(path).metadata or {}
        except Exception:  # noqa: BLE001 - not a Parquet file at all
            return None
        raw = meta.get(_META_KEY)
        return json.loads(raw)["key"] if raw else None

    def get(self, source: str, params: Mapping[str, Any]) -> pd.DataFrame | None:
        """The cached bars of this request, or None (missing, unreadable or another key)."""
        import pyarrow.parquet as pq

        path = self.path_for(source, params)
        if not path.is_file():
            return None
        try:
            table = pq.read_table(path)
        except Exception:  # noqa: BLE001 - a damaged entry is a miss; put() replaces it
            return None
        raw = (table.schema.metadata or {}).get(_META_KEY)
        if not raw:
            return None
        meta = json.loads(raw)
        if meta.get("key") != self.key(source, params):
            return None
        df = table.to_pandas()
        touch(path)  # last use, for the size cap's least-recently-used eviction
        df.attrs = {
            k: tuple(v) if isinstance(v, list) else v for k, v in meta.get("attrs", {}).items()
        }
        return df

    def put(self, source: str, params: Mapping[str, Any], bars: pd.DataFrame) -> Path:
        """Store ``bars`` for this request; returns the entry path.

        A damaged entry at that path is replaced; a symlink or a folder there is refused
        (ResearchError), as is a cache root the cache did not create.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._ensure_root()
        path = self.path_for(source, params)
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise ResearchError(f"refusing to overwrite {path}: it is not a cache entry")
        path.parent.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pandas(bars, preserve_index=True)
        attrs = {k: list(v) if isinstance(v, tuple) else v for k, v in bars.attrs.items()}
        meta = dict(table.schema.metadata or {})
        meta.pop(b"PANDAS_ATTRS", None)
        meta[_META_KEY] = json.dumps(
            {"key": self.key(source, params), "attrs": attrs}, default=str
        ).encode()
        table = table.replace_schema_metadata(meta)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".parquet")
        os.close(fd)
        try:
            pq.write_table(table, tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        enforce_cap("data", data_root=self.directory, keep=[path])
        return path

    def clear(self) -> int:
        """Delete every cache entry (only files the cache wrote); returns how many."""
        root = self.directory
        if not (root / _TAG).exists():
            return 0
        n = 0
        for path in root.glob("*/*.parquet"):
            if path.is_file() and not path.is_symlink() and self._entry_key(path) is not None:
                path.unlink()
                n += 1
        return n


def cached_bars(
    source: str,
    params: Mapping[str, Any],
    fetch: Callable[[], pd.DataFrame],
    *,
    cache: BarCache | bool | None = True,
    refresh: bool = False,
) -> pd.DataFrame:
    """Return cached bars for ``(source, params)`` or call ``fetch()`` and cache its result.

    ``cache=False``/``None`` bypasses the cache; ``refresh=True`` fetches and replaces the entry.
    """
    if cache is None or cache is False:
        return fetch()
    if cache is not True and not isinstance(cache, BarCache):
        raise ParameterError(
            f"`cache` must be True, False, None or a BarCache, got {type(cache).__name__} {cache!r}"
        )
    store = BarCache() if cache is True else cache
    if not refresh:
        hit = store.get(source, params)
        if hit is not None:
            return hit
    bars = fetch()
    store.put(source, params, bars)
    return bars
