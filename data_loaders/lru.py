"""Size caps with least-recently-used eviction for the project's on-disk caches.

Three caches, each a folder and the file patterns that are its entries (nothing else in the
folder is ever counted or deleted):

==========  ===========================================  =======================  =========
name        folder                                       entries                  cap
==========  ===========================================  =======================  =========
``data``    ``$QR_CACHE_DIR`` (``~/.cache/quant-research``)  ``<source>/*.parquet``   2 GiB
``explore`` ``<data folder>/explore``                    ``features-*.parquet``   4 GiB
``numba``   ``$NUMBA_CACHE_DIR``, else the ``__pycache__``   ``*.nbi``, ``*.nbc``     512 MiB
            folders of the project's packages
==========  ===========================================  =======================  =========

The cap of cache ``name`` is ``$QR_CACHE_MAX_<NAME>`` (``QR_CACHE_MAX_DATA=500MB``; units
``B``, ``KB``, ``MB``, ``GB``, ``TB`` in powers of 1024, a bare number is bytes; ``none`` = no
cap). "Recently used" is the file's modification time: the data and exploration caches touch an
entry when they serve it; numba's entries age from their compilation. An entry of the numba
cache is a group (an index ``.nbi`` with its ``.nbc`` data files), evicted as a whole.

Safety: eviction deletes only regular files matching the cache's patterns whose real path is
inside the cache's real folder; symlinks are never followed nor deleted.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from data_loaders.errors import ConfigError

__all__ = [
    "CacheArea",
    "CACHES",
    "DEFAULT_CAPS",
    "cache_area",
    "cache_cap",
    "parse_size",
    "format_size",
    "touch",
    "evict",
    "enforce_cap",
    "numba_entry",
    "numba_area",
    "PACKAGES",
]

#: default caps in bytes
DEFAULT_CAPS = {"data": 2 * 1024**3, "explore": 4 * 1024**3, "numba": 512 * 1024**2}
#: the caches :func:`cache_area` knows, in display order
CACHES = tuple(DEFAULT_CAPS)
_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
#: the project's packages (where numba caches their kernels next to the sources)
PACKAGES = ("backtest", "strategies", "research", "data_loaders")


@dataclass(frozen=True)
class CacheArea:
    """One cache: its folders, the glob patterns of its entries (relative to a folder) and how
    files group into entries (``group``: file path -> entry key; default one file each)."""

    name: str
    roots: tuple[Path, ...]
    patterns: tuple[str, ...]
    group: Callable[[Path], str] | None = field(default=None, compare=False)

    def files(self) -> list[Path]:
        """The entry files: regular files (not symlinks) matching a pattern, inside a root."""
        out: dict[Path, None] = {}
        for root in self.roots:
            if not root.is_dir() or root.is_symlink():
                continue
            real = root.resolve()
            for pattern in self.patterns:
                for p in root.glob(pattern):
                    if p.name.startswith(".") or p.is_symlink() or not p.is_file():
                        continue  # hidden: a temporary file being written
                    if real in p.resolve().parents:
                        out[p] = None
        return list(out)

    def entries(self) -> dict[str, list[Path]]:
        """Files grouped into entries (``group`` key, else the file path)."""
        groups: dict[str, list[Path]] = {}
        for p in self.files():
            key = self.group(p) if self.group is not None else str(p)
            groups.setdefault(key, []).append(p)
        return groups

    def size(self) -> tuple[int, int]:
        """``(entries, bytes)`` the cache holds now."""
        groups = self.entries()
        return len(groups), sum(_size(p) for ps in groups.values() for p in ps)


def parse_size(text: str, where: str) -> int | None:
    """Bytes of a size text (``"512MB"``, ``"2G"``, ``"1000"``); ``None`` for ``none``/``off``.

    Raises:
        ConfigError: not a size; the message names ``where``.
    """
    t = str(text).strip().upper().replace(" ", "")
    if t in ("NONE", "OFF", "UNLIMITED", "INF"):
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)(I?B)?", t)
    if not m:
        raise ConfigError(
            f"{where}: {text!r} is not a size (give e.g. 500MB, 2GB, a number of bytes, or none)"
        )
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def format_size(n: int | None) -> str:
    """``1.5 GB``-style text (powers of 1024); ``none`` for no cap."""
    if n is None:
        return "none"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def cache_cap(name: str) -> int | None:
    """The cap of cache ``name`` in bytes: ``$QR_CACHE_MAX_<NAME>`` or the default."""
    var = f"QR_CACHE_MAX_{name.upper()}"
    raw = os.environ.get(var)
    return DEFAULT_CAPS[name] if raw in (None, "") else parse_size(raw, var)


def cache_area(name: str, data_root: Path | None = None) -> CacheArea:
    """The :class:`CacheArea` of ``data``, ``explore`` or ``numba`` (``data_root``: the data
    cache folder, default :func:`data_loaders.cache.default_cache_dir`)."""
    if name not in DEFAULT_CAPS:
        from data_loaders.errors import did_you_mean

        raise ConfigError(
            f"cache {name!r} is not one of {', '.join(CACHES)}{did_you_mean(name, CACHES)}"
        )
    if name == "numba":
        return numba_area()
    from data_loaders.cache import default_cache_dir

    root = Path(data_root) if data_root is not None else default_cache_dir()
    if name == "data":  # only a folder the cache created (tagged) is ever counted or cleaned
        tagged = (root / "CACHEDIR.TAG").is_file()
        subdirs = _subdirs(root) if tagged else []
        patterns = tuple(f"{d.name}/*.parquet" for d in subdirs if d.name != "explore")
        return CacheArea("data", (root,), patterns)
    return CacheArea("explore", (root / "explore",), ("features-*.parquet",))


def numba_area() -> CacheArea:
    """The numba cache: ``$NUMBA_CACHE_DIR``, else the ``__pycache__`` folders of the project's
    packages (no pandas import: :mod:`data_loaders.kernel_cache` checks it at every start)."""
    env = os.environ.get("NUMBA_CACHE_DIR")
    if env:
        roots: tuple[Path, ...] = (Path(env).expanduser(),)
        patterns = ("**/*.nbi", "**/*.nbc")
    else:
        project = Path(__file__).resolve().parents[1]
        roots = tuple(project / pkg for pkg in PACKAGES)
        patterns = ("**/__pycache__/*.nbi", "**/__pycache__/*.nbc")
    return CacheArea("numba", roots, patterns, group=numba_entry)


def numba_entry(path: Path) -> str:
    """Entry key of a numba cache file: its folder and name without ``[.N].nbi|.nbc``."""
    return str(path.parent / re.sub(r"(\.\d+)?\.nb[ic]$", "", path.name))


def touch(path: str | os.PathLike) -> None:
    """Mark a cache entry as just used (its modification time becomes now); errors ignored."""
    try:
        os.utime(path)
    except OSError:
        pass


def evict(
    area: CacheArea, cap: int | None, *, keep: Iterable[str | os.PathLike] = ()
) -> list[Path]:
    """Delete the least recently used entries of ``area`` until it holds at most ``cap`` bytes.

    An entry's last use is the newest modification time of its files (ties: by name). Entries
    holding a file of ``keep`` (just written or read) are not deleted. Returns the deleted files.
    """
    if cap is None:
        return []
    kept = {os.path.abspath(k) for k in keep}
    groups = area.entries()
    sizes = {k: sum(_size(p) for p in ps) for k, ps in groups.items()}
    total = sum(sizes.values())
    order = sorted(groups, key=lambda k: (max(_mtime(p) for p in groups[k]), k))
    removed: list[Path] = []
    for key in order:
        if total <= cap:
            break
        if any(os.path.abspath(p) in kept for p in groups[key]):
            continue
        for p in groups[key]:
            try:
                p.unlink()
                removed.append(p)
            except FileNotFoundError:
                pass
        total -= sizes[key]
    return removed


def enforce_cap(name: str, *, data_root: Path | None = None, keep: Sequence = ()) -> list[Path]:
    """:func:`evict` cache ``name`` down to :func:`cache_cap` of it."""
    return evict(cache_area(name, data_root), cache_cap(name), keep=keep)


def _subdirs(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(d for d in root.iterdir() if d.is_dir() and not d.is_symlink())


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def _mtime(p: Path) -> float:
    try:
        return p.stat().st_mtime
    except OSError:
        return 0.0
