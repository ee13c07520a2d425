"""The :class:`Strategy` base: hyperparameters declared once, bars in, target positions out.

Conventions every strategy and every consumer (backtest, optimizers, lookahead check) relies on:

* **Positions.** :meth:`Strategy.positions` returns the *target exposure* decided at each bar's
  close, as a fraction of equity in ``[-1, 1]`` (``1`` = all equity long, ``-1`` = all equity
  short, ``0`` = flat), indexed like the bars. Single-symbol strategies return a ``pd.Series``;
  multi-symbol strategies (``multi_asset = True``, bars given as ``dict[symbol, DataFrame]``)
  return a ``pd.DataFrame`` with one column per symbol. The engine acts on a change of target at
  the next bar's open by default; an unchanged target means no trade.
* **Warm-up.** :attr:`Strategy.warmup` is the 0-based index of the first bar on which every
  indicator the strategy reads is defined; positions before it are ``0``. For ``sma_cross`` it is
  ``slow - 1`` (the bar where SMA(slow) first exists), so the first fill can be at bar ``slow``.
* **Causality.** The position at bar ``t`` depends only on bars ``0..t`` (and on what
  :meth:`fit` learned from a training slice). The lookahead check proves it for every built-in.
* **Fitting.** Strategies that learn (``needs_fit = True``) learn in :meth:`fit` on the training
  slice only and store learned state in attributes ending in ``_``. The constructor only stores
  and validates parameters.

* **Priced orders.** By default every change of target is a market order at the next open. A
  strategy may set, at each close, the price of the order that moves that close's target
  (:meth:`Strategy.order_prices`, NaN: a market order), filled as a ``limit`` or ``stop`` order
  (:attr:`Strategy.order_type`) when the next bar trades through it; :attr:`Strategy.unfilled`
  says whether an unfilled order persists or is cancelled. The prices obey the causality rule of
  the positions (the lookahead check covers them); rules in :mod:`backtest.entries`.

A subclass implements either :meth:`positions` or :meth:`signals` (entry/exit booleans, turned into
positions by :func:`signals_to_positions`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from data_loaders.bars import bars_index
from data_loaders.errors import ParameterError
from strategies.params import (
    Constraint,
    Param,
    constraint_violations,
    parse_constraint,
    validate_params,
)

__all__ = ["Strategy", "Signals", "signals_to_positions"]


@dataclass
class Signals:
    """Entry/exit booleans decided at each bar's close (arrays or Series of equal length).

    ``short_entries`` / ``short_exits`` are optional. An entry while flat opens a position of
    ``size`` (fraction of equity); an exit closes it; an opposite entry reverses.
    """

    entries: Any
    exits: Any
    short_entries: Any = None
    short_exits: Any = None
    size: float = 1.0


def signals_to_positions(signals: Signals, index: pd.Index) -> pd.Series:
    """Turn entry/exit signals into a target-exposure series (state machine, causal).

    At each bar: a long entry sets the target to ``+size``, a short entry to ``-size``; an exit of
    the open side sets it to ``0``; otherwise the previous target is kept. When an entry and an
    exit of the same side fire on one bar, the exit wins (no new position).
    """
    n = len(index)

    def arr(x: Any) -> np.ndarray:
        if x is None:
            return np.zeros(n, dtype=bool)
        return np.nan_to_num(np.asarray(x, dtype=float), nan=0.0).astype(bool)

    le, lx, se, sx = (
        arr(x) for x in (signals.entries, signals.exits, signals.short_entries, signals.short_exits)
    )
    from strategies._signals_nb import signals_to_positions_nb

    pos = signals_to_positions_nb(le, lx, se, sx, float(signals.size))
    return pd.Series(pos, index=index, name="position")


class Strategy:
    """Base class of every strategy. Subclass it, declare parameters, implement ``positions``.

    Example (entry/exit signals; ``strategies/builtin/sma_cross.py`` returns positions)::

        class Breakout(Strategy):
            window = Int(5, 200, default=20)

            @property
            def warmup(self) -> int:  # the first bar with a full window behind it
                return self.window

            def signals(self, bars, features=None):
                close = bars["close"]
                high = close.rolling(self.window).max().shift(1)
                return Signals(entries=close > high, exits=close < close.rolling(self.window).mean())
    """

    #: registry name; defaults to the class name for user strategies
    name: ClassVar[str] = ""
    #: cross-parameter constraints, e.g. ``("fast < slow",)``
    constraints: ClassVar[Sequence[str]] = ()
    #: True when bars are a ``dict[symbol, DataFrame]`` and positions a DataFrame
    multi_asset: ClassVar[bool] = False
    #: True when :meth:`fit` must see a training slice before :meth:`positions`
    needs_fit: ClassVar[bool] = False
    #: feature columns the strategy reads from ``features`` (empty: none)
    feature_columns: ClassVar[Sequence[str]] = ()
    #: how the prices of :meth:`order_prices` fill: ``"limit"`` or ``"stop"``
    order_type: ClassVar[str] = "limit"
    #: a priced order the next bar does not fill: ``"persist"`` (placed again) or ``"cancel"``
    unfilled: ClassVar[str] = "persist"

    def __init__(self, **params: Any) -> None:
        cls = type(self)
        space, constraints = cls._declared()
        self._params = validate_params(space, constraints, params, owner=cls.label())

    # --- the declared space --------------------------------------------------------------------
    @classmethod
    def space(cls) -> dict[str, Param]:
        """Declared hyperparameters in declaration order (base classes first)."""
        return dict(cls._declared()[0])

    @classmethod
    def parsed_constraints(cls) -> list[Constraint]:
        """The ``constraints`` strings parsed against the space."""
        return list(cls._declared()[1])

    @classmethod
    def _declared(cls) -> tuple[dict[str, Param], list[Constraint]]:
        """Space and parsed constraints, computed once per class (declared in the class body).

        Kept in the class's own ``__dict__`` so a subclass never reuses its parent's entry;
        constructing many instances (a batch of parameter sets) then costs no MRO walk.
        """
        cached = cls.__dict__.get("_declared_cache")
        if cached is None:
            space: dict[str, Param] = {}
            for klass in reversed(cls.__mro__):
                for key, value in vars(klass).items():
                    if isinstance(value, Param):
                        space[key] = value
            names = list(space)
            cached = (space, [parse_constraint(c, names) for c in cls.constraints])
            cls._declared_cache = cached
        return cached

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Every parameter at its default value."""
        return {name: p.default for name, p in cls.space().items()}

    @classmethod
    def violations(cls, params: Mapping[str, Any]) -> list[str]:
        """Constraint messages broken by ``params`` (defaults filled in); empty when feasible."""
        full = {**cls.defaults(), **params}
        return constraint_violations(cls.parsed_constraints(), full)

    @classmethod
    def label(cls) -> str:
        return cls.name or cls.__name__

    @property
    def params(self) -> dict[str, Any]:
        """A copy of the validated parameter values."""
        return dict(self._params)

    def with_params(self, **params: Any) -> Strategy:
        """A new, unfitted instance with some parameters changed."""
        return type(self)(**{**self._params, **params})

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"{type(self).__name__}({args})"

    # --- behaviour -------------------------------------------------------------------------------
    @property
    def warmup(self) -> int:
        """Index of the first bar on which every indicator this strategy reads is defined."""
        return 0

    def fit(self, bars: Any, features: pd.DataFrame | None = None) -> Strategy:
        """Learn from the training slice only (no-op unless ``needs_fit``). Returns ``self``."""
        return self

    def signals(self, bars: Any, features: pd.DataFrame | None = None) -> Signals:
        """Entry/exit signals; implement this or :meth:`positions`."""
        raise NotImplementedError(f"{type(self).__name__} must implement positions() or signals()")

    def positions(
        self, bars: Any, features: pd.DataFrame | None = None
    ) -> pd.Series | pd.DataFrame:
        """Target exposure in ``[-1, 1]`` decided at each bar's close (see module docstring)."""
        pos = signals_to_positions(self.signals(bars, features), bars_index(bars))
        pos.iloc[: self.warmup] = 0.0
        return pos

    def order_prices(self, bars: Any, features: pd.DataFrame | None = None) -> pd.Series | None:
        """Price of the order that moves each close's target, decided at that close like the
        position (NaN: a market order at the next open), indexed like the bars; or None (the
        default): market orders only. Filled per :attr:`order_type` / :attr:`unfilled`
        (:mod:`backtest.entries`). Single-symbol strategies only."""
        return None

    def order_kwargs(self, bars: Any, features: pd.DataFrame | None = None) -> dict[str, Any]:
        """The engines' keywords of this strategy's priced orders (``order_prices``,
        ``order_type``, ``unfilled``; empty for market orders only)."""
        prices = self.order_prices(bars, features)
        if prices is None:
            return {}
        return {"order_prices": prices, "order_type": self.order_type, "unfilled": self.unfilled}

    @classmethod
    def batch_order_prices(
        cls,
        bars: Any,
        param_sets: Sequence[Mapping[str, Any]],
        features: pd.DataFrame | None = None,
    ) -> np.ndarray | None:
        """:meth:`order_prices` of many parameter sets as the columns of a float64
        ``(n_bars, n_sets)`` array (a set without prices: NaN, market orders), or None when no
        set prices its orders (the default, without calling :meth:`order_prices`)."""
        if cls.order_prices is Strategy.order_prices:
            return None
        cols = [cls(**params).order_prices(bars, features) for params in param_sets]
        if all(col is None for col in cols):
            return None
        out = np.full((len(bars_index(bars)), len(cols)), np.nan)
        for j, col in enumerate(cols):
            if col is not None:
                out[:, j] = np.asarray(col, dtype=np.float64)
        return out

    @classmethod
    def batch_positions(
        cls,
        bars: Any,
        param_sets: Sequence[Mapping[str, Any]],
        features: pd.DataFrame | None = None,
        *,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Positions of many parameter sets as columns: float64 array of shape ``(n_bars, n_sets)``.

        Column ``j`` equals ``cls(**param_sets[j]).positions(bars, features)``. Single-symbol,
        unfitted strategies only. ``out``, when given, is a preallocated float64 array of that
        shape (C- or Fortran-ordered) that is filled and returned, so a caller evaluating chunk
        after chunk can reuse one buffer. The default loops over :meth:`positions`; strategies
        with shared indicators override it to compute each distinct indicator once.
        """
        if cls.multi_asset:
            raise ParameterError(f"{cls.label()} is multi-asset; batch positions need one symbol")
        if cls.needs_fit:
            raise ParameterError(f"{cls.label()} must be fitted per parameter set; use positions()")
        strategies = [cls(**params) for params in param_sets]
        out = cls._batch_out(len(bars), len(strategies), out)
        for j, strat in enumerate(strategies):
            out[:, j] = np.asarray(strat.positions(bars, features), dtype=np.float64)
        return out

    @classmethod
    def fused_signal(
        cls,
        bars: Any,
        param_sets: Sequence[Mapping[str, Any]],
        features: pd.DataFrame | None = None,
    ) -> Any:
        """A :class:`backtest.fused.FusedSignal` computing these sets' targets inside the batch
        simulation pass (same results as :meth:`batch_positions`, no positions matrix), or None
        when the strategy (or these bars, e.g. with a NaN close) has none: then callers use
        :meth:`batch_positions`. None by default; built-ins with incremental signals override it.
        """
        return None

    @staticmethod
    def _batch_out(n_bars: int, n_sets: int, out: np.ndarray | None) -> np.ndarray:
        """Validate a caller's ``out`` buffer or allocate a Fortran-ordered one."""
        if out is None:
            return np.empty((n_bars, n_sets), dtype=np.float64, order="F")
        if not isinstance(out, np.ndarray) or out.dtype != np.float64:
            raise ParameterError(f"`out` must be a float64 numpy array, got {type(out).__name__}")
        if out.shape != (n_bars, n_sets):
            raise ParameterError(
                f"`out` must have shape (n_bars, n_sets) = {(n_bars, n_sets)}, got {out.shape}"
            )
        return out
