"""The one JSON converter of the project: every file a run writes goes through it.

:func:`to_jsonable` turns a value into plain JSON types with one set of rules, so
``results.json``, ``run.json``, ``findings.json``, the CLI's ``--json`` output and the Optuna
study attributes agree:

* NaN and +-inf floats become ``None`` (JSON has no NaN; ``null`` reads back as "no value");
* numpy scalars and arrays become Python numbers, bools and lists;
* dates, datetimes and timestamps become ISO 8601 text (``isoformat()``);
* mappings become dicts with ``str`` keys; lists, tuples and sets become lists;
* anything else is returned unchanged (``json.dumps`` decides).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["to_jsonable", "finite", "dumps"]


def to_jsonable(value: Any) -> Any:
    """``value`` in plain JSON types (see the module docstring for the rules)."""
    kind = type(value)
    if kind is float:
        return value if value - value == 0.0 else None  # NaN and +-inf give NaN
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        return {k if type(k) is str else str(k): to_jsonable(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [to_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def finite(value: Any) -> float | None:
    """``float(value)`` when it is a finite number, else ``None`` (NaN, inf, None, not a number)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


#: the encoder of :func:`dumps` without options (``json.dumps`` builds one per call otherwise)
_ENCODER = json.JSONEncoder(allow_nan=False)


def dumps(value: Any, **kwargs: Any) -> str:
    """JSON text of :func:`to_jsonable` of ``value`` (NaN/inf written as ``null``); ``kwargs``
    as :func:`json.dumps`'s. Values that are already plain JSON are written directly."""
    try:
        if not kwargs:
            return _ENCODER.encode(value)
        return json.dumps(value, allow_nan=False, **kwargs)
    except (ValueError, TypeError):
        return json.dumps(to_jsonable(value), allow_nan=False, **kwargs)
