"""The code version recorded with every run and study: one function, one answer."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

__all__ = ["code_version", "code_version_text"]

_ROOT = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=1)
def _describe() -> tuple[str | None, str | None]:
    from importlib import metadata

    try:
        package = metadata.version("quant-research")
    except metadata.PackageNotFoundError:
        package = None
    git = None
    if (_ROOT / ".git").exists():
        try:
            out = subprocess.run(
                ["git", "-C", str(_ROOT), "describe", "--always", "--dirty", "--tags"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
            git = out.stdout.strip() or None if out.returncode == 0 else None
        except (OSError, subprocess.SubprocessError):
            git = None
    return package, git


def code_version() -> dict[str, str | None]:
    """``{"package": <installed version>, "git": <git describe --always --dirty --tags>}``.

    The git description is that of the project checkout this package is imported from (None
    for a plain install); the package version is None when the project is not installed. Taken
    once per process (a run does not change its own code while it runs).
    """
    package, git = _describe()
    return {"package": package, "git": git}


def code_version_text() -> str:
    """:func:`code_version` as one string, for Optuna study attributes: ``git:<describe>``,
    else ``quant-research==<version>``, else ``unknown``."""
    package, git = _describe()
    if git:
        return f"git:{git}"
    if package:
        return f"quant-research=={package}"
    return "unknown"
