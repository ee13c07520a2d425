"""The project's own record of a batch of trials: their metrics and bookkeeping, columnar.

Optuna's tables hold one row per user attribute per trial, each a JSON text; a trial of the
batch path (~30-40 us to evaluate on daily bars) cost ~110 us to record that way. So since
trial record format 2 (study user attribute ``trial_record``) a trial's user attributes
(``metrics``, ``val_metrics``, ``step_metrics``, ``qr``, ...) are not Optuna rows: the trials
written in one transaction get **one row** of the table ``qr_trial_batches``::

    id           integer primary key
    study_id     Optuna's studies.study_id
    first_number the first trial number of the block (the block is consecutive numbers)
    n_trials     trials in the block
    payload      JSON text: {"v": 1, "attrs": <column of the trials' user attributes>}

A *column* (the values of one attribute over the block's trials, in number order) is written
as one of:

* ``{"c": value}``: every trial has this JSON value;
* ``{"f8": base64}``: floats, little-endian float64 (NaN kept);
* ``{"d": {"keys": [...], "cols": {key: column}, "absent": {key: [i, ...]}}}``: dicts,
  one column per key (trials at the ``absent`` positions lack that key); dicts whose values
  are all numbers go as ``{"m": {"keys": [...], "f8": base64 of the n x k matrix, "absent":
  {...}}}`` (numbers read back as floats);
* ``{"j": [value, ...]}``: anything else, as JSON (:func:`research._json.to_jsonable`).

A column may carry ``"has": [i, ...]``: only those trials have the attribute. Readers:
:func:`decode_payload` (per-trial dicts) and :class:`research.optimize.storage.TrialStore`,
which hands out the stored trials with these attributes as their ``user_attrs``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np

from research._json import dumps, to_jsonable

__all__ = ["TABLE", "encode_payload", "decode_payload", "records_table", "read_records"]

#: the project table of batch records (beside Optuna's tables in the same database)
TABLE = "qr_trial_batches"
_VERSION = 1
_NUMBERS = {float, int}


def encode_payload(attrs: Sequence[dict[str, Any]]) -> str:
    """The JSON payload of a block of trials' user attributes (in number order)."""
    return dumps({"v": _VERSION, "attrs": _dicts(list(attrs))})


def decode_payload(text: str, n: int) -> list[dict[str, Any]]:
    """The ``n`` trials' user attributes of a payload written by :func:`encode_payload`."""
    data = json.loads(text)
    if data.get("v") != _VERSION:
        raise ValueError(f"unknown trial record version {data.get('v')!r}")
    out = _decode(data["attrs"], n)
    return [dict(d) for d in out]


def _column(values: list[Any]) -> dict[str, Any]:
    first = values[0]
    kind = type(first)
    if kind is not float and all(type(v) is kind and v == first for v in values):
        return {"c": to_jsonable(first)}
    nones = [i for i, v in enumerate(values) if v is None]
    if nones:  # the others encoded on their own
        out = _column([v for v in values if v is not None])
        out["none"] = nones
        return out
    kinds = set(map(type, values))
    if kinds == {float}:
        return {"f8": _b64(np.array(values, dtype="<f8"))}
    if kinds == {dict}:
        return _dicts(values)
    if kinds == {list} and len(set(map(len, values))) == 1:
        flat = list(chain.from_iterable(values))
        if flat and set(map(type, flat)) == {float}:
            return {"l8": _b64(np.array(flat, dtype="<f8")), "k": len(first)}
    return {"j": to_jsonable(values)}


def _dicts(values: list[dict[str, Any]]) -> dict[str, Any]:
    """A column of dicts: keys in order of first appearance, one column per key."""
    shapes = list(map(tuple, values))
    groups: dict[tuple[str, ...], Any] = {}
    if len(set(shapes)) == 1:  # the usual case: every dict has the same keys in one order
        groups[shapes[0]] = range(len(values))
    else:
        for i, shape in enumerate(shapes):
            groups.setdefault(shape, []).append(i)
    keys: dict[str, None] = {}
    for shape in groups:
        keys.update(dict.fromkeys(shape))
    names = list(keys)
    absent = {
        k: sorted(i for shape, rows in groups.items() if k not in shape for i in rows)
        for k in names
    }
    absent = {k: v for k, v in absent.items() if v}
    matrix = _number_matrix(values, groups, names)
    if matrix is not None:
        out: dict[str, Any] = {"keys": names, "f8": _b64(matrix)}
        if absent:
            out["absent"] = absent
        return {"m": out}
    cols = {}
    for k in names:
        gaps = set(absent.get(k, ()))
        if gaps:
            present = [d[k] for i, d in enumerate(values) if i not in gaps]
        else:
            present = list(map(itemgetter(k), values))
        cols[k] = _column(present) if present else {"j": []}
    out = {"keys": names, "cols": cols}
    if absent:
        out["absent"] = absent
    return {"d": out}


