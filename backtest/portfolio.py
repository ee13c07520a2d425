"""The portfolio (book) engine: target weights of a universe -> one book with shared cash.

:func:`run_book` simulates one book with full detail (equity, held weights, the orders);
:func:`run_books` simulates many books (one weight panel per parameter set) in the fused kernel
of :mod:`backtest._portfolio_nb` on threads and returns their equity and metrics, without going
through vectorbt; :func:`vectorbt_book` is the reference (vectorbt ``Portfolio.from_orders``).

Conventions:

* **Weights** are a DataFrame (union index x symbols, see :mod:`data_loaders.universe`) of
  target weights decided at each bar's close, fractions of the book's value (negative = short).
  ``NaN`` = no new target (keep). Weights given on bars before a symbol's first bar or after its
  last are ignored (noted).
* **Fills** (``fill``): ``"next_open"`` (default when opens exist) fills the weights decided
  at bar ``t``'s close at bar ``t+1``'s open; ``"next_close"`` (the default on close-only data)
  at bar ``t+1``'s close; ``"close"`` at bar ``t``'s own close. A symbol without a bar on the
  fill bar fills at its next bar (the order stays pending); no fill ever happens on a bar a
  symbol lacks, and a position earns nothing on such a bar (its mark is its last price). A
  symbol whose data end before the union's is closed out at its last close, booked on the next
  union bar.
* **Exposure limits.** When a row's gross exposure ``sum |w|`` exceeds ``max_gross`` or its net
  ``|sum w|`` exceeds ``max_net`` (over each symbol's latest weight, ``NaN`` = the latest given),
  every weight of the row is scaled down by the same factor so both hold
  (:func:`limit_exposure`); the result's ``notes`` say how many rows and by how much. Never a
  column-order fill.
* **Rebalancing** (``rebalance``): ``"bar"`` every bar, ``"daily"`` / ``"weekly"`` /
  ``"monthly"`` with the weights decided at the first bar of each period (filled per ``fill``), ``"on_change"`` only for symbols whose
  target changed; ``drift`` > 0 also rebalances the whole book when a weight drifts further than
  that from its target.
* **Costs** per symbol (a :class:`backtest.costs.Costs` or a mapping symbol -> ``Costs`` with an
  optional ``"*"`` for the rest); ``borrow_rate`` is an annual rate charged each bar on short
  market value (``borrow_rate / periods_per_year`` per bar).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from backtest._metrics_nb import RETURNS_METRICS, returns_metrics_nb
from backtest._portfolio_nb import (
    STAT_NAMES,
    order_targets_nb,
    simulate_book_nb,
    simulate_books_nb,
)
from backtest.costs import Costs
from backtest.execution import check_choice, check_init_cash
from data_loaders.errors import DataValidationError, ParameterError, did_you_mean
from data_loaders.universe import Universe, align_universe

__all__ = [
    "FILLS",
    "SCHEDULES",
    "BookSettings",
    "BookInputs",
    "BookResult",
    "BooksResult",
    "limit_exposure",
    "prepare_book",
    "run_book",
    "run_books",
    "returns_table",
    "vectorbt_book",
]

FILLS = ("auto", "next_open", "next_close", "close")
SCHEDULES = ("bar", "daily", "weekly", "monthly", "on_change")
_PERIOD = {"daily": "D", "weekly": "W", "monthly": "M"}
_MIN_SIZE = 1e-8


@dataclass(frozen=True)
class BookSettings:
    """How a book is traded (see the module docstring for each convention)."""

    fill: str = "auto"
    rebalance: str = "bar"
    drift: float | None = None
    max_gross: float = 1.0
    max_net: float = 1.0
    costs: Costs | Mapping[str, Costs] = field(default_factory=Costs)
    borrow_rate: float = 0.0
    periods_per_year: float = 252.0
    init_cash: float = 100_000.0

    def __post_init__(self) -> None:
        check_choice("fill", self.fill, FILLS)
        check_choice("rebalance", self.rebalance, SCHEDULES)
        check_init_cash(self.init_cash)
        for name in ("max_gross", "max_net", "periods_per_year"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ParameterError(
                    f"BookSettings: `{name}` must be finite and > 0, got {value!r}"
                )
        for name in ("drift", "borrow_rate"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ParameterError(
                    f"BookSettings: `{name}` must be finite and >= 0, got {value!r}"
                )


@dataclass(frozen=True)
class BookInputs:
    """The kernel's arrays for one universe and settings (weights aside), and the notes."""

    universe: Universe
    settings: BookSettings
    fill: str
    price: np.ndarray  # (n, m) order prices, NaN where no fill is possible
    close: np.ndarray  # (n, m) closes, NaN where no bar
    rebalance: np.ndarray  # (n,) bool
    exit_bar: np.ndarray  # (m,) int64, -1 = never
    fees: np.ndarray
    fixed_fees: np.ndarray
    slippage: np.ndarray
    borrow: np.ndarray
    notes: tuple[str, ...]


