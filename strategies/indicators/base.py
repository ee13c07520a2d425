"""The :class:`Indicator` record every catalog entry is: inputs, parameters, warm-up, outputs.

An indicator is a plain function of bar columns and parameters, e.g.
``def rsi(close, window=14) -> pd.Series``. Its arguments named like bar columns
(``open high low close volume``) are its inputs; the others are parameters whose signature defaults
are the default values. :class:`Indicator` wraps the function with:

* ``params``: parameter name -> list of default grid values (what exploration sweeps);
* ``warmup(**params)``: the 0-based index of the first bar where *every* output is defined.
  Everything before it is NaN (``ta``'s zero/fill conventions are converted to NaN);
* ``outputs``: the output names; one output gives a ``pd.Series`` named after it, several give a
  ``pd.DataFrame`` with these columns;
* ``constraints``: e.g. ``("window_fast < window_slow",)``, checked on every call.

Every catalog entry is causal: its value at bar ``t`` depends on bars ``0..t`` only (the tests
recompute each on truncated data to prove it).
"""

from __future__ import annotations

import inspect
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from data_loaders.errors import DataValidationError, ParameterError, did_you_mean
from strategies.params import constraint_violations, parse_constraint

__all__ = ["Indicator", "FAMILIES", "BAR_COLUMNS", "Registrar", "ta_outputs"]

FAMILIES = ("momentum", "trend", "volatility", "volume", "others", "price")
BAR_COLUMNS = ("open", "high", "low", "close", "volume")


