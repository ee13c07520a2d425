"""Stop and resume a batch simulation: multi-fidelity that continues instead of restarting.

:func:`simulate_resumable` simulates parameter sets' target positions over ``[start, stop)``
and returns, with the metrics of that window (those of :func:`backtest.evaluate_batch`), a
:class:`SimState` holding every set's state after bar ``stop - 1``: cash, position, target in
force, open trade, trade counters, the metric accumulators (return sums, growth, peak,
drawdown, Omega sums) and the exposure/turnover counters. Passing it back with a later ``stop``
simulates only the new bars ``[state.stop, stop)``, and the metrics equal those of one pass over
``[start, stop)`` bit for bit: a Hyperband / successive-halving trial promoted from 1/9 to 1/3
of the window costs the extra 2/9 of the bars, not 1/3. Indicator state is not saved: the
positions are the strategy's (causal) positions on the bars, recomputed or reused by the caller.

Plain path only: next-open or close fills, fees, fixed fees, slippage and spread, direction,
whole units; no exit layer, leverage, financing, sell-side or minimum fees, no per-bar returns (use :func:`backtest.evaluate_batch` for those).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from backtest._exits_nb import N_XP
from backtest._sim_nb import (
    MIN_SIZE,
    N_OUT,
    block_begin_nb,
    block_end_nb,
    run_block_nb,
)
from backtest.batch_inputs import column_blocks
from backtest.execution import check_settings
from backtest.kernel_output import check_targets_read, metrics_frame
from data_loaders.errors import DataValidationError, ParameterError

__all__ = ["SimState", "simulate_resumable"]


@dataclass(frozen=True)
class SimState:
    """Every set's simulation state after bar ``stop - 1`` of a window begun at ``start``.

    ``arrays``: the ``(h, ts, tc, xs, fs)`` arrays of :func:`backtest._sim_nb.block_state_nb`,
    one row per set. Small (about 40 float64 per set) and picklable.
    """

    start: int
    stop: int
    arrays: tuple[np.ndarray, ...]

    @property
    def n_sets(self) -> int:
        return len(self.arrays[0])

    @staticmethod
    def stack(states: list[SimState]) -> SimState:
        """One state of the sets of ``states`` (in order); they must share start and stop."""
        first = states[0]
        if any(st.start != first.start or st.stop != first.stop for st in states):
            raise ParameterError("SimState.stack: the states must share their start and stop")
        arrays = tuple(np.concatenate([st.arrays[k] for st in states]) for k in range(5))
        return SimState(first.start, first.stop, arrays)

    def take(self, sets: Any) -> SimState:
        """The state of the sets at positions ``sets`` (e.g. the survivors of a rung)."""
        idx = np.asarray(sets, dtype=np.int64)
        arrays = tuple(a[idx].copy() if len(a) else a for a in self.arrays)  # xs: (0, .) w/o exits
        return SimState(self.start, self.stop, arrays)


def simulate_resumable(
    open_: Any,
    close: Any,
    positions: Any,
    *,
    start: int,
    stop: int,
    state: SimState | None = None,
    costs: Any = None,
    execution: str = "next-open",
    direction: str = "both",
    init_cash: float = 100_000.0,
    periods_per_year: float = 252,
    whole_units: bool = False,
    risk_free: float = 0.0,
) -> tuple[pd.DataFrame, SimState]:
    """Metrics of ``positions`` over ``[start, stop)``, resuming from ``state`` when given.

    Args:
        open_, close: ``(n_bars,)`` prices (> 0); ``n_bars >= stop``.
        positions: ``(n_bars, n_sets)`` target exposures in ``[-1, 1]`` (rows up to ``stop - 1``
            are read; a longer matrix is fine).
        start, stop: the window (``0 <= start < stop <= n_bars``).
        state: the :class:`SimState` of an earlier call on the same window start, prices,
            settings and sets (``state.start == start``, ``state.stop < stop``); None = start
            flat with ``init_cash``.
        other arguments: as :func:`backtest.evaluate_batch`.

    Returns:
        ``(metrics, state)``: one row per set, columns :data:`backtest.BATCH_METRICS` (the
        whole window ``[start, stop)``) and ``liquidated_at`` (as
        :attr:`backtest.BatchResult.liquidated_at`), and the state after bar ``stop - 1``.

    Raises:
        ParameterError: a bad window or a state that does not continue it.
        DataValidationError: positions of the wrong shape, or an invalid target (names set, bar).
    """
    costs, lo, hi, init_cash = check_settings(costs, execution, direction, init_cash)
    if costs.extended:
        raise ParameterError(
            "simulate_resumable: financing rates, sell fees and minimum fees need "
            "backtest.evaluate_batch (the resumable kernel is the plain path)"
        )
    o = np.ascontiguousarray(open_, dtype=np.float64)
    c = np.ascontiguousarray(close, dtype=np.float64)
    pos = np.ascontiguousarray(np.asarray(positions, dtype=np.float64))
    if pos.ndim == 1:
        pos = pos.reshape(-1, 1)
    n_bars = len(c)
    if len(o) != n_bars or pos.ndim != 2 or pos.shape[0] < stop:
        raise DataValidationError(
            f"simulate_resumable: open {len(o)}, close {n_bars} and positions {pos.shape} must "
            f"cover the bars up to stop={stop}"
        )
    if not 0 <= start < stop <= n_bars:
        raise ParameterError(
            f"simulate_resumable: need 0 <= start < stop <= {n_bars}, got {start}, {stop}"
        )
    n_sets = pos.shape[1]
    if state is not None and not (
        state.start == start and start <= state.stop < stop and state.n_sets == n_sets
    ):
        raise ParameterError(
            f"simulate_resumable: the state (window from {state.start}, reached {state.stop}, "
            f"{state.n_sets} sets) does not continue start={start}, stop={stop} with {n_sets} sets"
        )
    begin = start if state is None else state.stop
    saved = [np.empty(0)] * 5 if state is None else list(state.arrays)
    parts: list[list[np.ndarray]] = [[], [], [], [], []]
    out = np.empty((n_sets, N_OUT))
    none, no_rows = np.empty(0), np.empty((0, 0))
    sim = (  # the fields backtest._sim_nb.S_*: the plain path (no exits, margin, returns)
        o, c, execution == "next-open", float(lo), float(hi), float(costs.fees),
        float(costs.fixed_fees), float(costs.slippage), 1.0 if whole_units else np.nan, MIN_SIZE,
        float(init_cash), int(start), int(stop), float(risk_free), float(periods_per_year), out,
        no_rows, 0, none, none, none, np.empty((0, N_XP)), no_rows, None, np.empty((0, 2)), None,
    )  # fmt: skip
    for c0, c1 in column_blocks(n_sets):
        if state is None:
            arrays = block_begin_nb(c1 - c0, sim)
        else:
            arrays = tuple(a[c0:c1].copy() for a in saved)
        run_block_nb(pos, False, c0, arrays, begin, sim)
        for k, a in enumerate(arrays):
            parts[k].append(a.copy())
        block_end_nb(arrays, c0, sim)
    check_targets_read(out, pos, "simulate_resumable")
    metrics = metrics_frame(out, liquidated_at=True)
    new = SimState(start, stop, tuple(np.concatenate(p) for p in parts))
    return metrics, new