@dataclass(frozen=True)
class BookResult:
    """One book: equity and returns per bar, weights held at each close, orders, notes."""

    equity: pd.Series
    returns: pd.Series  # per-bar simple returns; the first is equity[0] / init_cash - 1
    held: pd.DataFrame  # weights held at each close (position * mark / equity)
    orders: pd.DataFrame  # target of each order tried at that bar, NaN elsewhere
    targets: pd.DataFrame  # the order targets handed to the kernel (after limits and shift)
    stats: dict[str, float]
    notes: tuple[str, ...]
    inputs: BookInputs


@dataclass(frozen=True)
class BooksResult:
    """Many books: equity ``(n, k)`` and one metrics row per book."""

    equity: pd.DataFrame
    metrics: pd.DataFrame
    notes: tuple[str, ...]


def limit_exposure(
    weights: np.ndarray, max_gross: float, max_net: float
) -> tuple[np.ndarray, int, float]:
    """Scale rows whose gross or net exposure exceeds the limits (last axis = symbols).

    Returns ``(scaled, n_rows_scaled, smallest_factor)``; NaN weights are left as they are and
    count as 0. The same factor ``min(1, max_gross / gross, max_net / |net|)`` multiplies every
    weight of a row, so relative weights are kept.
    """
    w = np.nan_to_num(weights, nan=0.0)
    gross = np.abs(w).sum(axis=-1)
    net = np.abs(w.sum(axis=-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.minimum(1.0, np.minimum(max_gross / gross, max_net / net))
    factor = np.where(np.isfinite(factor), factor, 1.0)
    hit = factor < 1.0 - 1e-12
    if not hit.any():
        return weights, 0, 1.0
    return weights * np.where(hit, factor, 1.0)[..., None], int(hit.sum()), float(factor.min())


def _per_symbol_costs(costs: Costs | Mapping[str, Costs], symbols: Sequence[str]) -> list[Costs]:
    if isinstance(costs, Costs):
        return [costs] * len(symbols)
    unknown = [k for k in costs if k != "*" and k not in symbols]
    if unknown:
        raise ParameterError(
            f"`costs`: unknown symbol {unknown[0]!r}{did_you_mean(unknown[0], symbols)}"
        )
    missing = [s for s in symbols if s not in costs and "*" not in costs]
    if missing:
        raise ParameterError(f"`costs`: no costs for symbol {missing[0]!r} (add it or a '*' entry)")
    return [costs.get(s, costs.get("*")) for s in symbols]


def _schedule(index: pd.DatetimeIndex, rebalance: str, shift: bool) -> np.ndarray:
    """Rebalancing fill bars: decisions on the first bar of each period, filled as the weights."""
    if rebalance in ("bar", "on_change"):
        return np.ones(len(index), dtype=bool)
    keys = index.tz_convert("UTC").tz_localize(None).to_period(_PERIOD[rebalance]).asi8
    first = np.ones(len(index), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    if shift:
        first = np.concatenate([[False], first[:-1]])
    return first


def prepare_book(
    universe: Universe | Mapping[str, pd.DataFrame], settings: BookSettings
) -> BookInputs:
    """Order prices, schedule, close-outs and per-symbol costs for ``universe`` (no weights).

    Raises:
        DataValidationError: ``fill="next_open"`` on a universe with close-only symbols.
    """
    uni = align_universe(universe)
    fill = settings.fill
    notes = []
    if fill == "auto":
        fill = "next_close" if uni.any_close_only else "next_open"
        if uni.any_close_only:
            notes.append("close-only data: orders fill at the next bar's close (fill='next_close')")
    if fill == "next_open" and uni.any_close_only:
        syms = [s for s, c in zip(uni.symbols, uni.close_only, strict=True) if c]
        raise DataValidationError(
            f"fill='next_open' needs opens but {uni.source} is close-only for {', '.join(syms[:5])}"
            f"{' ...' if len(syms) > 5 else ''}; use fill='next_close' or 'close'"
        )
    close = uni.panels["close"]
    price = (uni.panels["open"] if fill == "next_open" else close).copy()
    n, m = close.shape
    exit_bar = np.full(m, -1, dtype=np.int64)
    for j, last in enumerate(uni.last_bar):
        if 0 <= last < n - 1:
            exit_bar[j] = last + 1
            price[last + 1, j] = close[last, j]
    costs = _per_symbol_costs(settings.costs, uni.symbols)
    return BookInputs(
        universe=uni,
        settings=settings,
        fill=fill,
        price=np.ascontiguousarray(price),
        close=np.ascontiguousarray(close),
        rebalance=_schedule(uni.index, settings.rebalance, shift=fill != "close"),
        exit_bar=exit_bar,
        fees=np.array([c.fees for c in costs]),
        fixed_fees=np.array([c.fixed_fees for c in costs]),
        slippage=np.array([c.slippage for c in costs]),
        borrow=np.full(m, (settings.borrow_rate or 0.0) / settings.periods_per_year),
        notes=tuple(notes),
    )


def _order_targets(inputs: BookInputs, weights: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Decision-time weights ``(n, m)`` or ``(k, n, m)`` -> order targets on the fill bars."""
    uni, s = inputs.universe, inputs.settings
    n, m = uni.shape
    if weights.shape[-2:] != (n, m):
        raise DataValidationError(
            f"weights have shape {weights.shape[-2:]}, the universe {uni.source} is {(n, m)} "
            "(rule: one row per union bar, one column per symbol)"
        )
    w = np.ascontiguousarray(weights, dtype=np.float64).reshape(-1, n, m)
    out = np.empty(w.shape)
    counts = np.array([0.0, 0.0, 1.0])
    order_targets_nb(
        w, uni.first_bar, uni.last_bar, s.rebalance == "on_change", float(s.max_gross),
        float(s.max_net), inputs.fill != "close", out, counts,
    )  # fmt: skip
    notes = []
    if counts[0]:
        notes.append(f"{int(counts[0])} weights outside a symbol's listed life were ignored")
    if counts[1]:
        notes.append(
            f"exposure limit: {int(counts[1])} rows had gross > {s.max_gross:g} or "
            f"|net| > {s.max_net:g}; all their weights were scaled down proportionally "
            f"(smallest factor {counts[2]:.4g})"
        )
    return out.reshape(weights.shape), notes


def _weights_array(uni: Universe, weights: Any) -> np.ndarray:
    if isinstance(weights, pd.DataFrame):
        unknown = [c for c in weights.columns if c not in uni.symbols]
        if unknown:
            raise DataValidationError(
                f"weights: unknown symbol {unknown[0]!r}{did_you_mean(str(unknown[0]), uni.symbols)}"
            )
        if not weights.index.equals(uni.index):
            weights = weights.reindex(uni.index)
        return weights.reindex(columns=list(uni.symbols)).to_numpy(dtype=np.float64)
    return np.asarray(weights, dtype=np.float64)


def run_book(
    universe: Universe | Mapping[str, pd.DataFrame],
    weights: pd.DataFrame | np.ndarray,
    settings: BookSettings | None = None,
) -> BookResult:
    """Simulate one book of target ``weights`` over ``universe`` (conventions: module docstring)."""
    inputs = prepare_book(universe, settings or BookSettings())
    uni = inputs.universe
    target, notes = _order_targets(inputs, _weights_array(uni, weights))
    n, m = uni.shape
    equity = np.empty(n)
    held = np.empty((n, m))
    ordered = np.full((n, m), np.nan)
    stats = np.zeros(len(STAT_NAMES))
    simulate_book_nb(
        inputs.price, inputs.close, target, inputs.rebalance, float(inputs.settings.drift or 0.0),
        inputs.fees, inputs.fixed_fees, inputs.slippage, inputs.borrow, inputs.exit_bar,
        float(inputs.settings.init_cash), _MIN_SIZE, equity, held, ordered, stats,
    )  # fmt: skip
    cols = list(uni.symbols)
    eq = pd.Series(equity, index=uni.index, name="equity")
    prev = np.concatenate([[inputs.settings.init_cash], equity[:-1]])
    return BookResult(
        equity=eq,
        returns=pd.Series(equity / prev - 1.0, index=uni.index, name="returns"),
        held=pd.DataFrame(held, index=uni.index, columns=cols),
        orders=pd.DataFrame(ordered, index=uni.index, columns=cols),
        targets=pd.DataFrame(target, index=uni.index, columns=cols),
        stats=dict(zip(STAT_NAMES, stats.tolist(), strict=True)),
        notes=inputs.notes + tuple(notes),
        inputs=inputs,
    )


def run_books(
    universe: Universe | Mapping[str, pd.DataFrame],
    weights: np.ndarray,
    settings: BookSettings | None = None,
    *,
    names: Sequence[Any] | None = None,
    n_threads: int = 2,
) -> BooksResult:
    """Simulate ``k`` books at once: ``weights`` ``(k, n, m)``, one weight panel per parameter set.

    Every book shares the universe and the settings. Returns the equity ``(n, k)`` and a metrics
    table: the returns metrics of the batch path (``backtest._metrics_nb.RETURNS_METRICS``, the
    conventions of :mod:`backtest.metrics`, risk-free 0) of each book's returns, plus the
    kernel's counters. ``n_threads`` ranges of books run in parallel (the kernel releases the GIL).
    """
    inputs = prepare_book(universe, settings or BookSettings())
    uni = inputs.universe
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 3:
        raise DataValidationError(f"weights must be (k, n_bars, n_symbols), got shape {w.shape}")
    target, notes = _order_targets(inputs, w)
    k = target.shape[0]
    n = uni.shape[0]
    equity = np.empty((n, k))
    stats = np.zeros((k, len(STAT_NAMES)))
    bounds = np.linspace(0, k, max(1, min(n_threads, k)) + 1).astype(np.int64)

    def work(part: int) -> None:
        simulate_books_nb(
            inputs.price, inputs.close, target, inputs.rebalance, float(inputs.settings.drift or 0.0),
            inputs.fees, inputs.fixed_fees, inputs.slippage, inputs.borrow, inputs.exit_bar,
            float(inputs.settings.init_cash), _MIN_SIZE, int(bounds[part]), int(bounds[part + 1]),
            equity, stats,
        )  # fmt: skip

    with ThreadPoolExecutor(max_workers=len(bounds) - 1) as pool:
        list(pool.map(work, range(len(bounds) - 1)))
    prev = np.vstack([np.full((1, k), inputs.settings.init_cash), equity[:-1]])
    labels = list(names) if names is not None else list(range(k))
    table = returns_table(equity / prev - 1.0, inputs.settings.periods_per_year)
    table.index = labels
    table[list(STAT_NAMES)] = stats
    return BooksResult(
        equity=pd.DataFrame(equity, index=uni.index, columns=labels),
        metrics=table,
        notes=inputs.notes + tuple(notes),
    )


def returns_table(returns: np.ndarray, periods_per_year: float) -> pd.DataFrame:
    """The returns metrics of the batch path (``backtest._metrics_nb.RETURNS_METRICS``, the
    conventions of :mod:`backtest.metrics`, risk-free 0) of each column of per-bar ``returns``
    ``(n, k)``: one row per column."""
    r = np.asfortranarray(returns, dtype=np.float64)
    ppy = float(periods_per_year)
    rows = [returns_metrics_nb(r[:, b], 0.0, ppy) for b in range(r.shape[1])]
    return pd.DataFrame(np.vstack(rows), columns=list(RETURNS_METRICS))


def vectorbt_book(result: BookResult) -> Any:
    """The reference: vectorbt ``Portfolio.from_orders`` on the orders :func:`run_book` tried.

    Same order prices, closes (forward-filled for valuation only, as a position's mark), costs
    and order targets; ``size_type='targetpercent'``, ``cash_sharing=True``, ``group_by=True``,
    ``call_seq='auto'``, ``val_price`` = the order price, else the last close. Borrow costs are not modelled by vectorbt.
    """
    from backtest._vectorbt import import_vectorbt

    vbt = import_vectorbt()

    inputs = result.inputs
    cols = list(inputs.universe.symbols)
    index = inputs.universe.index
    close = pd.DataFrame(inputs.close, index=index, columns=cols).ffill()
    price = pd.DataFrame(inputs.price, index=index, columns=cols)
    return vbt.Portfolio.from_orders(
        close=close.bfill(),  # finite everywhere: vectorbt values 0 units at NaN as NaN
        size=result.orders,
        size_type="targetpercent",
        price=price,
        val_price=price.fillna(close.shift(1)),
        fees=inputs.fees[None, :],
        fixed_fees=inputs.fixed_fees[None, :],
        slippage=inputs.slippage[None, :],
        init_cash=float(inputs.settings.init_cash),
        cash_sharing=True,
        group_by=True,
        call_seq="auto",
        direction="both",
        freq=None,
    )
