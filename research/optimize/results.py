"""Results of a walk-forward optimization: per fold, stitched out of sample, every trial.

Conventions:

* In-sample (IS) metrics of a fold are the pick's metrics on the fold's whole train window
  (refitted on it for strategies that learn); out-of-sample (OOS) metrics on its test window.
  Each window starts flat with the initial cash.
* ``oos_returns`` stitches the folds' test-window per-bar returns in time order (each fold's
  window starts flat; nothing is carried from one fold to the next).
* **Walk-forward efficiency** (WFE): annualised Sharpe ratio out of sample divided by the
  annualised Sharpe ratio in sample. Per fold: ``oos_sharpe / is_sharpe`` of the fold's pick.
  For the run (:attr:`WalkForwardResult.wfe`): the Sharpe ratio of the stitched OOS returns
  divided by the mean IS Sharpe ratio of the folds' picks. NaN when the IS Sharpe is not > 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from research.overfitting.efficiency import sharpe_efficiency

__all__ = ["FoldResult", "WalkForwardResult", "efficiency"]


#: ``oos_sharpe / is_sharpe`` (NaN unless both finite and ``is_sharpe > 0``): the one WFE ratio,
#: :func:`research.overfitting.efficiency.sharpe_efficiency` (this name kept for one release)
efficiency = sharpe_efficiency


@dataclass
class FoldResult:
    """One walk-forward fold.

    Attributes:
        fold: fold number (0-based).
        train_range, test_range: bar positions of the train and test windows (``range``).
        train_period, test_period: first and last timestamps of the windows.
        best_params: the pick (full parameter set), None when no trial was feasible.
        best_number: the pick's trial number in the fold's study (-1 when none).
        is_metrics, oos_metrics: the pick's metrics in and out of sample (empty when none).
        oos_returns: per-bar returns of the pick on the test window (Series, time index).
        oos_positions: the pick's target positions on the test window (Series or DataFrame).
        n_trials, n_pruned, n_failed: trials recorded in the fold's study, by state.
        n_feasible: complete trials that met every constraint.
        wfe: OOS Sharpe / IS Sharpe of the pick.
        study_name: the fold's study in the storage.
        evaluated_bars: bars simulated by the search (all trials, all fidelity steps).
        full_bars: bars a search without pruning would simulate (evaluated trials x window;
            trials rejected for breaking the strategy's constraints are never simulated).
        val_metrics: the pick's metrics on the inner validation window (when used).
        seconds: wall time of the fold's search; ``eval_seconds``: of which evaluating.
        timings: the search's wall time split (seconds): ``ask`` (the optimizer proposing:
            sampler / breeding, suggesting), ``eval`` (evaluations, summed over workers),
            ``tell`` (the optimizer learning the outcomes), ``store`` (recording in the
            storage), ``other`` (the rest of the driver: batching, replay, progress).
    """

    fold: int
    train_range: range
    test_range: range
    train_period: tuple[Any, Any]
    test_period: tuple[Any, Any]
    best_params: dict[str, Any] | None
    best_number: int
    is_metrics: dict[str, float]
    oos_metrics: dict[str, float]
    oos_returns: pd.Series
    oos_positions: Any
    n_trials: int
    n_pruned: int
    n_failed: int
    n_feasible: int = 0
    wfe: float = math.nan
    study_name: str = ""
    evaluated_bars: int = 0
    full_bars: int = 0
    val_metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    eval_seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class WalkForwardResult:
    """A whole walk-forward optimization (see module docstring for conventions).

    Attributes:
        strategy: the strategy's label; ``strategy_cls``: the class.
        optimizer: the optimizer's name.
        folds: one :class:`FoldResult` per fold.
        oos_returns: stitched OOS per-bar returns (Series, time index).
        oos_positions: stitched OOS target positions.
        trials: every trial of every fold (DataFrame; see :func:`trials_frame`): ``fold, number,
            state`` (complete/pruned/fail), ``feasible``, ``reason``, one column per objective
            (true values, NaN when not evaluated), ``params`` (dict) and ``param_<name>``,
            ``is_<metric>`` (and ``val_<metric>``), ``step``, ``cost``, ``batch``.
        final_params: the last fold's pick (the parameters to trade next).
        wfe: walk-forward efficiency of the run.
        study_names: the folds' study names; ``storage``: the storage URL (password hidden).
        seed: the run's seed.
        objectives: ``(metric, direction)`` pairs.
        pareto: for several objectives, the feasible non-dominated trials of each fold
            (rows of :attr:`trials`), else None.
        config: the resolved configuration that identifies the studies.
    """

    strategy: str
    optimizer: str
    folds: list[FoldResult]
    oos_returns: pd.Series
    oos_positions: Any
    trials: pd.DataFrame
    final_params: dict[str, Any] | None
    wfe: float
    study_names: list[str]
    seed: int
    objectives: list[tuple[str, str]]
    pareto: pd.DataFrame | None = None
    storage: str = ""
    strategy_cls: Any = None
    config: dict[str, Any] = field(default_factory=dict)
    periods_per_year: float = 252.0

    @property
    def n_trials(self) -> int:
        """Trials of every fold."""
        return int(len(self.trials))

    @property
    def evaluations_saved(self) -> float:
        """Share of simulated bars multi-fidelity pruning saved (0 without pruning)."""
        full = sum(f.full_bars for f in self.folds)
        done = sum(f.evaluated_bars for f in self.folds)
        return 1.0 - done / full if full else 0.0

    def summary(self) -> pd.DataFrame:
        """One row per fold: windows, trials by state, the pick's IS/OOS Sharpe and WFE."""
        rows = []
        for f in self.folds:
            rows.append(
                {
                    "fold": f.fold,
                    "train_start": f.train_period[0],
                    "train_end": f.train_period[1],
                    "test_start": f.test_period[0],
                    "test_end": f.test_period[1],
                    "n_trials": f.n_trials,
                    "n_pruned": f.n_pruned,
                    "n_failed": f.n_failed,
                    "n_feasible": f.n_feasible,
                    "best_number": f.best_number,
                    "is_sharpe": f.is_metrics.get("sharpe_ratio", math.nan),
                    "oos_sharpe": f.oos_metrics.get("sharpe_ratio", math.nan),
                    "wfe": f.wfe,
                    "best_params": f.best_params,
                }
            )
        return pd.DataFrame(rows)

    def oos_metrics(self) -> dict[str, float]:
        """Metrics of the stitched OOS returns (:func:`backtest.metrics.compute_metrics`)."""
        from backtest.metrics import compute_metrics

        if self.oos_returns.empty:
            return {}
        return compute_metrics(
            self.oos_returns.to_numpy(dtype=np.float64), periods_per_year=self.periods_per_year
        )
