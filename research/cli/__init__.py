"""The ``research`` command (also ``python -m research``).

Each sub-command lives in its own module ``research/cli/_<name>.py`` exposing
``register(subparsers)``; the module list below is the only place that names them. Heavy
libraries are imported inside the command handlers, so ``research --help`` and light commands
start fast.

Every command ends with a status from :data:`EXIT_STATUSES` (shown by ``research --help`` and in
the README). Whatever goes wrong, stderr gets *one* line: a user error
(:class:`~data_loaders.errors.ResearchError`, a missing or unwritable file, a bad storage URL,
an argparse usage error) as ``research CMD: error: ...`` with status 2; anything else is an
internal error, ``research CMD: internal error: Type: message at path:line; traceback in LOG``
with status 70 (see :mod:`research.crashlog`; ``--debug`` prints the traceback instead).
Progress lines written to stderr are held back until the run has passed its checks (the run flow
records its folder with :func:`research.crashlog.set_run_folder`) or :data:`HOLD_SECONDS` have
passed, and dropped if the command fails before: an early error is the only line.
Status 3 means the work was done and recorded but a follow-up step failed (``research
nightly``: the targets or the notify command; one line on stderr each).

Run as the console script (``main()`` without arguments), the process ends as soon as the
command returns (:func:`_end_process`): the interpreter's teardown of the scientific stack's
modules and a run's objects takes 1-2 s after a quickstart run and changes nothing on disk.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import re
import sys
import threading
import traceback
from collections.abc import Sequence
from typing import Any

__all__ = [
    "main",
    "build_parser",
    "exit_status_table",
    "EXIT_STATUSES",
    "EXIT_OK",
    "EXIT_CHECK_FAILED",
    "EXIT_USAGE",
    "EXIT_INTERNAL",
    "EXIT_LOCKED",
    "EXIT_TIMEOUT",
    "EXIT_INTERRUPTED",
    "EXIT_BROKEN_PIPE",
    "EXIT_FOLLOW_UP_FAILED",
    "HOLD_SECONDS",
]

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE = 0, 1, 2
#: EX_SOFTWARE of sysexits.h: a bug or a broken environment, not the user's input
EXIT_INTERNAL = 70
#: EX_TEMPFAIL of sysexits.h: another run holds the lock; nothing was done, try again later
EXIT_LOCKED = 75
#: what coreutils ``timeout`` returns: the command passed its time limit (nightly --timeout)
EXIT_TIMEOUT = 124
#: 128 + SIGINT
EXIT_INTERRUPTED = 130
#: the work was done and recorded, a follow-up failed (nightly targets or notify command)
EXIT_FOLLOW_UP_FAILED = 3
#: 128 + SIGPIPE, what shell tools return when the reader of their output goes away
EXIT_BROKEN_PIPE = 141

#: the exit-status table of every command: (status, meaning)
EXIT_STATUSES: tuple[tuple[int, str], ...] = (
    (EXIT_OK, "success"),
    (
        EXIT_CHECK_FAILED,
        "a check failed: lookahead found (check-lookahead), no candidate passed every gate "
        "(run --strict)",
    ),
    (EXIT_USAGE, "bad input or usage: spec, data, strategy, argument or file (one line)"),
    (
        EXIT_FOLLOW_UP_FAILED,
        "the work was done and recorded, a follow-up failed (nightly targets or notify command)",
    ),
    (
        EXIT_INTERNAL,
        "internal error: one line naming the exception and where; traceback in a log file "
        "(or --debug)",
    ),
    (EXIT_LOCKED, "another run holds the lock (nightly): nothing done, try again later"),
    (EXIT_TIMEOUT, "stopped at its time limit (nightly.timeout / --timeout); nothing promoted"),
    (EXIT_INTERRUPTED, "interrupted (Ctrl-C); an unfinished run resumes when rerun"),
    (EXIT_BROKEN_PIPE, "the reader of the output went away (output piped into head)"),
)

#: longest time progress lines on stderr are held back (dropped if the command fails meanwhile)
HOLD_SECONDS = 30.0

#: sub-command modules, in the order ``research --help`` lists them
COMMAND_MODULES = (
    "_run",
    "_explore",
    "_backtest",
    "_lookahead",
    "_data",
    "_report",
    "_nightly",
    "_calibrate",
    "_cache",
)


def exit_status_table(markdown: bool = False) -> str:
    """The exit statuses as plain text (``--help`` epilog) or a Markdown table (README)."""
    if markdown:
        rows = [f"| `{code}` | {text} |" for code, text in EXIT_STATUSES]
        return "\n".join(["| status | meaning |", "|---|---|", *rows])
    return "exit status:\n" + "\n".join(f"  {code:>3}  {text}" for code, text in EXIT_STATUSES)


class _UsageError(Exception):
    """Raised instead of argparse's usage block + exit, so the error stays one line."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """``ArgumentParser`` whose errors are one line (the sub-parsers inherit it)."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise _UsageError(self.prog, message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="research",
        description="Strategy research: explore data, search hyperparameters under walk-forward, "
        "rank with overfitting checks, report, and re-optimize nightly.",
        epilog=exit_status_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="on an internal error print the traceback (also accepted after the command)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"research.cli.{name}")
        except ModuleNotFoundError as exc:  # a command not built yet
            if exc.name == f"research.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser


