"""A stable content hash of bars, stored with every run so results can be tied to their data.

Public through the package (``from data_loaders import fingerprint, data_fingerprint``). The
module is private so that its name cannot shadow the :func:`fingerprint` function as a package
attribute (importing a submodule named ``fingerprint`` would rebind ``data_loaders.fingerprint``
to the module)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from data_loaders.errors import DataValidationError

__all__ = ["fingerprint", "data_fingerprint", "matrix_fingerprint"]

_VERSION = b"quant-research/bars-fingerprint/v1"


def _update(h: hashlib._Hash, df: pd.DataFrame) -> None:
    if not isinstance(df, pd.DataFrame):
        raise DataValidationError(
            f"fingerprint expects bars (a DataFrame or a dict of them), got {type(df).__name__}"
        )
    idx = df.index
    h.update(f"rows={len(df)};cols={','.join(map(str, df.columns))};".encode())
    if isinstance(idx, pd.DatetimeIndex):
        utc = idx.tz_convert("UTC") if idx.tz is not None else idx
        h.update(b"index:datetime-ns-utc;")
        h.update(np.ascontiguousarray(utc.as_unit("ns").asi8, dtype="<i8").tobytes())
    else:
        h.update(b"index:hashed;")
        h.update(pd.util.hash_pandas_object(idx).to_numpy().astype("<u8").tobytes())
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            values = s.to_numpy(dtype=np.float64, na_value=np.nan)
            values = np.where(values == 0.0, 0.0, values)  # -0.0 and 0.0 hash alike
            h.update(np.ascontiguousarray(values, dtype="<f8").tobytes())
        else:
            h.update(pd.util.hash_pandas_object(s, index=False).to_numpy().astype("<u8").tobytes())


def fingerprint(bars: pd.DataFrame | dict[str, pd.DataFrame]) -> str:
    """SHA-256 hex digest of the data: index (as UTC nanoseconds) and values, column by column.

    The same data gives the same digest on every platform and pandas version (little-endian
    int64/float64 bytes); metadata in ``attrs`` is not part of it. For a dict of bars the
    symbols are hashed in sorted order, each with its name.
    """
    h = hashlib.sha256(_VERSION)
    if isinstance(bars, dict):
        h.update(f"dict:{len(bars)};".encode())
        for sym in sorted(bars):
            h.update(f"symbol:{sym};".encode())
            _update(h, bars[sym])
    else:
        h.update(b"frame;")
        _update(h, bars)
    return h.hexdigest()


def matrix_fingerprint(frame: Any) -> str:
    """SHA-256 hex digest of a numeric frame (or dict of frames) as float64 bytes: keys, index,
    column names and values. Used for feature matrices; its output is part of the study names
    of existing runs, so it is kept as it is rather than replaced by :func:`fingerprint`."""
    h = hashlib.sha256()
    frames = frame.items() if isinstance(frame, Mapping) else [("", frame)]
    for key, df in frames:
        h.update(str(key).encode())
        h.update(np.asarray(df.index.asi8 if hasattr(df.index, "asi8") else df.index).tobytes())
        h.update(",".join(map(str, df.columns)).encode())
        h.update(np.ascontiguousarray(df.to_numpy(dtype=np.float64)).tobytes())
    return h.hexdigest()


def data_fingerprint(bars: Any, features: pd.DataFrame | None = None) -> str:
    """The identity of a search's data: :func:`fingerprint` of the bars, combined with
    :func:`matrix_fingerprint` of the features when there are any."""
    out = fingerprint(bars)
    if features is not None:
        out = hashlib.sha256((out + matrix_fingerprint(features)).encode()).hexdigest()
    return out