def _number_matrix(
    values: list[dict[str, Any]], groups: dict[tuple[str, ...], list[int]], names: list[str]
) -> np.ndarray | None:
    """The ``n x k`` float matrix of dicts whose values are all numbers (NaN where a key is
    absent), or None."""
    if not names:
        return None
    matrix = np.full((len(values), len(names)), np.nan)
    at = {k: j for j, k in enumerate(names)}
    for shape, rows in groups.items():
        if not set(map(type, values[rows[0]].values())) <= _NUMBERS:
            return None  # quick refusal on the group's first dict
        picked = values if len(rows) == len(values) else [values[i] for i in rows]
        block = list(map(list, map(dict.values, picked)))
        try:
            arr = np.array(block, dtype=np.float64)
        except (TypeError, ValueError):
            return None
        # bools, None, numpy scalars and text do not pass as numbers
        if arr.ndim != 2 or not set(map(type, chain.from_iterable(block))) <= _NUMBERS:
            return None
        matrix[np.ix_(rows, [at[k] for k in shape])] = arr
    return matrix


def _b64(arr: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(arr, dtype="<f8").tobytes()).decode("ascii")


def _unb64(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f8")


def _decode(col: dict[str, Any], n: int) -> list[Any]:
    nones = col.get("none")
    if nones:
        rest = iter(_decode({k: v for k, v in col.items() if k != "none"}, n - len(nones)))
        gaps = set(nones)
        return [None if i in gaps else next(rest) for i in range(n)]
    if "c" in col:
        return [col["c"]] * n
    if "f8" in col:
        return _unb64(col["f8"]).tolist()
    if "j" in col:
        return list(col["j"])
    if "l8" in col:
        k = int(col["k"])
        return _unb64(col["l8"]).reshape(n, k).tolist()
    if "m" in col:
        spec = col["m"]
        names = spec["keys"]
        rows = _unb64(spec["f8"]).reshape(n, len(names)).tolist()
        absent = {k: set(v) for k, v in spec.get("absent", {}).items()}
        if not absent:
            return [dict(zip(names, row)) for row in rows]
        return [
            {k: v for k, v in zip(names, row) if i not in absent.get(k, ())}
            for i, row in enumerate(rows)
        ]
    spec = col["d"]
    names = spec["keys"]
    absent = {k: set(v) for k, v in spec.get("absent", {}).items()}
    out: list[dict[str, Any]] = [{} for _ in range(n)]
    for k in names:
        gaps = absent.get(k, set())
        where = [i for i in range(n) if i not in gaps]
        for i, v in zip(where, _decode(spec["cols"][k], len(where))):
            out[i][k] = v
    return out


def records_table(metadata: Any = None) -> Any:
    """The SQLAlchemy ``Table`` of :data:`TABLE` (its own ``MetaData``: Optuna's migrations
    never see it)."""
    from sqlalchemy import Column, Index, Integer, MetaData, Table, Text

    md = metadata if metadata is not None else MetaData()
    return Table(
        TABLE,
        md,
        Column("id", Integer, primary_key=True),
        Column("study_id", Integer, nullable=False),
        Column("first_number", Integer, nullable=False),
        Column("n_trials", Integer, nullable=False),
        Column("payload", Text, nullable=False),
        Index(f"ix_{TABLE}_study", "study_id", "first_number"),
    )


def read_records(conn: Any, table: Any, study_id: int) -> dict[int, dict[str, Any]]:
    """Trial number -> user attributes of every batch record of a study."""
    from sqlalchemy import select

    rows = conn.execute(
        select(table.c.first_number, table.c.n_trials, table.c.payload)
        .where(table.c.study_id == study_id)
        .order_by(table.c.first_number)
    ).all()
    out: dict[int, dict[str, Any]] = {}
    for first, n, payload in rows:
        out.update(zip(range(first, first + n), decode_payload(payload, n)))
    return out
