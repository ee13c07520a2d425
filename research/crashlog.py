"""Internal errors: one line for the user, the full traceback in a log file.

An exception that is not a user error (:class:`~data_loaders.errors.ResearchError` and the few
environment errors the CLI maps to "bad input") is a bug or a broken environment. The
``research`` command then prints one line naming the exception type, its message and *where*
it happened (the innermost traceback frame in the project's own code, as ``path:line``), writes
the full traceback to a log file named in that line, and exits with ``EXIT_INTERNAL`` (70).
With ``--debug`` the traceback is printed instead.

The log goes to the current run folder when one exists (the run flow calls
:func:`set_run_folder` once it has created or resumed its folder), else to
``<QR_CACHE_DIR or ~/.cache/quant-research>/logs/``, else (unwritable) to a temporary file.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = [
    "set_run_folder",
    "on_run_folder",
    "current_run_folder",
    "crash_site",
    "write_crash_log",
    "internal_error_line",
    "PROJECT_ROOT",
]

#: the folder holding the project's packages (data_loaders, strategies, backtest, research)
PROJECT_ROOT = Path(__file__).resolve().parent.parent
_OWN_PACKAGES = ("data_loaders", "strategies", "backtest", "research")
_run_folder: Path | None = None
_listeners: list[Callable[[], None]] = []


def set_run_folder(path: str | Path | None) -> None:
    """Record the run folder a crash log should go to (``None`` to forget it).

    The run flow calls it once its folder exists: the run has passed its checks, so the
    listeners (the CLI's held-back progress lines) are told too.
    """
    global _run_folder
    _run_folder = Path(path) if path is not None else None
    if path is not None:
        for listener in list(_listeners):
            listener()


def on_run_folder(listener: Callable[[], None] | None) -> None:
    """Call ``listener()`` whenever :func:`set_run_folder` records a folder (None: clear all)."""
    if listener is None:
        _listeners.clear()
    else:
        _listeners.append(listener)


def current_run_folder() -> Path | None:
    """The folder recorded by :func:`set_run_folder`, if it still exists."""
    return _run_folder if _run_folder is not None and _run_folder.is_dir() else None


def _in_project(filename: str) -> str | None:
    """``filename`` relative to the project root when it is project code, else ``None``."""
    try:
        rel = Path(filename).resolve().relative_to(PROJECT_ROOT)
    except (ValueError, OSError):
        return None
    if rel.parts and rel.parts[0] in _OWN_PACKAGES:
        return rel.as_posix()
    return None


def crash_site(exc: BaseException) -> str:
    """``path:line`` of the innermost frame of ``exc`` in project code (else the innermost)."""
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        rel = _in_project(frame.filename)
        if rel is not None:
            return f"{rel}:{frame.lineno}"
    if frames:
        return f"{frames[-1].filename}:{frames[-1].lineno}"
    return "<unknown>"


def _log_dirs() -> list[Path]:
    dirs = []
    run = current_run_folder()
    if run is not None:
        dirs.append(run / "logs")
    cache = os.environ.get("QR_CACHE_DIR") or "~/.cache/quant-research"
    dirs.append(Path(cache).expanduser() / "logs")
    return dirs


def write_crash_log(exc: BaseException, argv: Sequence[str]) -> Path | None:
    """Write the command line and the traceback of ``exc`` to a new log file; return its path."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    text = (
        f"research {' '.join(argv)}\n"
        f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, python {sys.version.split()[0]}\n\n"
        + "".join(traceback.format_exception(exc))
    )
    for folder in _log_dirs():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"crash-{stamp}-{os.getpid()}.log"
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    try:
        fd, name = tempfile.mkstemp(prefix="research-crash-", suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        return Path(name)
    except OSError:
        return None


def internal_error_line(exc: BaseException, log: Path | None, *, debug: bool = False) -> str:
    """``internal error: Type: message at path:line; traceback in LOG`` (one line).

    With ``debug`` (the traceback was just printed) the line ends after ``path:line``.
    """
    message = " ".join(str(exc).split())
    what = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    if len(what) > 300:
        what = what[:297] + "..."
    if debug:
        tail = ""
    elif log:
        tail = f"; traceback in {log} (or rerun with --debug)"
    else:
        tail = "; rerun with --debug for the traceback"
    return f"internal error: {what} at {crash_site(exc)}{tail}"
