"""Atomic file writes: a temporary file in the target's folder, fsync, then ``os.replace``.

A reader, or a process killed at any moment, sees either the old file or the new one, never half
a file. The temporary file is removed when the write fails.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write", "atomic_write_text"]


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` to fill a temporary file, then move it over ``path`` atomically.

    Args:
        path: the destination; its folder is created when missing.
        write: writes the whole content to the path it receives (e.g. ``df.to_parquet``).

    Returns:
        ``path`` as a Path. If ``write`` raises, ``path`` is untouched and the error propagates.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        try:  # mkstemp makes the file 0600: give it the mode the file has, or open()'s default
            os.fchmod(fd, path.stat().st_mode & 0o777 if path.exists() else _default_mode())
        finally:
            os.close(fd)
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


def _default_mode() -> int:
    """``0o666`` minus the process umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """:func:`atomic_write` of ``text`` (UTF-8)."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
