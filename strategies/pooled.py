"""Pooling: one single-symbol strategy, one parameter set, every symbol of a universe.

:func:`pooled_strategy` turns a single-symbol :class:`strategies.base.Strategy` class into a
multi-asset one with the same parameters. Its :meth:`~PooledStrategy.symbol_positions` are the
inner strategy's positions computed on each symbol's own bars (own calendar; ``NaN`` on union
rows where a symbol has no bar), and its :meth:`~PooledStrategy.positions` are the book weights
of :func:`strategies.allocation.allocate` (``equal``: position / number of symbols), so one
parameter set trades every symbol in one book whose gross exposure stays within 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from data_loaders.errors import ParameterError
from data_loaders.universe import Universe, align_universe
from strategies.allocation import ALLOCATIONS, allocate

__all__ = ["PooledStrategy", "pooled_strategy"]


class PooledStrategy:
    """Mixin of the classes :func:`pooled_strategy` makes (first base, before the inner class)."""

    multi_asset: ClassVar[bool] = True
    inner: ClassVar[type]
    allocation: ClassVar[str] = "equal"

    def symbol_positions(self, bars: Mapping[str, pd.DataFrame] | Universe) -> pd.DataFrame:
        """The inner strategy's positions on every symbol (union index x symbols, ``NaN`` where
        a symbol has no bar), each computed on the symbol's own bars only."""
        uni = align_universe(bars, source=f"{self.label()} bars")
        out = np.full(uni.shape, np.nan)
        for j, sym in enumerate(uni.symbols):
            if not uni.available[:, j].any():  # no bar in this window: NaN (never traded)
                continue
            own = uni.bars(sym)
            pos = self.inner.positions(self, own)
            out[uni.available[:, j], j] = np.asarray(pos, dtype=np.float64).reshape(-1)
        return pd.DataFrame(out, index=uni.index, columns=list(uni.symbols))

    def positions(self, bars: Any, features: pd.DataFrame | None = None) -> pd.DataFrame:
        """Book weights: :meth:`symbol_positions` allocated with :attr:`allocation`."""
        uni = align_universe(bars, source=f"{self.label()} bars")
        return allocate(self.symbol_positions(uni), uni, self.allocation)


def pooled_strategy(cls: type, allocation: str = "equal") -> type:
    """The pooled (multi-asset) version of the single-symbol strategy class ``cls``.

    Raises:
        ParameterError: ``cls`` is multi-asset or needs fitting, or an unknown ``allocation``.
    """
    if getattr(cls, "multi_asset", False) or getattr(cls, "needs_fit", False):
        raise ParameterError(
            f"{cls.label()}: pooling needs a single-symbol strategy without fitting"
        )
    if allocation not in ALLOCATIONS:
        raise ParameterError(f"`allocation` must be one of {ALLOCATIONS}, got {allocation!r}")
    name = f"{cls.__name__}Pooled"
    attrs = {
        "inner": cls,
        "allocation": allocation,
        "multi_asset": True,
        "name": cls.label(),
        "__module__": cls.__module__,
        "__qualname__": f"{cls.__qualname__}[pooled:{allocation}]",
    }
    return type(name, (PooledStrategy, cls), attrs)
