"""Exits and sizing around a strategy, searched with its own hyperparameters.

A spec's ``exits:`` and ``sizing:`` sections become one :class:`TradeLayers`; :func:`with_layers`
returns a subclass of the strategy class that

* declares the **searched** exit and sizing values as extra hyperparameters, named
  ``exit_<field>`` (fields of :class:`backtest.Exits`: ``exit_stop_loss``,
  ``exit_take_profit``, ...) and ``sizing_<option>`` (``sizing_target_vol``, ...), so every
  optimizer searches them with the strategy's own parameters, the trials and the champion
  record them, and the importance analysis ranks them;
* sizes its positions (:func:`backtest.sizing.vol_target` / :func:`backtest.sizing.kelly_scale`,
  causal transforms of the target at each close) inside ``positions`` and ``batch_positions``;
* carries the layers as ``trade_layers``, which the simulations read through
  :func:`layer_kwargs`: the per-set :class:`backtest.Exits` (filled inside the bar from high and
  low, see :mod:`backtest.exits`) and ``whole_units``.

Fixed values stay out of the space. All ATR rules of one strategy share one ``atr_window`` (one
batch call computes one ATR), so ``atr_window`` is a fixed setting, never searched.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from data_loaders.errors import ConfigError
from strategies.params import Param

__all__ = [
    "EXIT_PREFIX",
    "SIZING_PREFIX",
    "SIZING_METHODS",
    "SIZING_OPTIONS",
    "TradeLayers",
    "with_layers",
    "layers_of",
    "layer_kwargs",
    "backtest_kwargs",
    "layered_positions",
    "engine_kwargs",
]

EXIT_PREFIX = "exit_"
SIZING_PREFIX = "sizing_"
SIZING_METHODS = ("fixed_fraction", "vol_target", "kelly")
#: options of each sizing method (the keyword arguments of its ``backtest.sizing`` function)
SIZING_OPTIONS = {
    "fixed_fraction": (),
    "vol_target": ("target_vol", "window", "max_leverage", "step"),
    "kelly": ("fraction", "window", "cap", "step"),
}


@dataclass(frozen=True, eq=False)
class TradeLayers:
    """Exit and sizing settings of one strategy.

    Attributes:
        exits: fixed :class:`backtest.Exits` keyword arguments (levels, ``atr_window``,
            ``intrabar``, ``reentry``); empty: no exit layer unless some exit value is searched.
        sizing: ``fixed_fraction`` (the engines' default), ``vol_target`` or ``kelly``.
        sizing_options: fixed keyword arguments of the sizing function.
        whole_units: round order sizes down to whole units.
        space: the searched values as hyperparameters, keyed ``exit_<field>`` /
            ``sizing_<option>``.
        periods_per_year: annualisation of ``vol_target``'s volatility estimate.
    """

    exits: Mapping[str, Any] = field(default_factory=dict)
    sizing: str = "fixed_fraction"
    sizing_options: Mapping[str, Any] = field(default_factory=dict)
    whole_units: bool = False
    space: Mapping[str, Param] = field(default_factory=dict)
    periods_per_year: float = 252.0

    @property
    def has_exits(self) -> bool:
        """Whether a level rule is set or searched (settings alone change nothing)."""
        from strategies.exit_params import EXIT_PARAM_NAMES

        fixed = any(self.exits.get(n) is not None for n in EXIT_PARAM_NAMES)
        return fixed or any(k.startswith(EXIT_PREFIX) for k in self.space)

    @property
    def empty(self) -> bool:
        """Whether the layers change nothing (no exits, fixed fraction, fractional units)."""
        return not (self.has_exits or self.sizing != "fixed_fraction" or self.whole_units)

    def exits_for(self, params: Mapping[str, Any]) -> Any:
        """The :class:`backtest.Exits` of one parameter set, or None without an exit layer."""
        if not self.has_exits:
            return None
        from backtest.exits import Exits

        return Exits(**{**self.exits, **_unprefixed(params, EXIT_PREFIX)})

    def sizing_for(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The sizing function's keyword arguments for one parameter set."""
        return {**self.sizing_options, **_unprefixed(params, SIZING_PREFIX)}

    def size(self, positions: pd.Series, close: pd.Series, params: Mapping[str, Any]) -> pd.Series:
        """``positions`` sized by the layer's method (causal; unchanged for fixed fraction)."""
        if self.sizing == "fixed_fraction":
            return positions
        from backtest.sizing import kelly_scale, vol_target

        kw = self.sizing_for(params)
        if self.sizing == "vol_target":
            return vol_target(positions, close, periods_per_year=self.periods_per_year, **kw)
        return kelly_scale(positions, close, **kw)

    @property
    def leverage(self) -> float:
        """The largest exposure the sizing can ask for (``vol_target``'s ``max_leverage``, the
        top of its range when searched); 1 otherwise."""
        if self.sizing != "vol_target":
            return 1.0
        p = self.space.get(SIZING_PREFIX + "max_leverage")
        if p is not None:
            return float(max(p.choices) if hasattr(p, "choices") else p.high)
        return float(self.sizing_options.get("max_leverage", 1.0))

    def to_dict(self) -> dict[str, Any]:
        """What ``run.json`` and ``results.json`` record: fixed settings and searched ranges."""
        return {
            "exits": dict(self.exits),
            "sizing": {
                "method": self.sizing,
                **dict(self.sizing_options),
                "whole_units": self.whole_units,
            },
            "searched": {name: repr(p) for name, p in self.space.items()},
        }


def _unprefixed(params: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    return {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}


def _strip(params: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k not in names}


def with_layers(cls: type, layers: TradeLayers | None, *, key: str = "strategy") -> type:
    """``cls`` wrapped in ``layers`` (see the module docstring); ``cls`` itself when they are
    empty.

    Raises:
        ConfigError: a multi-asset strategy (exits and sizing apply to one symbol), or a
            searched name that the strategy already declares.
    """
    if layers is None or layers.empty:
        return cls
    if cls.multi_asset:
        raise ConfigError(f"{key}: exits and sizing apply to one symbol; {cls.label()} trades many")
    declared = cls.space()
    clash = [n for n in layers.space if n in declared]
    if clash:
        raise ConfigError(f"{key}: {cls.label()} already declares parameter {clash[0]!r}")
    added = tuple(layers.space)
    parent = cls

    # the strategy's own logic runs on an instance of the parent class (its parameters only), so
    # a parent whose positions() dispatches to its class's batch_positions is not sized twice
    def __init__(self: Any, **params: Any) -> None:
        parent.__init__(self, **params)
        self._inner = parent(**_strip(self.params, added))

    def fit(self: Any, bars: Any, features: pd.DataFrame | None = None) -> Any:
        self._inner.fit(bars, features)
        return self

    def positions(self: Any, bars: Any, features: pd.DataFrame | None = None) -> Any:
        raw = self._inner.positions(bars, features)
        return layers.size(raw, bars["close"], self.params)

    def batch_positions(
        kls: type,
        bars: Any,
        param_sets: Sequence[Mapping[str, Any]],
        features: pd.DataFrame | None = None,
        *,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        plain = [_strip(p, added) for p in param_sets]
        pos = parent.batch_positions(bars, plain, features, out=out)
        if layers.sizing != "fixed_fraction":
            close = bars["close"]
            for j, params in enumerate(param_sets):
                col = pd.Series(pos[:, j], index=close.index)
                pos[:, j] = layers.size(col, close, params).to_numpy(dtype=np.float64)
        return pos

    def fused_signal(kls: type, bars: Any, param_sets: Any, features: Any = None) -> None:
        return None  # sizing and exits need the positions matrix

    attrs: dict[str, Any] = {name: copy.copy(p) for name, p in layers.space.items()}
    attrs.update(
        {
            "__module__": cls.__module__,
            "__qualname__": cls.__qualname__,
            "__doc__": cls.__doc__,
            "name": cls.label(),
            "trade_layers": layers,
            "__init__": __init__,
            "fit": fit,
            "positions": positions,
            "batch_positions": classmethod(batch_positions),
            "fused_signal": classmethod(fused_signal),
        }
    )
    return type(cls.__name__, (cls,), attrs)


def engine_kwargs(execution: Any, extra: Mapping[str, Any]) -> dict[str, Any]:
    """The execution's engine keywords with a layered class's ``extra`` (:func:`layer_kwargs` or
    :func:`backtest_kwargs`); ``max_leverage`` is the larger of the two."""
    out = {**execution.engine_kwargs(), **extra}
    if "max_leverage" in extra:
        out["max_leverage"] = max(
            float(extra["max_leverage"]), float(execution.engine_kwargs().get("max_leverage", 1.0))
        )
    return out


def _leverage(layers: TradeLayers) -> dict[str, Any]:
    return {"max_leverage": layers.leverage} if layers.leverage > 1 else {}


def layers_of(cls: Any) -> TradeLayers | None:
    """The :class:`TradeLayers` a class was wrapped in (None: plain strategy)."""
    return getattr(cls, "trade_layers", None)


def layer_kwargs(cls: Any, param_sets: Sequence[Mapping[str, Any]], bars: Any) -> dict[str, Any]:
    """Extra simulation keywords of ``param_sets`` of a (possibly wrapped) class.

    For :func:`backtest.evaluate_batch` with one column per set: ``exits`` (a list, one per
    set), ``high``, ``low`` (the bars' arrays), ``whole_units`` (only when set, so it never
    unsets the execution's own) and ``max_leverage`` when the sizing can exceed 1 (merge with
    the execution's through :func:`engine_kwargs`). Empty for a plain class.
    For :func:`backtest.run_backtest` of one set, use ``exits=kwargs["exits"][0]`` and
    ``whole_units``.
    """
    layers = layers_of(cls)
    if layers is None:
        return {}
    out: dict[str, Any] = {"whole_units": True} if layers.whole_units else {}
    out.update(_leverage(layers))
    if layers.has_exits:
        out["exits"] = [layers.exits_for(p) for p in param_sets]
        out["high"] = bars["high"].to_numpy(dtype=np.float64)
        out["low"] = bars["low"].to_numpy(dtype=np.float64)
    return out


def backtest_kwargs(cls: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """``exits`` and ``whole_units`` of one set for :func:`backtest.run_backtest`."""
    layers = layers_of(cls)
    if layers is None:
        return {}
    out: dict[str, Any] = {"whole_units": True} if layers.whole_units else {}
    return {**out, **_leverage(layers), "exits": layers.exits_for(params)}


def layered_positions(cls: Any, params: Mapping[str, Any], execution: Any) -> Any:
    """``bars -> target in force at each close`` of one set, exits and sizing applied.

    What :func:`backtest.lookahead.check_lookahead` checks for a wrapped strategy: the exits may
    use a bar's high and low only to fill inside that bar, so the position in force at a close
    must not change when later bars are cut away.
    """
    from backtest.engine import run_backtest

    strat = cls(**dict(params))
    extra = backtest_kwargs(cls, params)

    def run(bars: Any) -> pd.Series:
        bt = run_backtest(bars, strat.positions(bars), **engine_kwargs(execution, extra))
        return bt.positions_in_force

    return run
