"""Atomic pickle checkpoints: a reader sees the previous file or the new one, never half of one.

The state is pickled to a temporary file in the same folder, then moved over the target with
:func:`os.replace` (atomic on POSIX and Windows), so a SIGKILL at any moment leaves a complete
checkpoint behind. There is no fsync (the SQLite trial store's ``synchronous=NORMAL`` makes the
same choice): a killed process loses nothing; after a power loss a checkpoint may be missing or
unreadable, which :func:`load_checkpoint` reports as no checkpoint, and the search then replays
its recorded trials from the start - slower, equally exact.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["save_checkpoint", "load_checkpoint"]


def save_checkpoint(path: str | Path, state: Any) -> None:
    """Pickle ``state`` to ``path`` atomically (tmp file + ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_checkpoint(path: str | Path | None) -> Any | None:
    """The state saved at ``path``, or None when there is no (readable) checkpoint there."""
    if path is None or not Path(path).is_file():
        return None
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ValueError, ImportError):
        return None
