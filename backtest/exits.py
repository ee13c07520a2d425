"""The exit layer: stop-loss, take-profit, trailing stop, time stop and break-even around any strategy.

A strategy outputs a target exposure decided at each close; :class:`Exits` wraps it, in both
engines (:func:`backtest.run_backtest` and :func:`backtest.evaluate_batch`, whose kernels share
the rules of :mod:`backtest._exits_nb`). The rules, conservative by default:

* **Levels are set at the entry** (a new side: entry or reversal; resizing on the same side keeps
  them) from the entry's order price ``P`` (the open for next-open fills, the close for fills at
  the close; before slippage) and, for ATR rules, the ATR at the close of the decision bar:
  stop ``P * (1 - s * stop_loss)`` or ``P - s * stop_loss_atr * ATR``, target
  ``P * (1 + s * take_profit)`` or ``P + s * take_profit_atr * ATR`` (``s = +1`` long, ``-1``
  short; when both forms are given the nearer level counts). Before the ATR's warm-up an ATR
  rule sets no level.
* **Trailing stop**: ``E * (1 - s * trailing_stop)`` or ``E - s * trailing_stop_atr * ATR``
  where ``E`` is the most favourable price since entry (highest high of a long, lowest low of a
  short) over the bars that have **closed**, starting at ``P``: a bar's high or low moves the
  trail only from the next bar on. The binding protective level is the tighter of stop and trail.
* **Break-even**: once a closed bar's extreme has moved ``break_even`` (a fraction) in the
  trade's favour, the stop is raised (long) / lowered (short) to ``P`` from the next bar on.
* **Fills inside the bar**: decisions use only information up to the previous close; the bar's
  open, high and low only decide fills. An open beyond the protective level (a gap through it)
  fills at the open; an open beyond the target fills at the open; otherwise a touched level
  fills at its price. When one bar's range touches both the protective level and the target,
  the **adverse one is assumed first** (the stop fills); ``intrabar="optimistic"`` assumes the
  target first (it flatters results and is labelled so). Slippage and fees apply to these fills
  as to any order.
* **The entry bar**: with next-open fills the entry is the bar's first price, so by default
  (``entry_bar=True``, backtesting.py's rule) its high and low can already hit the levels;
  ``entry_bar=False`` starts watching the next bar (vectorbt's ``from_signals`` rule, whose
  trailing extreme also starts after the entry bar). With fills at the close the entry bar is
  over and the levels are watched from the next bar.
* **Time stop**: a trade held ``time_stop`` bars (closes in the trade; with next-open fills the
  entry bar's close is the first) is closed at the next order (the next open, or this close).
* **Re-entry**: after a stop, target, trail or time exit the strategy's target stays on the same
  side, and the trade is **not re-entered until the target turns flat or reverses and comes back**
  (``reentry="after-reset"``, default); ``reentry="immediate"`` re-enters at the next order.
* **Exit reasons** of closed trades: ``signal`` (the strategy's target), ``stop`` (stop-loss,
  ATR stop or break-even stop), ``target``, ``trail``, ``time``, ``margin``.

The parameters are plain floats so a search can tune them; :func:`strategies.exit_space`
declares them as hyperparameters with the same names (``Exits(**params)``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from backtest._exits_nb import (
    N_XP,
    REASONS,
    XP_BE_PCT,
    XP_ENTRY_BAR,
    XP_OPTIMISTIC,
    XP_REENTRY,
    XP_SL_ATR,
    XP_SL_PCT,
    XP_TIME_BARS,
    XP_TP_ATR,
    XP_TP_PCT,
    XP_TRAIL_ATR,
    XP_TRAIL_PCT,
)
from data_loaders.errors import ParameterError, did_you_mean

__all__ = [
    "Exits",
    "ExitRun",
    "EXIT_REASONS",
    "INTRABAR",
    "REENTRY",
    "atr",
    "exit_table",
    "exits_portfolio",
]

EXIT_REASONS = REASONS
#: columns of the kernels' parameter row that read the ATR
ATR_COLUMNS = [XP_SL_ATR, XP_TP_ATR, XP_TRAIL_ATR]
INTRABAR = ("conservative", "optimistic")
REENTRY = ("after-reset", "immediate")


def _level(column: int, below: float | None = None) -> Any:
    """An :class:`Exits` level (off by default): its column of the kernels' parameter row and
    its exclusive upper bound (None: any value > 0)."""
    return field(default=None, metadata={"column": column, "below": below})


@dataclass(frozen=True)
class Exits:
    """Exit rules wrapped around a strategy's target exposure (see the module docstring).

    Args:
        stop_loss: stop at this fraction below (long) / above (short) the entry price, in (0, 1).
        stop_loss_atr: stop at this multiple of the ATR from the entry price (> 0).
        take_profit: target at this fraction beyond the entry price (> 0).
        take_profit_atr: target at this multiple of the ATR beyond the entry price (> 0).
        trailing_stop: trail this fraction behind the most favourable closed-bar extreme, (0, 1).
        trailing_stop_atr: trail this multiple of the entry's ATR behind that extreme (> 0).
        time_stop: close a trade held this many bars (int >= 1).
        break_even: move the stop to the entry price once the trade has gained this fraction.
        atr_window: bars of the ATR (simple mean of the true range, see :func:`atr`).
        intrabar: ``"conservative"`` (stop first when one bar touches stop and target) or
            ``"optimistic"`` (target first; flatters results).
        reentry: ``"after-reset"`` (default) or ``"immediate"``.
        entry_bar: whether the entry bar's range after a next-open fill can hit the levels.

    ``None`` turns a rule off; ``Exits()`` changes nothing.
    """

    stop_loss: float | None = _level(XP_SL_PCT, below=1.0)
    stop_loss_atr: float | None = _level(XP_SL_ATR)
    take_profit: float | None = _level(XP_TP_PCT)
    take_profit_atr: float | None = _level(XP_TP_ATR)
    trailing_stop: float | None = _level(XP_TRAIL_PCT, below=1.0)
    trailing_stop_atr: float | None = _level(XP_TRAIL_ATR)
    time_stop: int | None = None
    break_even: float | None = _level(XP_BE_PCT)
    atr_window: int = 14
    intrabar: str = "conservative"
    reentry: str = "after-reset"
    entry_bar: bool = True

    def __post_init__(self) -> None:
        for name, (_, upper) in _LEVELS.items():
            value = getattr(self, name)
            if value is None:
                continue
            number = _number(name, value)
            if not (number > 0 and (upper is None or number < upper)):
                rule = "> 0" if upper is None else f"in (0, {upper:g})"
                raise ParameterError(f"Exits: `{name}` must be {rule} or None, got {value!r}")
            object.__setattr__(self, name, number)
        for name in ("time_stop", "atr_window"):
            value = getattr(self, name)
            if value is None and name == "time_stop":
                continue
            if isinstance(value, bool) or not float(_number(name, value)).is_integer() or value < 1:
                raise ParameterError(f"Exits: `{name}` must be an integer >= 1, got {value!r}")
            object.__setattr__(self, name, int(value))
        for name, choices in (("intrabar", INTRABAR), ("reentry", REENTRY)):
            value = getattr(self, name)
            if value not in choices:
                raise ParameterError(
                    f"Exits: `{name}` must be one of {', '.join(map(repr, choices))}, got "
                    f"{value!r}{did_you_mean(str(value), choices)}"
                )
        if self.trailing_stop is not None and self.trailing_stop_atr is not None:
            raise ParameterError(
                "Exits: give `trailing_stop` or `trailing_stop_atr`, not both "
                f"(got {self.trailing_stop!r} and {self.trailing_stop_atr!r})"
            )

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Exits:
        """``Exits`` from a dict of field values (e.g. the exit hyperparameters of a trial)."""
        names = [f.name for f in fields(cls)]
        unknown = [k for k in params if k not in names]
        if unknown:
            raise ParameterError(
                f"Exits: unknown parameter {unknown[0]!r}{did_you_mean(unknown[0], names)}"
            )
        return cls(**params)

    @property
    def active(self) -> bool:
        """Whether any rule is on."""
        return any(getattr(self, n) is not None for n in (*_LEVELS, "time_stop"))

    @property
    def uses_atr(self) -> bool:
        """Whether any rule reads the ATR."""
        return any(
            getattr(self, n) is not None
            for n in ("stop_loss_atr", "take_profit_atr", "trailing_stop_atr")
        )

    def to_row(self) -> np.ndarray:
        """The ``(N_XP,)`` parameter row of the kernels (NaN = rule off); a copy of
        :meth:`_shared_row`."""
        return self._shared_row().copy()

    def _shared_row(self) -> np.ndarray:
        """The row computed once per instance (a sweep passes the same instances call after
        call); callers must not modify it."""
        row = self.__dict__.get("_row")
        if row is None:
            row = self._row_of()
            object.__setattr__(self, "_row", row)
        return row

    def _row_of(self) -> np.ndarray:
        row = np.full(N_XP, np.nan)
        for name, (col, _) in _LEVELS.items():
            value = getattr(self, name)
            if value is not None:
                row[col] = value
        if self.time_stop is not None:
            row[XP_TIME_BARS] = self.time_stop
        row[XP_OPTIMISTIC] = 1.0 if self.intrabar == "optimistic" else 0.0
        row[XP_REENTRY] = 1.0 if self.reentry == "immediate" else 0.0
        row[XP_ENTRY_BAR] = 1.0 if self.entry_bar else 0.0
        return row

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (for run records and JSON)."""
        return asdict(self)


