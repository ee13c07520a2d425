"""Headless Chromium for the HTML tests: render a page offline, collect script errors.

Tests using it are marked ``browser`` and skipped with a reason (``needs_chromium``) when no
Chromium is installed (``apt-get install chromium``; CI installs it in ``.ci/run``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

__all__ = ["chromium", "render", "script_errors", "needs_chromium"]


def chromium() -> str | None:
    """Path of a Chromium / Chrome executable, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def render(page: Path, profile: Path) -> tuple[str, str]:
    """``(dom, log)`` of ``page`` after its scripts ran, with every host name unresolvable."""
    cmd = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=10000",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # offline: any network fetch would fail
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    return proc.stdout, proc.stderr


def script_errors(dom: str, log: str) -> list[str]:
    """Uncaught errors in the log plus the text of the page's ``#report-errors`` box."""
    errors = [line for line in log.splitlines() if "Uncaught" in line]
    box = re.search(r'<div id="report-errors"[^>]*>(.*?)</div>', dom, re.S)
    if box and box.group(1).strip():
        errors.append(box.group(1).strip())
    return errors


needs_chromium = pytest.mark.skipif(
    chromium() is None,
    reason="headless Chromium not installed (apt-get install chromium; CI installs it in .ci/run)",
)
