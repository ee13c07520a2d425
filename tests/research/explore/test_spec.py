"""The exploration spec: defaults, merging, and one-line errors for every kind of mistake."""

from __future__ import annotations

import pytest
import yaml

from data_loaders.errors import ConfigError
from research.explore.spec import (
    DEFAULT_SPEC_PATH,
    ExploreSpec,
    default_spec,
    load_spec,
    spec_hash,
    spec_to_dict,
)


def test_default_spec_matches_the_yaml_file() -> None:
    spec = default_spec()
    raw = yaml.safe_load(DEFAULT_SPEC_PATH.read_text())
    assert isinstance(spec, ExploreSpec)
    assert list(spec.horizons) == raw["horizons"]
    assert spec.screening.fdr == raw["screening"]["fdr"]
    assert list(spec.features.returns.windows) == raw["features"]["returns"]["windows"]
    # the resolved dict round-trips through the loader unchanged
    assert load_spec(spec_to_dict(spec)) == spec


def test_user_spec_merges_key_by_key(tmp_path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("horizons: [2, 7]\nscreening:\n  fdr: 0.1\n  lightgbm: {enabled: false}\n")
    spec = load_spec(path)
    default = default_spec()
    assert spec.horizons == (2, 7)
    assert spec.screening.fdr == 0.1
    assert spec.screening.lightgbm.enabled is False
    # untouched siblings keep their defaults (mappings merge, they are not replaced)
    assert spec.screening.max_selected == default.screening.max_selected
    assert spec.screening.lightgbm.rows == default.screening.lightgbm.rows
    assert spec.audit == default.audit
    assert spec_hash(spec) != spec_hash(default)
    assert spec_hash(load_spec(path)) == spec_hash(spec)


def test_empty_file_is_the_default(tmp_path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing\n")
    assert load_spec(path) == default_spec()


def _error(source) -> str:
    with pytest.raises(ConfigError) as info:
        load_spec(source)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ({"horizon": [1]}, "unknown key `horizon` (did you mean 'horizons'?)"),
        ({"screening": {"fdrr": 0.1}}, "unknown key `screening.fdrr` (did you mean 'fdr'?)"),
        (
            {"features": {"statistical": {"zscore_window": [20]}}},
            "`features.statistical.zscore_window` (did you mean 'zscore_windows'?)",
        ),
        (
            {"features": {"returns": {"windows": [5, 0]}}},
            "`features.returns.windows` must hold integers >= 1",
        ),
        (
            {"features": {"returns": {"windows": [5, 5]}}},
            "`features.returns.windows` must not repeat values",
        ),
        (
            {"features": {"returns": {"windows": "5,20"}}},
            "`features.returns.windows` must be a list of int",
        ),
        (
            {"features": {"returns": {"windows": [5, 2.5]}}},
            "`features.returns.windows[1]` must be an integer",
        ),
        (
            {"features": {"statistical": {"moment_windows": [2, 50]}}},
            "`features.statistical.moment_windows` must hold windows >= 3",
        ),
        (
            {"features": {"volume_z": {"windows": [1]}}},
            "`features.volume_z.windows` must hold windows >= 2",
        ),
        ({"horizons": []}, "`horizons` must list at least one value"),
        ({"horizons": [1, -5]}, "`horizons` must hold integers >= 1"),
        ({"screening": {"fdr": 0}}, "`screening.fdr` must be in (0.0, 1.0]"),
        ({"screening": {"fdr": 1.5}}, "`screening.fdr` must be in (0.0, 1.0]"),
        ({"screening": {"fdr": "high"}}, "`screening.fdr` must be a number"),
        (
            {"screening": {"mutual_info": {"enabled": "yes"}}},
            "`screening.mutual_info.enabled` must be true or false",
        ),
        ({"train": {"fraction": 0}}, "`train.fraction` must be in (0.0, 1.0]"),
        ({"train": {"end": "not a date"}}, "`train.end` must be a date or timestamp"),
        ({"audit": {"calendar": "weekly"}}, "`audit.calendar` must be one of"),
        (
            {"tests": {"variance_ratio_lags": [1, 5]}},
            "`tests.variance_ratio_lags` must hold lags >= 2",
        ),
        (
            {"features": {"technical": {"families": ["momentum", "trnd"]}}},
            "unknown family 'trnd' (did you mean 'trend'?)",
        ),
        ({"screening": "fast"}, "`screening` must be a mapping"),
        ({"seed": -1}, "`seed` must be >= 0"),
    ],
)
def test_invalid_specs_name_key_rule_and_value(source, expected) -> None:
    message = _error(source)
    assert message.startswith("exploration spec")
    assert expected in message


def test_unknown_indicator_in_include_is_caught_when_planning() -> None:
    from research.explore.features import technical_plan

    spec = load_spec({"features": {"technical": {"include": ["rsii"]}}})
    with pytest.raises(ConfigError, match=r"unknown indicator 'rsii' \(did you mean 'rsi'\?\)"):
        technical_plan(spec.features)


def test_file_errors(tmp_path) -> None:
    assert "file not found" in _error(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("horizons: [1, 2\nseed: 3\n")
    assert "line 2 is not valid YAML" in _error(bad)
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n- 2\n")
    assert "must be a mapping of keys, got list" in _error(listed)
