"""Atomic JSON checkpoints: a reader sees the previous file or the new one, never half of one.

Run folders hold no pickles: a checkpoint is plain JSON (numbers, strings, lists, mappings), so
resuming somebody else's run folder can never run their code. The state is written to a
temporary file in the same folder, then moved over the target with :func:`os.replace` (atomic on
POSIX and Windows), so a SIGKILL at any moment leaves a complete checkpoint behind. There is no
fsync (the SQLite trial store's ``synchronous=NORMAL`` makes the same choice): a killed process
loses nothing; after a power loss a checkpoint may be missing or unreadable, which
:func:`load_checkpoint` reports as no checkpoint, and the search then replays its recorded
trials from the start - slower, equally exact. A file that is not JSON (an old pickle) is
likewise no checkpoint: it is never unpickled.

Floats round-trip exactly (``repr`` precision); ``inf``/``nan`` are written as JSON's common
``Infinity``/``NaN`` extension. Tuples come back as lists: the caller converts what it needs.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["save_checkpoint", "load_checkpoint", "CHECKPOINT_SUFFIX"]

#: file suffix of a checkpoint
CHECKPOINT_SUFFIX = ".json"


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` (JSON-ready data) to ``path`` atomically (tmp file + ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(state, allow_nan=True, separators=(",", ":"))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_checkpoint(path: str | Path | None) -> dict[str, Any] | None:
    """The state saved at ``path``, or None when there is no readable JSON checkpoint there."""
    if path is None or not Path(path).is_file():
        return None
    try:
        state = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    return state if isinstance(state, dict) else None
