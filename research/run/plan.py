"""The plan of a run: everything decided before a run folder exists.

:func:`plan_run` checks what needs the data (folds exist, every strategy can trade these bars)
and fixes the run's walk-forward folds, :class:`backtest.execution.Execution` (costs, fills,
direction, cash, bars per year), objectives and ranking direction. It raises before any run
folder is created, so a bad spec or too little data never leaves a folder behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from backtest.execution import Execution
from backtest.splitters import Fold, WalkForward
from data_loaders.bars import bars_index
from data_loaders.errors import ConfigError, DataTooShortError
from research.judge.gates import Gates, gates_from_spec
from research.optimize.layers import layers_of
from research.run.results import DataInfo, FoldWindow, Objective
from research.spec.build import (
    build_execution,
    build_splitter,
    experiment_bars_per_year,
    layered_strategy,
    ranking_direction,
    strategy_bars,
)

__all__ = ["RunPlan", "plan_run"]


@dataclass(frozen=True, eq=False)
class RunPlan:
    """What a run will do, fixed before it starts.

    Attributes:
        folds: the walk-forward folds on the bars.
        splitter: the :class:`WalkForward` that made them.
        execution: costs, fills, direction, cash and bars per year of every simulation.
        objectives: the search objectives (metric, direction), first = the main one.
        direction: ``maximize`` or ``minimize``: the ranking metric's direction.
        gates: the thresholds a champion must meet (the spec's ``gates``).
        data: what results.json records of the data (fingerprint included).
        strategies: per strategy label, its class wrapped in its exits and sizing
            (:func:`research.spec.build.layered_strategy`).
    """

    folds: tuple[Fold, ...]
    splitter: WalkForward
    execution: Execution
    objectives: tuple[Objective, ...]
    direction: str
    gates: Gates
    data: DataInfo
    strategies: Mapping[str, Any] = field(default_factory=dict)

    def layers_record(self) -> dict[str, Any]:
        """Per strategy label, its exits, sizing and searched ranges (what ``run.json`` keeps)."""
        from research.optimize.layers import TradeLayers

        return {
            label: (layers_of(cls) or TradeLayers()).to_dict()
            for label, cls in self.strategies.items()
        }

    def fold_windows(self, index: pd.DatetimeIndex) -> tuple[FoldWindow, ...]:
        """The folds as dates (results.json's ``folds``)."""
        return tuple(
            FoldWindow(
                number=int(f.number),
                train_start=index[f.train.start].date().isoformat(),
                train_end=index[f.train.stop - 1].date().isoformat(),
                test_start=index[f.test.start].date().isoformat(),
                test_end=index[f.test.stop - 1].date().isoformat(),
                train_bars=int(f.train.stop - f.train.start),
                test_bars=int(f.test.stop - f.test.start),
            )
            for f in self.folds
        )


def plan_run(exp: Any, bars: Any) -> RunPlan:
    """The :class:`RunPlan` of ``exp`` on ``bars``.

    Raises:
        DataTooShortError: the walk-forward windows give no fold on these bars.
        ConfigError: a multi-asset strategy on one symbol.
    """
    from research.optimize.storage import data_fingerprint
    from research.spec import resolve_strategy

    splitter = build_splitter(exp)
    index = bars_index(bars)
    folds = tuple(splitter.split(index))
    if not folds:
        raise DataTooShortError(
            f"walk_forward (train={exp.walk_forward.train}, test={exp.walk_forward.test}) gives no "
            f"fold on {len(index)} bars ({index[0].date()} -> {index[-1].date()}); use shorter "
            "windows or more data"
        )
    src = exp.path or "<spec>"
    ppy = experiment_bars_per_year(exp, bars)
    classes = {}
    for i, s in enumerate(exp.strategies):
        key = f"{src}: strategies[{i}]"
        mode = s.mode or exp.universe.mode
        strategy_bars(resolve_strategy(s, key=key), bars, key, mode)
        classes[s.label] = layered_strategy(exp, s, ppy, key=key)
        if layers_of(classes[s.label]) is not None and mode in ("pooled", "portfolio"):
            raise ConfigError(
                f"{key}: exits and sizing apply to single-symbol searches; universe.mode "
                f"{mode!r} trades a book (use per_symbol, or drop exits/sizing)"
            )
    execution = build_execution(exp, ppy)
    symbols = list(bars) if isinstance(bars, Mapping) else [bars.attrs.get("symbol") or ""]
    data = DataInfo(
        source=exp.data.source,
        symbols=tuple(s for s in symbols if s),
        start=index[0].isoformat(),
        end=index[-1].isoformat(),
        n_bars=int(len(index)),
        periods_per_year=execution.periods_per_year,
        fingerprint=data_fingerprint(bars),
    )
    return RunPlan(
        folds=folds,
        splitter=splitter,
        execution=execution,
        objectives=tuple(Objective(o.metric, o.direction) for o in exp.objectives),
        direction=ranking_direction(exp),
        gates=gates_from_spec(exp.gates),
        data=data,
        strategies=classes,
    )
