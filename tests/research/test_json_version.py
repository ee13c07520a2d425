"""research._json.to_jsonable (the one converter) and research._version.code_version."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd

from research._json import dumps, finite, to_jsonable
from research._version import code_version, code_version_text


def test_to_jsonable_rules():
    value = {
        1: np.float64(0.5),
        "nan": float("nan"),
        "inf": np.float32(np.inf),
        "ints": np.array([1, 2], dtype=np.int64),
        "flag": np.bool_(True),
        "when": pd.Timestamp("2024-01-02 03:04", tz="UTC"),
        "day": dt.date(2024, 1, 2),
        "nested": ({"x": (1, np.int32(2))},),
        "text": "a",
        "none": None,
    }
    out = to_jsonable(value)
    assert out == {
        "1": 0.5,
        "nan": None,
        "inf": None,
        "ints": [1, 2],
        "flag": True,
        "when": "2024-01-02T03:04:00+00:00",
        "day": "2024-01-02",
        "nested": [{"x": [1, 2]}],
        "text": "a",
        "none": None,
    }
    assert type(out["ints"][0]) is int and type(out["flag"]) is bool
    assert json.loads(dumps(value)) == out


def test_finite():
    assert finite(np.float64(2.5)) == 2.5
    assert finite(float("nan")) is None and finite(math.inf) is None
    assert finite(None) is None and finite("x") is None


def test_code_version_one_source_two_shapes():
    v = code_version()
    assert set(v) == {"package", "git"}
    text = code_version_text()
    if v["git"]:
        assert text == f"git:{v['git']}"
    elif v["package"]:
        assert text == f"quant-research=={v['package']}"
    else:
        assert text == "unknown"
