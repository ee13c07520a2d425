"""Python side of the built-ins' fused signals (:mod:`strategies._fused_nb`): which classes may
use their parent's kernel, the per-batch table of distinct indicator rows, and
:class:`FusedRule`, the ``fused_signal`` of the strategies run by ``rule_block_nb``."""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "inherits_rule",
    "RowTable",
    "rule_signal",
    "FusedRule",
    "RULE_RSI",
    "RULE_BOLLINGER",
    "RULE_MACD",
    "RULE_DONCHIAN",
]

#: the strategies of :func:`strategies._fused_nb.rule_block_nb`
RULE_RSI, RULE_BOLLINGER, RULE_MACD, RULE_DONCHIAN = range(4)

#: the methods that define a strategy's positions
_RULE_METHODS = ("positions", "signals", "batch_positions")


def inherits_rule(cls: type, owner: type) -> bool:
    """True when ``cls`` decides its positions with ``owner``'s rule (it overrides none of
    ``positions``, ``signals``, ``batch_positions``): only then may it use ``owner``'s fused
    kernel; a subclass with its own rule keeps the positions-matrix path."""
    for name in _RULE_METHODS:
        mine, theirs = getattr(cls, name), getattr(owner, name)
        if getattr(mine, "__func__", mine) is not getattr(theirs, "__func__", theirs):
            return False
    return True


class RowTable:
    """Indicator rows of one batch, each distinct one computed once.

    ``row(key, compute)`` returns the row number of ``key`` (e.g. ``("rsi", 14)``), calling
    ``compute()`` (an ``(n_bars,)`` float64 array) the first time the key is seen; ``array()``
    is the ``(k, n_bars)`` table."""

    def __init__(self, n_bars: int) -> None:
        self.n_bars = n_bars
        self._index: dict[Hashable, int] = {}
        self._rows: list[np.ndarray] = []

    def row(self, key: Hashable, compute: Callable[[], np.ndarray]) -> int:
        if key not in self._index:
            self._index[key] = len(self._rows)
            self._rows.append(compute())
        return self._index[key]

    def array(self) -> np.ndarray:
        if not self._rows:
            return np.empty((0, self.n_bars))
        return np.ascontiguousarray(np.vstack(self._rows), dtype=np.float64)


def rule_signal(
    rule: int,
    table: RowTable,
    close: np.ndarray,
    ints: Sequence[Sequence[int]],
    floats: Sequence[Sequence[float]],
) -> Any:
    """The :class:`backtest.fused.FusedSignal` of :func:`strategies._fused_nb.rule_block_nb`
    for ``rule`` (``RULE_*``): per-set ``ints`` (allow_short, warmup, then the rule's rows and
    integers) and ``floats`` as laid out there; None for no sets."""
    from backtest.fused import FusedSignal
    from strategies._fused_nb import rule_block_nb

    n_sets = len(ints)
    if not n_sets:
        return None
    ip = np.ascontiguousarray(np.array(ints, dtype=np.int64).reshape(n_sets, -1))
    fp = np.ascontiguousarray(np.array(floats, dtype=np.float64).reshape(n_sets, -1))
    close = np.ascontiguousarray(close, dtype=np.float64)
    args = (rule, table.array(), close, ip, fp)
    return FusedSignal(rule_block_nb, args, n_sets, len(close))


class FusedRule:
    """``fused_signal = FusedRule(rule, build, columns)`` in a strategy's class body: its
    ``fused_signal`` classmethod for :func:`strategies._fused_nb.rule_block_nb`.

    ``build(strategy, table, prices)`` gives one set's ``(ints, floats)`` after ``allow_short``
    and ``warmup`` (rows taken from the :class:`RowTable`; ``prices``: the bars' float64
    ``columns`` by name). The signal is None for a subclass with its own rule
    (:func:`inherits_rule`) and for no sets; otherwise it equals ``batch_positions``.
    """

    def __init__(self, rule: int, build: Callable, columns: tuple[str, ...] = ("close",)) -> None:
        self.rule, self.build, self.columns = rule, build, columns
        self.owner: type | None = None

    def __set_name__(self, owner: type, name: str) -> None:
        self.owner = owner

    def __get__(self, obj: Any, cls: type) -> Callable[..., Any]:
        return functools.partial(self.signal, cls)

    def signal(self, cls: type, bars: Any, param_sets: Sequence[Any], features: Any = None) -> Any:
        from strategies._bars import single_bars

        if not inherits_rule(cls, self.owner):
            return None
        bars = single_bars(bars, cls.label(), self.columns)
        prices = {k: bars[k].to_numpy(dtype=np.float64) for k in self.columns}
        table = RowTable(len(bars))
        ints, floats = [], []
        for s in (cls(**params) for params in param_sets):
            i, f = self.build(s, table, prices)
            ints.append([s.allow_short, s.warmup, *i])
            floats.append(f)
        return rule_signal(self.rule, table, prices["close"], ints, floats)
