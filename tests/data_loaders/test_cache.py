"""The local Parquet cache: keyed by source and range, hit/miss, never stale or mismatched data."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from data_loaders import BarCache, ResearchError, cached_bars, default_cache_dir, synthetic_bars

PARAMS = {"symbol": "SYN", "interval": "1h", "start": "2024-01-01", "end": "2024-02-01"}


class Fetcher:
    """Counts calls; returns different bars each time so a stale hit would show."""

    def __init__(self):
        self.calls = 0

    def __call__(self) -> pd.DataFrame:
        self.calls += 1
        bars = synthetic_bars(48, freq="1h", seed=self.calls, symbol="SYN")
        bars.attrs["repairs"] = (f"fetch {self.calls}",)
        return bars


def test_miss_then_hit_returns_the_same_bars_and_metadata(tmp_path):
    cache, fetch = BarCache(tmp_path / "c"), Fetcher()
    first = cached_bars("demo", PARAMS, fetch, cache=cache)
    second = cached_bars("demo", PARAMS, fetch, cache=cache)
    assert fetch.calls == 1
    pd.testing.assert_frame_equal(second, first, check_freq=False)
    assert (
        str(second.index.tz) == "UTC" and second.index.unit == "ns" and second.index.name == "time"
    )
    assert second.attrs == first.attrs and second.attrs["repairs"] == ("fetch 1",)


def test_entries_are_keyed_by_source_and_every_range_parameter(tmp_path):
    cache, fetch = BarCache(tmp_path / "c"), Fetcher()
    cached_bars("demo", PARAMS, fetch, cache=cache)
    variants = [
        ("other", PARAMS),
        ("demo", {**PARAMS, "start": "2024-01-02"}),
        ("demo", {**PARAMS, "end": "2024-03-01"}),
        ("demo", {**PARAMS, "interval": "1d"}),
        ("demo", {**PARAMS, "symbol": "XYZ"}),
        ("demo", {**PARAMS, "adjust": False}),
    ]
    results = [cached_bars(src, params, fetch, cache=cache) for src, params in variants]
    assert fetch.calls == 1 + len(variants)  # every variant is a miss
    # ... with its own entry, and each is then served its own data
    paths = {cache.path_for(src, params) for src, params in [("demo", PARAMS), *variants]}
    assert len(paths) == 1 + len(variants) and all(p.is_file() for p in paths)
    for (src, params), expected in zip(variants, results, strict=True):
        pd.testing.assert_frame_equal(cache.get(src, params), expected, check_freq=False)
    assert fetch.calls == 1 + len(variants)


def test_parameter_order_does_not_matter(tmp_path):
    cache, fetch = BarCache(tmp_path / "c"), Fetcher()
    cached_bars("demo", PARAMS, fetch, cache=cache)
    cached_bars("demo", dict(reversed(list(PARAMS.items()))), fetch, cache=cache)
    assert fetch.calls == 1


def test_refresh_fetches_again_and_replaces_the_entry(tmp_path):
    cache, fetch = BarCache(tmp_path / "c"), Fetcher()
    cached_bars("demo", PARAMS, fetch, cache=cache)
    fresh = cached_bars("demo", PARAMS, fetch, cache=cache, refresh=True)
    assert fetch.calls == 2
    pd.testing.assert_frame_equal(cache.get("demo", PARAMS), fresh, check_freq=False)


def test_cache_false_bypasses_and_writes_nothing(tmp_path, _private_cache_dir):
    fetch = Fetcher()
    cached_bars("demo", PARAMS, fetch, cache=False)
    cached_bars("demo", PARAMS, fetch, cache=None)
    assert fetch.calls == 2 and not _private_cache_dir.exists()


def test_default_cache_lives_in_the_env_folder(_private_cache_dir):
    assert default_cache_dir() == _private_cache_dir
    fetch = Fetcher()
    cached_bars("demo", PARAMS, fetch)  # cache=True: the default BarCache
    cached_bars("demo", PARAMS, fetch)
    assert fetch.calls == 1
    assert (
        (_private_cache_dir / "CACHEDIR.TAG")
        .read_text()
        .startswith("Signature: 8a477f597d28d172789f06886806bc55")
    )
    assert len(list(_private_cache_dir.glob("demo/*.parquet"))) == 1


def test_an_entry_holding_another_requests_data_is_never_served(tmp_path):
    cache, fetch = BarCache(tmp_path / "c"), Fetcher()
    other = {**PARAMS, "symbol": "OTHER"}
    cached_bars("demo", other, fetch, cache=cache)
    # put OTHER's file where SYN's entry belongs (a collision, a copy, a renamed file ...)
    target = cache.path_for("demo", PARAMS)
    shutil.copy(cache.path_for("demo", other), target)
    assert cache.get("demo", PARAMS) is None
    mine = cached_bars("demo", PARAMS, fetch, cache=cache)
    assert fetch.calls == 2
    pd.testing.assert_frame_equal(cache.get("demo", PARAMS), mine, check_freq=False)


def test_a_damaged_entry_is_a_miss_and_gets_replaced(tmp_path):
    cache, fetch = BarCache(tmp_path / "c"), Fetcher()
    cached_bars("demo", PARAMS, fetch, cache=cache)
    path = cache.path_for("demo", PARAMS)
    path.write_bytes(path.read_bytes()[:100])  # truncated
    assert cache.get("demo", PARAMS) is None
    again = cached_bars("demo", PARAMS, fetch, cache=cache)
    assert fetch.calls == 2
    pd.testing.assert_frame_equal(cache.get("demo", PARAMS), again, check_freq=False)


def test_plain_parquet_without_the_cache_key_is_a_miss(tmp_path):
    cache = BarCache(tmp_path / "c")
    path = cache.path_for("demo", PARAMS)
    path.parent.mkdir(parents=True)
    synthetic_bars(5, freq="1h").to_parquet(path)
    assert cache.get("demo", PARAMS) is None


def test_refuses_a_foreign_non_empty_folder(tmp_path):
    folder = tmp_path / "my-documents"
    folder.mkdir()
    (folder / "thesis.docx").write_text("precious")
    with pytest.raises(ResearchError, match="holds files the cache did not create"):
        cached_bars("demo", PARAMS, Fetcher(), cache=BarCache(folder))
    assert [p.name for p in folder.iterdir()] == ["thesis.docx"]
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ResearchError, match="is a file"):
        cached_bars("demo", PARAMS, Fetcher(), cache=BarCache(a_file))


def test_never_writes_through_a_symlink(tmp_path):
    cache = BarCache(tmp_path / "c")
    cached_bars("demo", {**PARAMS, "symbol": "X"}, Fetcher(), cache=cache)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = cache.path_for("demo", PARAMS)
    link.symlink_to(victim)
    with pytest.raises(ResearchError, match="refusing to overwrite"):
        cached_bars("demo", PARAMS, Fetcher(), cache=cache)
    assert victim.read_text() == "keep me"


def test_clear_removes_only_cache_entries(tmp_path):
    cache, fetch = BarCache(tmp_path / "c"), Fetcher()
    for sym in ("A", "B"):
        cached_bars("demo", {**PARAMS, "symbol": sym}, fetch, cache=cache)
    note = cache.directory / "demo" / "note.parquet"
    note.write_text("mine")
    assert cache.clear() == 2
    assert note.exists() and cache.get("demo", {**PARAMS, "symbol": "A"}) is None