#: level field -> (column of the parameter row, upper bound exclusive or None)
_LEVELS = {f.name: (f.metadata["column"], f.metadata["below"]) for f in fields(Exits) if f.metadata}


def _number(name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"Exits: `{name}` must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ParameterError(f"Exits: `{name}` must be finite, got {value!r}")
    return number


def exit_table(exits: Exits | Sequence[Exits], n_sets: int) -> tuple[np.ndarray, int]:
    """``(n_sets, N_XP)`` parameter rows (one ``Exits`` for all sets, or one per set) and the ATR
    window they share.

    Raises:
        ParameterError: a sequence whose length is not ``n_sets``, an item that is not ``Exits``,
            or ATR rules with different ``atr_window`` values in one batch.
    """
    items = [exits] * n_sets if isinstance(exits, Exits) else list(exits)
    if len(items) != n_sets:
        raise ParameterError(f"`exits` must hold one Exits per set ({n_sets}), got {len(items)}")
    for k, item in enumerate(items):
        if not isinstance(item, Exits):
            raise ParameterError(
                f"`exits[{k}]` must be a backtest.Exits, got {type(item).__name__}"
            )
    if not items:
        return np.empty((0, N_XP)), 14
    # one concatenation of the cached rows (np.stack of ~100 rows cost 3x as much)
    table = np.concatenate([item._shared_row() for item in items]).reshape(len(items), N_XP)
    uses_atr = np.isfinite(table[:, ATR_COLUMNS]).any(axis=1)  # Exits.uses_atr of each row
    if not uses_atr.any():
        return table, 14
    windows = {items[k].atr_window for k in np.flatnonzero(uses_atr)}
    if len(windows) > 1:
        raise ParameterError(
            f"`exits`: ATR rules of one batch must share one atr_window, got {sorted(windows)}"
        )
    return table, windows.pop()


def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, window: int) -> np.ndarray:
    """Causal average true range: the simple mean of the last ``window`` true ranges.

    ``TR[i] = max(high[i] - low[i], |high[i] - close[i-1]|, |low[i] - close[i-1]|)`` (the first
    bar's is ``high - low``); ``ATR[i]`` uses bars ``i - window + 1 .. i`` and is NaN before
    ``window`` bars exist. ``ATR[i]`` is known at the close of bar ``i``.
    """
    high = np.asarray(high, dtype=np.float64)
    low = np.asarray(low, dtype=np.float64)
    close = np.asarray(close, dtype=np.float64)
    prev = np.concatenate(([np.nan], close[:-1]))
    tr = np.fmax(high - low, np.fmax(np.abs(high - prev), np.abs(low - prev)))
    out = np.full(len(tr), np.nan)
    if len(tr) >= window:
        csum = np.concatenate(([0.0], np.cumsum(tr)))
        out[window - 1 :] = (csum[window:] - csum[:-window]) / window
    return out


