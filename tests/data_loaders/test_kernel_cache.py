"""numba's cache is dropped when a kernel source changes (numba itself only checks the file a
cached function is defined in, not the files it inlines)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from data_loaders import kernel_cache
from data_loaders.kernel_cache import ensure_current_kernels, kernel_sources_digest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def numba_dir(tmp_path, monkeypatch):
    """A private ``NUMBA_CACHE_DIR`` holding one cached kernel (index + data file)."""
    cache = tmp_path / "numba"
    (cache / "backtest").mkdir(parents=True)
    for name in ("_sim_nb.simulate_nb-10.py311.nbi", "_sim_nb.simulate_nb-10.py311.1.nbc"):
        (cache / "backtest" / name).write_bytes(b"x" * 10)
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(cache))
    return cache


def _cached(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.rglob("*.nb[ic]"))


def test_a_cache_built_from_other_sources_is_cleared_and_stamped(numba_dir):
    (numba_dir / "kernel-sources.sha1").write_text("0" * 40 + "\n")  # built from old code

    assert ensure_current_kernels(force=True) is True
    assert _cached(numba_dir) == []
    assert (numba_dir / "kernel-sources.sha1").read_text() == kernel_sources_digest() + "\n"


def test_a_current_cache_is_kept(numba_dir):
    (numba_dir / "kernel-sources.sha1").write_text(kernel_sources_digest() + "\n")

    assert ensure_current_kernels(force=True) is False
    assert len(_cached(numba_dir)) == 2


def test_a_cache_without_a_stamp_is_not_trusted(numba_dir):
    assert ensure_current_kernels(force=True) is True
    assert _cached(numba_dir) == []


def test_the_check_runs_once_per_process(numba_dir, monkeypatch):
    monkeypatch.setattr(kernel_cache, "_checked", True)
    assert ensure_current_kernels() is False
    assert len(_cached(numba_dir)) == 2


def test_the_digest_follows_every_kernel_module_and_nothing_else(tmp_path):
    for pkg in ("backtest", "strategies", "research", "data_loaders"):
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    before = kernel_sources_digest(tmp_path)
    assert before == kernel_sources_digest(ROOT)

    (tmp_path / "backtest" / "engine.py").write_text("# not a kernel\n")
    assert kernel_sources_digest(tmp_path) == before
    inlined = tmp_path / "backtest" / "_order_nb.py"  # inlined by the batch kernel
    inlined.write_text(inlined.read_text() + "\n# edited\n")
    assert kernel_sources_digest(tmp_path) != before
    nested = tmp_path / "strategies" / "indicators" / "_nb.py"
    nested.write_text(nested.read_text() + "\n")
    assert len({before, kernel_sources_digest(tmp_path)}) == 2


def test_every_numba_module_of_the_project_is_a_kernel_module():
    """The digest finds kernels by name: a module that compiles with numba must be a ``*_nb.py``
    (a package or one folder below), or its edits would not refresh the cache."""
    compiled = [
        p.relative_to(ROOT)
        for pkg in ("backtest", "strategies", "research", "data_loaders")
        for p in (ROOT / pkg).rglob("*.py")
        if any(line.lstrip().startswith(("@njit", "@numba.njit", "@jit")) for line in p.open())
    ]
    outside = [
        p.as_posix() for p in compiled if not (p.name.endswith("_nb.py") and len(p.parts) <= 3)
    ]
    assert len(compiled) >= 10 and outside == []
