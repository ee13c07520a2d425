"""Contract suite over every registered source plug-in, and adding one at run time."""

from __future__ import annotations

import pandas as pd
import pytest

from data_loaders import (
    ParameterError,
    Source,
    get_source,
    list_sources,
    load_bars,
    register_source,
)
from data_loaders.sources import resolve_source

SOURCES = sorted(list_sources())


def test_builtin_sources_are_registered():
    assert SOURCES == ["ccxt", "csv", "folder", "parquet", "sample", "yfinance"]


@pytest.mark.parametrize("name", SOURCES)
def test_every_source_follows_the_plug_in_contract(name, tmp_path):
    source = get_source(name)
    assert isinstance(source, Source) and source.name == name
    assert source.description and "\n" not in source.description
    assert source.scheme is None or source.scheme == name
    assert all(s == s.lower() and s.startswith(".") for s in source.suffixes)
    # an unknown option is refused before any work, with the valid names or a suggestion
    with pytest.raises(ParameterError, match=rf"source '{name}' has no option 'bogus_option'"):
        source.load(tmp_path / "x", bogus_option=1)
    if source.scheme:
        src, target, query = resolve_source(f"{source.scheme}:TARGET?a=1")
        assert (src, target, query) == (source, "TARGET", {"a": "1"})


def test_get_source_suggests_a_name():
    with pytest.raises(
        ParameterError, match=r"unknown source 'parket' \(did you mean 'parquet'\?\)"
    ):
        get_source("parket")


def test_a_new_source_is_one_class_and_one_registration(monkeypatch):
    import data_loaders.sources as registry

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    class Constant(Source):
        name = "constant"
        scheme = "constant"
        options = ("price",)
        description = "flat bars at a given price"

        def load(self, target, *, tz=None, adjust=True, repair=(), **options):
            self.check_options(options)
            from data_loaders import validate_bars

            price = float(options.get("price", 1.0))
            index = pd.date_range("2024-01-01", periods=int(target), freq="D")
            df = pd.DataFrame(
                {"open": price, "high": price, "low": price, "close": price, "volume": 0.0},
                index=index,
            )
            return validate_bars(df, source=f"constant:{target}")

    register_source(Constant())
    bars = load_bars("constant:3?price=2.5")
    assert len(bars) == 3 and (bars["close"] == 2.5).all()
    with pytest.raises(ParameterError, match="register_source expects a Source instance"):
        register_source(Constant)
