"""Helpers of the red-team suite: run ``python -m research`` as a user would, check the outcome.

Every case asserts the exit status, that stderr is exactly one line without a traceback, and
that nothing saved before the command was lost or changed (:func:`snapshot`).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "experiments" / "quickstart.yaml"


@dataclass
class Result:
    status: int
    out: str
    err: str


def research(*args: str, cwd: Path, env: dict | None = None, timeout: float = 180) -> Result:
    """``python -m research ARGS`` in ``cwd`` with this checkout on the path."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "QR_CACHE_DIR": str(cwd / ".cache")}
    full_env.update(env or {})
    done = subprocess.run(
        [sys.executable, "-m", "research", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def python(code: str, *, cwd: Path, timeout: float = 120) -> Result:
    """``python -c CODE`` in ``cwd`` with this checkout on the path (for patched commands)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QR_CACHE_DIR": str(cwd / ".cache")}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip
    return Result(done.returncode, done.stdout, done.stderr)


def one_line(res: Result, status: int, *fragments: str) -> str:
    """Assert the exit status and a single stderr line holding ``fragments``; return the line."""
    lines = res.err.splitlines()
    assert res.status == status, (res.status, res.err[-2000:])
    assert len(lines) == 1, res.err[-2000:]
    assert "Traceback" not in res.err and "usage:" not in res.err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative path -> sha256), to prove nothing was changed."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".cache" not in p.parts
    }


def spec_with(tmp: Path, name: str, old: str, new: str) -> Path:
    """quickstart.yaml with the first ``old`` replaced by ``new``, written to ``tmp/name``."""
    text = QUICKSTART.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path
