"""Fused signals: a strategy's targets computed inside the batch simulation pass.

:func:`backtest.evaluate_batch` accepts, in place of a positions matrix, a :class:`FusedSignal`
naming a numba kernel that computes a block of parameter sets' signals tile by tile and feeds
them to the simulation (see :mod:`strategies._fused_nb`): memory is a few small buffers instead
of ``(n_bars, n_sets)`` positions, and the results equal those of the matrix path. Built-in
strategies whose signals are incremental provide one through ``Strategy.fused_signal``;
others (and user strategies) keep the positions-matrix path. Per-bar returns (``return_returns``)
and exit layers are supported the same way as with a matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["FusedSignal"]


@dataclass(frozen=True)
class FusedSignal:
    """A fused signal kernel and its inputs.

    Attributes:
        kernel: numba function called per block of sets as ``kernel(*args, c0, c1, sim)``,
            ``sim`` the settings tuple of :mod:`backtest._sim_nb` (fields ``S_*``; see
            :mod:`strategies._fused_nb`).
        args: the signal inputs (arrays, ints), passed first.
        n_sets: number of parameter sets (columns).
        n_bars: number of bars the signals are defined on (must equal the prices').
    """

    kernel: Any
    args: tuple[Any, ...]
    n_sets: int
    n_bars: int
