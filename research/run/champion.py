"""The champion files of an experiment and the nightly lock (``runs/<experiment>/``).

* ``champion.json``: the current champion (the parameters traded), replaced on promotion;
* ``champion_history.jsonl``: one line per nightly decision, oldest first;
* ``nightly.lock``: held (``fcntl.flock``, exclusive, non-blocking) while a night runs.

Both files are written atomically (temporary file, fsync, ``os.replace``; the history is
rewritten whole the same way), so a crash leaves the previous version intact, never half a file.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from data_loaders.atomic import atomic_write_text
from data_loaders.errors import ResearchError
from research._json import to_jsonable

__all__ = [
    "NightlyLocked",
    "champion_path",
    "history_path",
    "lock_path",
    "read_champion",
    "read_history",
    "append_history",
    "nightly_lock",
    "check_not_locked",
]


class NightlyLocked(ResearchError):
    """Another nightly run of the same experiment is in progress."""


def champion_path(runs_root: str | Path, experiment: str) -> Path:
    return Path(runs_root) / experiment / "champion.json"


def history_path(runs_root: str | Path, experiment: str) -> Path:
    return Path(runs_root) / experiment / "champion_history.jsonl"


def lock_path(runs_root: str | Path, experiment: str) -> Path:
    return Path(runs_root) / experiment / "nightly.lock"


def read_champion(runs_root: str | Path, experiment: str) -> dict[str, Any] | None:
    """The current champion record, or None when there is none yet."""
    p = champion_path(runs_root, experiment)
    if not p.is_file():
        return None
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ResearchError(
            f"{p}: champion file is not valid JSON ({exc}); restore it from "
            "champion_history.jsonl or delete it"
        ) from None


def read_history(runs_root: str | Path, experiment: str) -> list[dict[str, Any]]:
    """Every decision recorded so far, oldest first."""
    p = history_path(runs_root, experiment)
    if not p.is_file():
        return []
    return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line]


def append_history(runs_root: Path, experiment: str, entry: Mapping[str, Any]) -> None:
    p = history_path(runs_root, experiment)
    old = p.read_text(encoding="utf-8") if p.is_file() else ""
    if old and not old.endswith("\n"):
        old += "\n"
    atomic_write_text(p, old + json.dumps(to_jsonable(entry), sort_keys=False) + "\n")


@contextmanager
def nightly_lock(runs_root: str | Path, experiment: str) -> Iterator[Path]:
    """Hold ``runs/<experiment>/nightly.lock`` (exclusive, non-blocking flock) for the block.

    Raises :class:`NightlyLocked` naming the holder's pid and start time when it is held. The
    lock is released by the kernel if the process dies, so a crash never leaves it stuck.
    """
    p = lock_path(runs_root, experiment)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            info = json.loads(p.read_text() or "{}")
        except (OSError, ValueError):
            info = {}
        os.close(fd)
        raise NightlyLocked(
            f"another nightly run of {experiment!r} is in progress (pid {info.get('pid', '?')}, "
            f"since {info.get('since', '?')}; lock {p}); not starting a second one"
        ) from None
    try:
        payload = json.dumps(
            {"pid": os.getpid(), "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        ).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, payload, 0)
        yield p
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def check_not_locked(runs_root: str | Path, experiment: str) -> None:
    """Raise :class:`NightlyLocked` when a live process holds the lock (creates nothing)."""
    p = lock_path(runs_root, experiment)
    if not p.is_file():
        return
    fd = os.open(p, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
    except BlockingIOError:
        raise NightlyLocked(
            f"another nightly run of {experiment!r} is in progress "
            f"(lock {p}); a dry run would not start either"
        ) from None
    finally:
        os.close(fd)
