"""The indicator catalog: every entry of every family, and feature matrices built from it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import pandas as pd

from data_loaders.errors import ParameterError, did_you_mean
from strategies.indicators import momentum, others, price, trend, volatility, volume
from strategies.indicators.base import Indicator

__all__ = ["catalog", "get_indicator", "compute_features", "FeatureSpec"]

#: an entry of a feature list: a catalog name, or ``(name, params)``
FeatureSpec = str | tuple[str, Mapping[str, Any]]


@cache
def _catalog() -> dict[str, Indicator]:
    out: dict[str, Indicator] = {}
    for module in (momentum, trend, volatility, volume, others, price):
        for ind in module.INDICATORS:
            if ind.name in out:
                raise RuntimeError(f"indicator {ind.name!r} registered twice")
            out[ind.name] = ind
    return out


def catalog() -> dict[str, Indicator]:
    """Every indicator by name (families: momentum, trend, volatility, volume, others, price)."""
    return dict(_catalog())


def get_indicator(name: str) -> Indicator:
    """The catalog entry ``name``; :class:`ParameterError` with a suggestion when unknown."""
    entries = _catalog()
    if name not in entries:
        raise ParameterError(f"unknown indicator {name!r}{did_you_mean(name, entries)}")
    return entries[name]


def compute_features(
    bars: pd.DataFrame, specs: Iterable[FeatureSpec] | None = None
) -> pd.DataFrame:
    """A feature matrix: one column per indicator output, indexed like ``bars``.

    Args:
        bars: one symbol's bars.
        specs: catalog names or ``(name, params)`` pairs; ``None`` means every scale-free entry
            at its default parameters (oscillators, returns, ratios: usable as model inputs).

    Columns are named by :meth:`Indicator.label` (``"rsi_14"``, ``"macd_signal_26_12_9"``). Each
    column is NaN before its indicator's warm-up; every value is causal.
    """
    if specs is None:
        specs = [name for name, ind in _catalog().items() if ind.scale_free]
    columns: dict[str, pd.Series] = {}
    for spec in specs:
        name, params = (spec, {}) if isinstance(spec, str) else (spec[0], dict(spec[1]))
        ind = get_indicator(name)
        result = ind.compute(bars, **params)
        frame = result.to_frame() if isinstance(result, pd.Series) else result
        for output in ind.outputs:
            columns[ind.label(output, **params)] = frame[output]
    return pd.DataFrame(columns, index=bars.index)