@dataclass
class ExitRun:
    """What :func:`exits_portfolio` returns: the vectorbt portfolio on two rows per bar and the
    per-bar views of it.

    Attributes:
        portfolio: vectorbt ``Portfolio`` over ``2 * n`` rows: row ``2i`` is bar ``i``'s first
            order slot, row ``2i + 1`` its second (see :func:`backtest._exits_nb.plan_exits_nb`);
            the odd rows are valued at the bar's close.
        equity, asset_value: ``(n,)`` at each close.
        in_force: ``(n,)`` target in force at each close.
        changes: ``(n,)`` sum of ``|target change|`` per bar (an entry and a stop in one bar: 2).
        reasons: ``(n, 2)`` exit reason code of each slot's order (-1: none).
    """

    portfolio: Any
    equity: np.ndarray
    asset_value: np.ndarray
    in_force: np.ndarray
    changes: np.ndarray
    reasons: np.ndarray


def exits_portfolio(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    targets: np.ndarray,
    exits: Exits,
    *,
    costs: Any,
    next_open: bool,
    init_cash: float,
    whole_units: bool,
    entry: tuple[np.ndarray, int, bool] | None = None,
) -> ExitRun:
    """The reference engine with an exit layer (and priced orders: ``entry = (prices, kind,
    cancel)`` of :mod:`backtest._entries_nb` with ``(n,)`` prices), for one symbol.

    The exit rules never depend on cash, so the orders are planned first
    (:func:`backtest._exits_nb.plan_exits_nb`, two order slots per bar: the bar's market order and
    its intrabar exit), then filled by vectorbt ``Portfolio.from_orders`` with the engine's
    configuration on a grid of two rows per bar, each row's order at its own price.
    """
    from backtest._exits_nb import plan_exits_nb
    from backtest.engine import orders_portfolio

    row = exits.to_row().reshape(1, -1)
    atr_arr = atr(high, low, close, exits.atr_window)
    oprice, kind, cancel = entry if entry is not None else (np.empty(0), 0, False)
    order_target, order_price, reasons, in_force, changes = plan_exits_nb(
        open_, high, low, close, atr_arr, np.ascontiguousarray(targets, dtype=np.float64),
        row, next_open, np.ascontiguousarray(oprice, dtype=np.float64), kind, cancel,
    )  # fmt: skip
    # the market slot fills at the open (next-open) or the close; intrabar exits and priced
    # orders at their price
    slot = 0 if next_open else 1
    price = order_price.copy()
    market = open_ if next_open else close
    price[:, slot] = np.where(np.isnan(price[:, slot]), market, price[:, slot])
    price = np.where(np.isnan(price), close[:, None], price).ravel()  # rows without an order
    valuation = np.stack([open_, close], axis=1).ravel()
    portfolio = orders_portfolio(
        valuation, order_target.ravel(), price, costs=costs, init_cash=init_cash,
        whole_units=whole_units,
    )  # fmt: skip
    value = np.asarray(portfolio.value(), dtype=np.float64).ravel()
    asset = np.asarray(portfolio.asset_value(), dtype=np.float64).ravel()
    return ExitRun(portfolio, value[1::2], asset[1::2], in_force, changes, reasons)
