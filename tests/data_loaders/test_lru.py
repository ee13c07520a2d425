"""Cache size caps: least-recently-used eviction, caps respected, nothing outside a cache deleted,
the bar cache and the exploration cache evicting on write, and the ``research cache`` command."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from data_loaders import BarCache, synthetic_bars
from data_loaders.errors import ConfigError
from data_loaders.lru import (
    CacheArea,
    cache_area,
    cache_cap,
    evict,
    numba_entry,
    parse_size,
)
from research.cli import main


def _file(path: Path, size: int, mtime: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    os.utime(path, (mtime, mtime))
    return path


def test_evicts_the_least_recently_used_first_until_the_cap_holds(tmp_path):
    root = tmp_path / "c"
    # written in this order, then "b" used last: the LRU order is a, c, d, b
    a = _file(root / "features-a.parquet", 100, 1000)
    b = _file(root / "features-b.parquet", 100, 1001)
    c = _file(root / "features-c.parquet", 100, 1002)
    d = _file(root / "features-d.parquet", 100, 1003)
    os.utime(b, (2000, 2000))
    area = CacheArea("explore", (root,), ("features-*.parquet",))
    assert area.size() == (4, 400)
    removed = evict(area, 250)
    assert removed == [a, c]  # 400 -> 300 -> 200 <= 250
    assert sorted(p.name for p in root.iterdir()) == ["features-b.parquet", "features-d.parquet"]
    assert area.size() == (2, 200)
    assert evict(area, None) == [] and evict(area, 200) == []  # no cap / already under it
    assert d.exists()


def test_an_entry_just_written_is_kept_even_when_it_alone_exceeds_the_cap(tmp_path):
    root = tmp_path / "c"
    old = _file(root / "features-old.parquet", 100, 1000)
    new = _file(root / "features-new.parquet", 500, 1001)
    area = CacheArea("explore", (root,), ("features-*.parquet",))
    assert evict(area, 300, keep=[new]) == [old]
    assert new.exists()


def test_nothing_outside_the_cache_or_its_patterns_is_ever_deleted(tmp_path):
    root = tmp_path / "c"
    outside = _file(tmp_path / "precious" / "features-x.parquet", 100, 1)
    sibling = _file(tmp_path / "features-sibling.parquet", 100, 1)
    other = _file(root / "notes.txt", 100, 1)
    hidden = _file(root / ".tmp-features-y.parquet", 100, 1)
    (root / "features-link.parquet").symlink_to(outside)
    (root / "sub").mkdir()
    (root / "sub" / "features-z.parquet").symlink_to(sibling)
    entry = _file(root / "features-e.parquet", 100, 2)
    area = CacheArea("explore", (root,), ("features-*.parquet", "*/features-*.parquet"))
    assert area.files() == [entry]
    assert evict(area, 0) == [entry]
    for p in (outside, sibling, other, hidden):
        assert p.exists(), p
    assert (root / "features-link.parquet").is_symlink()
    # a cache folder that is itself a symlink is not walked
    link_root = tmp_path / "linked"
    link_root.symlink_to(tmp_path / "precious")
    assert CacheArea("x", (link_root,), ("*.parquet",)).files() == []


def test_numba_files_group_into_entries_evicted_as_a_whole(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "nb"))
    pyc = tmp_path / "nb" / "pkg"
    f_idx = _file(pyc / "_sim_nb.run-10.py311.nbi", 10, 1000)
    f_0 = _file(pyc / "_sim_nb.run-10.py311.0.nbc", 100, 1000)
    f_1 = _file(pyc / "_sim_nb.run-10.py311.1.nbc", 100, 1005)
    g_idx = _file(pyc / "_sim_nb.go-20.py311.nbi", 10, 1001)
    g_0 = _file(pyc / "_sim_nb.go-20.py311.0.nbc", 100, 1001)
    mod = _file(pyc / "_sim_nb.cpython-311.pyc", 100, 1)
    assert numba_entry(f_0) == numba_entry(f_idx) == numba_entry(f_1)
    area = cache_area("numba")
    assert area.size() == (2, 320)
    # "go" was used last at 1001, "run" at 1005 (its newest file): "go" goes first
    assert sorted(evict(area, 250)) == sorted([g_idx, g_0])
    assert f_idx.exists() and f_0.exists() and f_1.exists() and mod.exists()
    assert sorted(evict(area, 0)) == sorted([f_idx, f_0, f_1])
    assert mod.exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1000", 1000), ("2KB", 2048), ("1.5G", 3 * 1024**3 // 2), ("512 mb", 512 * 1024**2),
     ("none", None)],
)  # fmt: skip
def test_sizes_parse_in_powers_of_1024(text, expected):
    assert parse_size(text, "X") == expected


def test_a_bad_cap_is_a_one_line_error_naming_the_variable(monkeypatch):
    monkeypatch.setenv("QR_CACHE_MAX_DATA", "lots")
    with pytest.raises(ConfigError, match=r"^QR_CACHE_MAX_DATA: 'lots' is not a size"):
        cache_cap("data")
    monkeypatch.delenv("QR_CACHE_MAX_DATA")
    assert cache_cap("data") == 2 * 1024**3
    with pytest.raises(ConfigError, match="did you mean 'explore'"):
        cache_area("explor")


def test_the_bar_cache_evicts_its_least_recently_served_entry_on_write(tmp_path, monkeypatch):
    cache = BarCache(tmp_path / "c")
    bars = synthetic_bars(200, freq="1h", seed=1, symbol="SYN")
    p1 = cache.put("src", {"symbol": "A"}, bars)
    size = p1.stat().st_size
    p2 = cache.put("src", {"symbol": "B"}, bars)
    os.utime(p1, (1000, 1000))
    os.utime(p2, (2000, 2000))
    assert cache.get("src", {"symbol": "A"}) is not None  # served: A is now the most recent
    outside = _file(tmp_path / "c" / "explore" / "features-q.parquet", 10, 1)
    monkeypatch.setenv("QR_CACHE_MAX_DATA", str(2 * size + size // 2))
    p3 = cache.put("src", {"symbol": "C"}, bars)
    assert p1.exists() and p3.exists() and not p2.exists()
    assert outside.exists()  # the exploration cache is not the data cache's to evict


def test_the_cache_command_shows_and_clears_only_the_named_cache(tmp_path, monkeypatch, capsys):
    root = tmp_path / "c"
    monkeypatch.setenv("QR_CACHE_DIR", str(root))
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "nb"))
    BarCache(root).put("src", {"symbol": "A"}, synthetic_bars(50, freq="1h", seed=1))
    feat = _file(root / "explore" / "features-a.parquet", 2048, 1)
    nb = _file(tmp_path / "nb" / "m.f-1.py311.nbi", 10, 1)
    assert main(["cache"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {ln.split()[0]: ln.split() for ln in lines[1:]}
    assert rows["data"][1] == "1" and rows["explore"][1:3] == ["1", "2.0"]
    assert rows["numba"][1] == "1"
    assert main(["cache", "clear", "--what", "explore"]) == 0
    assert "explore: 1 files deleted (2.0 KB)" in capsys.readouterr().out
    assert not feat.exists() and nb.exists()
    assert len(list((root / "src").glob("*.parquet"))) == 1
    assert main(["cache", "clear", "--what", "nope"]) == 2
    assert capsys.readouterr().err.strip().startswith("research cache: error: cache 'nope'")
