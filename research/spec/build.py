"""Spec -> library objects: the one place an experiment's sections become the objects the
search, the judging and the reports use.

* :func:`build_splitter` -> :class:`backtest.splitters.WalkForward` (``walk_forward:``);
* :func:`build_costs` / :func:`build_execution` -> :class:`backtest.costs.Costs` /
  :class:`backtest.execution.Execution` (``costs:`` plus the bars per year);
* :func:`experiment_bars_per_year` -> ``data.periods_per_year`` or
  :func:`data_loaders.bars.bars_per_year` of the bars;
* :func:`build_gates` -> :class:`research.judge.gates.Gates` (``gates:``, same signs);
* :func:`ranking_direction` -> ``maximize``/``minimize`` of ``ranking.metric``;
* :func:`strategy_bars` -> the bars a strategy trades;
* :func:`layered_strategy` -> a strategy class with its ``exits:`` / ``sizing:`` layers
  (:func:`research.optimize.layers.with_layers`; searched values join its space).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from backtest.costs import Costs
from backtest.execution import Execution
from data_loaders.bars import bars_index, bars_per_year, first_frame
from data_loaders.errors import ConfigError
from research.optimize.objectives import DEFAULT_DIRECTIONS
from research.spec.sections import Experiment

__all__ = [
    "build_splitter",
    "build_costs",
    "build_execution",
    "experiment_bars_per_year",
    "build_gates",
    "ranking_direction",
    "strategy_bars",
    "layered_strategy",
]


def build_splitter(exp: Experiment) -> Any:
    """The :class:`backtest.splitters.WalkForward` of ``walk_forward``."""
    from backtest.splitters import WalkForward

    w = exp.walk_forward  # its fields are WalkForward's arguments
    return WalkForward(**{f.name: getattr(w, f.name) for f in fields(w)})


def build_costs(exp: Experiment) -> Costs:
    """The :class:`backtest.costs.Costs` of ``costs``."""
    c = exp.costs
    return Costs(**{f.name: getattr(c, f.name) for f in fields(Costs)})


def experiment_bars_per_year(exp: Experiment, bars: Any) -> float:
    """``data.periods_per_year`` when given, else the bars per year measured on the bars
    (:func:`data_loaders.bars.bars_per_year`, the rule every command uses)."""
    if exp.data.periods_per_year:
        return float(exp.data.periods_per_year)
    return bars_per_year(bars_index(bars))


def build_execution(exp: Experiment, periods_per_year: float) -> Execution:
    """The :class:`backtest.execution.Execution` of ``costs`` with ``periods_per_year``."""
    c = exp.costs
    return Execution(
        costs=build_costs(exp),
        fill=c.execution,
        direction=c.direction,
        init_cash=c.init_cash,
        periods_per_year=float(periods_per_year),
        max_leverage=c.max_leverage,
        maintenance_margin=c.maintenance_margin,
        notional=c.notional,
        whole_units=c.whole_units,
        participation=c.participation,
    )


def build_gates(exp: Experiment) -> Any:
    """The :class:`research.judge.gates.Gates` of ``gates`` (one definition, the spec's signs)."""
    from research.judge.gates import gates_from_spec

    return gates_from_spec(exp.gates)


def ranking_direction(exp: Experiment) -> str:
    """The direction of ``ranking.metric``: its objective's, else the metric's default."""
    for o in exp.objectives:
        if o.metric == exp.ranking.metric:
            return o.direction
    return DEFAULT_DIRECTIONS.get(exp.ranking.metric, "maximize")


def strategy_bars(cls: Any, bars: Any, key: str, mode: str | None = None) -> Any:
    """The bars ``cls`` trades under ``universe.mode`` (``mode``): one frame, or the dict of
    every symbol (a multi-asset strategy; ``per_symbol`` / ``pooled``, which the search stage
    splits or pools, see :mod:`research.run.universe`).

    A single-symbol strategy on several symbols without a ``universe.mode`` is refused: it
    would trade the first symbol and silently drop the rest. So is a multi-asset strategy
    without ``universe.mode: portfolio`` on symbols with calendars of their own: that path
    (:func:`backtest.run_backtest`) trades one calendar, and cutting the symbols to their
    common timestamps would be silent (the ``portfolio`` book trades each on its own bars).

    Raises:
        ConfigError: naming the spec entry (``key``) and the way out.
    """
    multi = isinstance(bars, Mapping)
    if mode in ("per_symbol", "pooled"):
        if cls.multi_asset:
            raise ConfigError(
                f"{key}: {cls.label()} trades several symbols itself; universe.mode {mode!r} "
                "runs a single-symbol strategy on each symbol (use universe.mode: portfolio)"
            )
        if not multi:
            raise ConfigError(
                f"{key}: universe.mode {mode!r} needs several symbols; give data.source with "
                "several symbols (a folder, sample:sp500_20) or data.symbols"
            )
        return bars
    if cls.multi_asset:
        if not multi:
            raise ConfigError(
                f"{key}: {cls.label()} trades several symbols; give data.source with several "
                "symbols (a folder, sample:stocks) and pick them with data.symbols"
            )
        if mode != "portfolio":
            _one_calendar(cls, bars, key)
        return bars
    if mode == "portfolio":
        raise ConfigError(
            f"{key}: universe.mode 'portfolio' needs a multi-asset strategy (e.g. xs_momentum); "
            f"{cls.label()} trades one symbol (use universe.mode: pooled or per_symbol)"
        )
    if multi and len(bars) > 1:
        raise ConfigError(
            f"{key}: {cls.label()} trades one symbol but the data hold {len(bars)} "
            f"({', '.join(list(bars)[:5])}{', ...' if len(bars) > 5 else ''}); set "
            "universe.mode: per_symbol or pooled, or pick one symbol with data.symbols"
        )
    return first_frame(bars)


def _one_calendar(cls: Any, bars: Mapping[str, Any], key: str) -> None:
    """Refuse (ConfigError) symbols on calendars of their own for the one-calendar path."""
    frames = list(bars.items())
    ref_sym, ref = frames[0]
    for sym, frame in frames[1:]:
        if not frame.index.equals(ref.index):
            span = {s: f"{f.index[0].date()} -> {f.index[-1].date()}, {len(f)} bars"
                    for s, f in ((ref_sym, ref), (sym, frame))}  # fmt: skip
            raise ConfigError(
                f"{key}: {cls.label()} trades its symbols on one calendar but {ref_sym} "
                f"({span[ref_sym]}) and {sym} ({span[sym]}) have calendars of their own; set "
                "universe.mode: portfolio (one book, each symbol on its own bars) or data.start / "
                "data.end where they trade alike"
            )


def layered_strategy(exp: Experiment, spec: Any, periods_per_year: float, *, key: str) -> Any:
    """The strategy class of ``spec`` (space overrides applied) wrapped in its exit and sizing
    layers (its own ``exits``/``sizing`` or the spec's global ones).

    Raises:
        ConfigError: an unknown strategy, a bad override, or layers around a multi-asset
            strategy (``key`` names the spec entry).
    """
    from research.optimize.layers import with_layers
    from research.spec.layers import build_layers
    from research.spec.validate import resolve_strategy

    cls = resolve_strategy(spec, key=key)
    return with_layers(cls, build_layers(exp, spec, periods_per_year, key=key), key=key)