class _HeldStderr:
    """stderr that holds what is written for ``seconds``, then lets everything through.

    :meth:`drop` discards what is held (the command failed early: its error line is the only
    line); :meth:`release` writes it out (success, or the hold time passed).
    """

    def __init__(self, real: Any, seconds: float) -> None:
        self._real = real
        self._held: list[str] = []
        self._lock = threading.Lock()
        self._open = False
        self._timer = threading.Timer(seconds, self.release)
        self._timer.daemon = True
        self._timer.start()

    def write(self, text: str) -> int:
        with self._lock:
            if self._open:
                return self._real.write(text)
            self._held.append(text)
            return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._open:
                self._real.flush()

    def release(self) -> None:
        with self._lock:
            if not self._open:
                self._open = True
                self._real.write("".join(self._held))
                self._held.clear()
                self._real.flush()

    def drop(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._held.clear()
            self._open = True

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, ...
        return getattr(self._real, name)


def _one_line(text: str) -> str:
    """``text`` on one line, without SQLAlchemy's "(Background on this error at: URL)" tail."""
    text = re.sub(r"\s*\(Background on this error at: [^)]*\)", "", text)
    return " ".join(text.split())


def _user_error_text(exc: BaseException) -> str | None:
    """The one-line message of an error the user can fix, or ``None`` for an internal error."""
    from data_loaders.errors import ResearchError

    if isinstance(exc, _UsageError | ResearchError):
        return _one_line(str(exc))
    if isinstance(exc, FileNotFoundError):
        return f"file not found: {exc.filename or exc}"
    unwritable = (errno.EACCES, errno.EPERM, errno.EROFS, errno.EISDIR, errno.ENOTDIR, errno.EEXIST)
    if isinstance(exc, OSError) and exc.filename and exc.errno in unwritable:
        return f"cannot use {exc.filename}: {exc.strerror}"
    if any(c.__module__.split(".")[0] == "sqlalchemy" for c in type(exc).__mro__):
        return _one_line(f"storage: {type(exc).__name__}: {getattr(exc, 'orig', None) or exc}")
    return None


def _error_status(command: str, exc: BaseException, argv: Sequence[str], debug: bool) -> int:
    """Print the one error line for ``exc`` (traceback first with ``--debug``); return status."""
    from research.crashlog import internal_error_line, write_crash_log

    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    text = _user_error_text(exc)
    if text is not None:
        print(f"{command}: error: {text}", file=sys.stderr)
        return EXIT_USAGE
    log = None if debug else write_crash_log(exc, argv)
    print(f"{command}: {internal_error_line(exc, log, debug=debug)}", file=sys.stderr)
    return EXIT_INTERNAL


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``research`` console script; returns the exit status.

    Without ``argv`` (the console script, ``python -m research``) the process then ends with
    that status through :func:`_end_process`.
    """
    if argv is None:
        one_blas_thread()
    status = _command(argv)
    if argv is None:
        _end_process(status)
    return status


#: environment variables setting the BLAS libraries' threads (OpenBLAS, as numpy's and scipy's
#: wheels bundle it, and MKL)
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def one_blas_thread() -> None:
    """One BLAS thread for this process and its workers, unless the environment sets them.

    Called by the console script before numpy or scipy load their BLAS (which read these
    variables once, at load). The linear algebra of a run is small matrices (per-simplex
    transforms of the report's contours, regressions on a few thousand trials); OpenBLAS
    handing such calls to its threads while numba's kernels, worker processes or other jobs
    hold the cores made them far slower, not faster: ``research report`` of a quickstart run
    took 24-42 s (17-27 s CPU) with two BLAS threads on a busy 2-core machine, 7.8-8.6 s
    (5.0-5.1 s CPU) with one. numba's threads (``NUMBA_NUM_THREADS``) and OpenMP's (LightGBM)
    are not affected.
    """
    for name in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(name, "1")


def _end_process(status: int) -> None:
    """End the process with ``status`` now, skipping the interpreter's teardown.

    What a normal exit does that matters still happens, in order: the trial storages are
    closed (SQLite folds its write-ahead log into ``study.db``), the ``atexit`` handlers run
    (logging flushed, worker processes stopped), stdout and stderr are flushed. Returns (a
    normal exit follows) when a non-daemon thread other than this one is still running.
    """
    import atexit

    if any(
        t.is_alive() and not t.daemon
        for t in threading.enumerate()
        if t is not threading.current_thread()
    ):
        return
    storage = sys.modules.get("research.optimize.storage")
    if storage is not None:
        storage.close_storages()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)


def _command(argv: Sequence[str] | None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or bool(os.environ.get("RESEARCH_DEBUG"))
    argv = [a for a in argv if a != "--debug"]
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0)
    except _UsageError as exc:
        print(f"{exc.prog}: error: {exc} (see {exc.prog} --help)", file=sys.stderr)
        return EXIT_USAGE
    if not getattr(args, "handler", None):
        names = ", ".join(sub for sub in parser._subparsers._group_actions[0].choices)
        print(f"research: error: give a command: {names} (see research --help)", file=sys.stderr)
        return EXIT_USAGE
    from research import crashlog

    command = f"research {args.command}"
    real_stderr = sys.stderr
    held = _HeldStderr(real_stderr, HOLD_SECONDS)
    sys.stderr = held
    crashlog.on_run_folder(held.release)
    try:
        status = int(args.handler(args) or 0)
    except KeyboardInterrupt:
        held.release()
        sys.stderr = real_stderr
        print(f"{command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `research ... | head`: the reader left; stop quietly like Unix tools
        held.drop()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush cannot fail
        return EXIT_BROKEN_PIPE
    except Exception as exc:
        held.drop()
        sys.stderr = real_stderr
        _flush_stdout()
        return _error_status(command, exc, argv, debug)
    finally:
        held.release()  # no-op after drop()
        sys.stderr = real_stderr
        crashlog.on_run_folder(None)
        crashlog.set_run_folder(None)
    return status


def _flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
