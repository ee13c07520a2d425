"""numba's on-disk cache kept in step with the kernel sources.

numba keys a cached function by its own source file only, but the kernels inline functions from
other files (:mod:`backtest._order_nb` into :mod:`backtest._sim_nb`, that into
:mod:`strategies._fused_nb`, ...). After an edit or an upgrade that touches only the inlined
file, the cached caller would run the old arithmetic. :func:`ensure_current_kernels` prevents
that: the first import of a project package hashes every ``*_nb.py`` kernel module (names and
contents); when the hash differs from the one stamped in the numba cache, the project's numba
cache entries are deleted (numba compiles them again on first use) and the new hash is stamped.

The stamp is ``kernel-sources.sha1`` in ``$NUMBA_CACHE_DIR``, else in
``data_loaders/__pycache__``; it matches none of the cache's entry patterns, so
``research cache clear`` leaves it (a cleared cache is already current).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from data_loaders.lru import PACKAGES, CacheArea, evict, numba_area

__all__ = ["ensure_current_kernels", "kernel_sources_digest", "stamp_path"]

_PROJECT = Path(__file__).resolve().parents[1]
_checked = False


def kernel_sources_digest(project: Path = _PROJECT) -> str:
    """SHA-1 over the relative paths and bytes of every ``*_nb.py`` in the project's packages
    (kernel modules sit in a package or one folder below it)."""
    h = hashlib.sha1()
    for pkg in PACKAGES:
        found = [*(project / pkg).glob("*_nb.py"), *(project / pkg).glob("*/*_nb.py")]
        for path in sorted(found):
            h.update(path.relative_to(project).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def stamp_path(area: CacheArea) -> Path:
    """Where the digest of the sources the cached kernels were compiled from is kept."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return area.roots[0] / "kernel-sources.sha1"
    return _PROJECT / "data_loaders" / "__pycache__" / "kernel-sources.sha1"


def ensure_current_kernels(*, force: bool = False) -> bool:
    """Delete the project's cached kernels if any kernel source changed since they were built.

    Runs once per process (``force``: again). Returns True when the cache was cleared. A cache
    folder that cannot be written is left alone (numba cannot cache there either).
    """
    global _checked
    if _checked and not force:
        return False
    _checked = True
    area = numba_area()
    stamp = stamp_path(area)
    digest = kernel_sources_digest()
    try:
        if stamp.is_file() and stamp.read_text().strip() == digest:
            return False
        evict(area, 0)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        tmp = stamp.with_name(f".{stamp.name}.{os.getpid()}")
        tmp.write_text(digest + "\n")
        os.replace(tmp, stamp)
    except OSError:
        return False
    return True
