"""``sma_cross``: long while the fast simple moving average is above the slow one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from strategies._bars import single_bars
from strategies._fused import inherits_rule
from strategies._signals_nb import ma_cross_fill_c_nb, ma_cross_fill_f_nb, sma_cross_fill_nb
from strategies.base import Strategy
from strategies.indicators._nb import RESYNC, rolling_mean_windows_nb
from strategies.params import Int

__all__ = ["SmaCross"]


class SmaCross(Strategy):
    """Moving-average crossover, long/flat.

    Rule, decided at bar t's close: ``position[t] = 1`` while ``SMA(close, fast)[t] >
    SMA(close, slow)[t]``, else ``0`` (flat; equality is flat). ``SMA(w)[t]`` is the mean of the
    closes of bars ``t-w+1 .. t``, first defined at bar ``w-1``.

    Warm-up ``slow - 1``: the bar where SMA(slow) first exists, so the first non-zero position can
    be at bar ``slow - 1`` and its first fill (next-open execution) at bar ``slow``. Shorting is
    left to the engine's ``direction``; this strategy never asks for a negative exposure.

    :meth:`batch_positions` computes each distinct window's SMA once (numba) and fills all columns
    in parallel; that is the path of grid searches such as the 90-set benchmark grid.
    """

    name = "sma_cross"
    fast = Int(2, 100, default=10)
    slow = Int(5, 400, default=30)
    constraints = ("fast < slow",)

    @property
    def warmup(self) -> int:
        return self.slow - 1

    def positions(self, bars: pd.DataFrame, features: pd.DataFrame | None = None) -> pd.Series:
        bars = single_bars(bars, self.label())
        out = self.batch_positions(bars, [self.params])
        return pd.Series(out[:, 0], index=bars.index, name="position")

    @classmethod
    def batch_positions(
        cls,
        bars: pd.DataFrame,
        param_sets: Sequence[Mapping[str, Any]],
        features: pd.DataFrame | None = None,
        *,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Positions of many ``(fast, slow)`` sets: float64 ``(n_bars, n_sets)``.

        One fused numba pass: bars are walked in tiles, each distinct window's SMA is advanced
        once per tile (running sums, only a ``(k, 4096)`` scratch) and every set's column is
        filled from it. Memory is the output alone; it is Fortran-ordered unless ``out`` (C or F)
        is given. A large Fortran-ordered batch is filled by one thread per core, each taking a
        contiguous range of columns (and the windows those need). Bars with a NaN close take a
        slower NaN-tolerant path.
        """
        bars = single_bars(bars, cls.label())
        sets = [cls(**params) for params in param_sets]
        out = cls._batch_out(len(bars), len(sets), out)
        if not sets:
            return out
        fast = np.array([s.fast for s in sets], dtype=np.int64)
        slow = np.array([s.slow for s in sets], dtype=np.int64)
        close = np.ascontiguousarray(bars["close"].to_numpy(dtype=np.float64))
        if np.isnan(close).any():  # NaN-tolerant path: whole moving averages, then compare
            windows, fast_idx, slow_idx = _window_rows(fast, slow)
            ma = rolling_mean_windows_nb(close, windows)
            if out.flags.c_contiguous and not out.flags.f_contiguous:
                ma_cross_fill_c_nb(ma, fast_idx, slow_idx, out)
            else:
                ma_cross_fill_f_nb(ma, fast_idx, slow_idx, out)
            return out
        n_threads = _n_threads() if out.flags.f_contiguous else 1
        if len(sets) * len(close) < _PARALLEL_CELLS or len(sets) < 2 * n_threads:
            n_threads = 1
        bounds = np.linspace(0, len(sets), n_threads + 1).astype(np.int64)

        def fill(k: int) -> None:
            a, b = int(bounds[k]), int(bounds[k + 1])
            windows, fast_idx, slow_idx = _window_rows(fast[a:b], slow[a:b])
            sma_cross_fill_nb(close, windows, fast_idx, slow_idx, out[:, a:b], RESYNC)

        if n_threads == 1:
            fill(0)
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=n_threads) as pool:
                list(pool.map(fill, range(n_threads)))
        return out

    @classmethod
    def fused_signal(
        cls,
        bars: pd.DataFrame,
        param_sets: Sequence[Mapping[str, Any]],
        features: pd.DataFrame | None = None,
    ) -> Any:
        """The sets' SMA crossover computed inside the simulation pass
        (:func:`strategies._fused_nb.sma_cross_block_nb`); None with a NaN close, and for a
        subclass with its own rule (:func:`strategies._fused.inherits_rule`)."""
        from backtest.fused import FusedSignal
        from strategies._fused_nb import sma_cross_block_nb

        if not inherits_rule(cls, SmaCross):
            return None
        bars = single_bars(bars, cls.label())
        sets = [cls(**params) for params in param_sets]
        close = bars["close"].to_numpy(dtype=np.float64)
        if not sets or np.isnan(close).any():
            return None
        fast = np.array([s.fast for s in sets], dtype=np.int64)
        slow = np.array([s.slow for s in sets], dtype=np.int64)
        args = (fast, slow, RESYNC, np.ascontiguousarray(close))
        return FusedSignal(sma_cross_block_nb, args, len(sets), len(close))


#: cells (bars x sets) from which a Fortran-ordered batch is filled by several threads
_PARALLEL_CELLS = 1 << 22


def _n_threads() -> int:
    """numba's thread count (the number of cores, or ``NUMBA_NUM_THREADS``)."""
    from numba import config

    return max(1, int(config.NUMBA_NUM_THREADS or 1))


def _window_rows(fast: np.ndarray, slow: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct windows (sorted) and each set's row of its fast and slow window among them."""
    windows = np.unique(np.concatenate([fast, slow]))
    return windows, np.searchsorted(windows, fast), np.searchsorted(windows, slow)