class Indicator:
    """One catalog entry. Build it from a function; call :meth:`compute` and :meth:`warmup`.

    Args:
        name: catalog key, e.g. ``"rsi"``.
        family: one of :data:`FAMILIES`.
        func: ``func(<bar columns>..., <params>...) -> Series | DataFrame`` (causal).
        warmup: ``warmup(**params) -> int`` called with every parameter (defaults filled in).
        grid: parameter name -> default grid values; parameters not listed get ``[default]``.
        outputs: output names (default ``(name,)``).
        constraints: cross-parameter constraints such as ``"window_fast < window_slow"``.
        scale_free: True when every output is independent of the price and volume level
            (oscillators, returns, ratios), so it can be used as a model feature as is.
        description: one line; defaults to the first line of ``func``'s docstring.
    """

    def __init__(
        self,
        name: str,
        family: str,
        func: Callable[..., pd.Series | pd.DataFrame],
        *,
        warmup: Callable[..., int],
        grid: Mapping[str, Sequence[Any]] | None = None,
        outputs: Sequence[str] | None = None,
        constraints: Sequence[str] = (),
        scale_free: bool = False,
        description: str | None = None,
    ) -> None:
        if family not in FAMILIES:
            raise ValueError(
                f"indicator {name!r}: family must be one of {FAMILIES}, got {family!r}"
            )
        sig = inspect.signature(func)
        self.name = name
        self.family = family
        self.func = func
        self.inputs = tuple(p for p in sig.parameters if p in BAR_COLUMNS)
        self.defaults = {p: v.default for p, v in sig.parameters.items() if p not in BAR_COLUMNS}
        grid = dict(grid or {})
        unknown = set(grid) - set(self.defaults)
        if unknown:
            raise ValueError(f"indicator {name!r}: grid names unknown parameters {sorted(unknown)}")
        self.params = {p: list(grid.get(p, [d])) for p, d in self.defaults.items()}
        self.outputs = tuple(outputs or (name,))
        self.constraints = tuple(parse_constraint(c, list(self.defaults)) for c in constraints)
        self.scale_free = scale_free
        doc = (description or inspect.getdoc(func) or name).strip()
        self.description = doc.splitlines()[0]
        self._warmup = warmup

    # --- parameters -----------------------------------------------------------------------------
    def resolve(self, **params: Any) -> dict[str, Any]:
        """Every parameter, defaults filled in, validated; raises :class:`ParameterError`."""
        out = dict(self.defaults)
        for key, value in params.items():
            if key not in self.defaults:
                raise ParameterError(
                    f"unknown parameter {key!r} for indicator {self.name!r}"
                    f"{did_you_mean(key, self.defaults)}"
                )
            out[key] = self._validate(key, value)
        bad = constraint_violations(self.constraints, out)
        if bad:
            raise ParameterError(f"indicator {self.name!r}: {bad[0]}")
        return out

    def _validate(self, key: str, value: Any) -> Any:
        default = self.defaults[key]
        where = f"indicator {self.name!r}: `{key}`"
        if isinstance(default, bool):
            if not isinstance(value, (bool, np.bool_)):
                raise ParameterError(f"{where} must be True or False, got {key}={value!r}")
            return bool(value)
        is_number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
            value, (bool, np.bool_)
        )
        if isinstance(default, int):
            if not is_number or not float(value).is_integer() or value < 1:
                raise ParameterError(f"{where} must be an integer >= 1, got {key}={value!r}")
            return int(value)
        if not is_number or not math.isfinite(value) or value <= 0:
            raise ParameterError(f"{where} must be a finite number > 0, got {key}={value!r}")
        return float(value)

    def grid_points(self) -> list[dict[str, Any]]:
        """The cartesian product of :attr:`params`, without points that break a constraint."""
        names = list(self.params)
        points = [dict(zip(names, combo)) for combo in itertools.product(*self.params.values())]
        return [p for p in points if not constraint_violations(self.constraints, p)]

    def warmup(self, **params: Any) -> int:
        """0-based index of the first bar on which every output is defined."""
        return int(self._warmup(**self.resolve(**params)))

    def label(self, output: str | None = None, **params: Any) -> str:
        """Column name for one output at ``params``: ``"rsi_14"``, ``"macd_signal_26_12_9"``."""
        values = self.resolve(**params).values()
        return "_".join([output or self.outputs[0], *(str(v) for v in values)])

    # --- computation ------------------------------------------------------------------------------
    def compute(self, bars: pd.DataFrame | pd.Series, **params: Any) -> pd.Series | pd.DataFrame:
        """Compute on ``bars`` (DataFrame with the input columns; a Series counts as ``close``).

        Returns a float64 Series (one output, named after it) or DataFrame (columns
        :attr:`outputs`) indexed like ``bars``, NaN before :meth:`warmup`.
        """
        p = self.resolve(**params)
        columns = self._inputs(bars)
        index = bars.index
        warm = int(self._warmup(**p))
        n = len(index)
        if n <= warm:
            data = np.full((n, len(self.outputs)), np.nan)
        else:
            result = self.func(**columns, **p)
            if isinstance(result, pd.Series):
                result = result.to_frame(self.outputs[0])
            if list(result.columns) != list(self.outputs):
                raise RuntimeError(
                    f"indicator {self.name!r} returned columns {list(result.columns)}, "
                    f"declared {list(self.outputs)}"
                )
            data = np.array(result.to_numpy(dtype=np.float64), dtype=np.float64, copy=True)
            if data.shape[0] != n:
                raise RuntimeError(f"indicator {self.name!r} returned {data.shape[0]} rows for {n}")
            data[np.isinf(data)] = np.nan
            data[:warm] = np.nan
        if len(self.outputs) == 1:
            return pd.Series(data[:, 0], index=index, name=self.outputs[0])
        return pd.DataFrame(data, index=index, columns=list(self.outputs))

    def _inputs(self, bars: pd.DataFrame | pd.Series) -> dict[str, pd.Series]:
        if isinstance(bars, pd.Series):
            if self.inputs not in (("close",), ()):
                raise DataValidationError(
                    f"indicator {self.name!r} needs columns {list(self.inputs)}; "
                    "got a Series (only close-only indicators accept one)"
                )
            return {"close": bars.astype(np.float64)} if self.inputs else {}
        missing = [c for c in self.inputs if c not in bars.columns]
        if missing:
            raise DataValidationError(
                f"indicator {self.name!r} needs column {missing[0]!r}; "
                f"bars have columns {list(bars.columns)}"
            )
        return {c: bars[c].astype(np.float64) for c in self.inputs}

    def __repr__(self) -> str:
        return f"Indicator({self.name!r}, family={self.family!r}, params={self.params})"


class Registrar:
    """Collects the indicators of one family module: ``@reg(warmup=...)`` over a function."""

    def __init__(self, family: str) -> None:
        self.family = family
        self.indicators: list[Indicator] = []

    def __call__(self, **kwargs: Any) -> Callable[[Callable], Callable]:
        def deco(func: Callable) -> Callable:
            self.indicators.append(Indicator(func.__name__, self.family, func, **kwargs))
            return func

        return deco


def ta_outputs(indicator: object, methods: Mapping[str, str]) -> pd.DataFrame:
    """A ``ta`` indicator object's outputs as columns: ``{column: method}``, in that order (the
    same mapping's keys are the catalog entry's ``outputs``)."""
    return pd.DataFrame({col: getattr(indicator, method)() for col, method in methods.items()})
