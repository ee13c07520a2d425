"""Strategies and helpers shared by the optimizer tests (importable by subprocesses too)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from strategies.base import Strategy
from strategies.builtin.sma_cross import SmaCross
from strategies.params import Categorical, Float, Int

__all__ = [
    "MixedSpace",
    "Flaky",
    "SlowSma",
    "Interrupting",
    "sample_bars",
    "window_returns",
]


class MixedSpace(Strategy):
    """Every kind of declared parameter, a condition and a constraint.

    ``atr_mult`` is declared before the ``mode`` it depends on (suggestion order must still put
    ``mode`` first). Long while the close is above its ``window`` mean times a threshold.
    """

    name = "mixed_space"
    atr_mult = Float(0.5, 5.0, default=2.0, when={"mode": ["atr"]})
    window = Int(2, 50, default=10)
    period = Int(5, 200, log=True, default=20)
    stride = Int(10, 100, step=10, default=50)
    alpha = Float(0.0, 1.0, default=0.5)
    scale = Float(1e-3, 1.0, log=True, default=0.01)
    level = Float(0.0, 2.0, step=0.25, default=1.0)
    mode = Categorical(["plain", "atr"], default="plain")
    constraints = ("window < period",)

    @property
    def warmup(self) -> int:
        return self.window - 1

    def positions(self, bars: pd.DataFrame, features: pd.DataFrame | None = None) -> pd.Series:
        close = bars["close"]
        bump = self.atr_mult / 100.0 if self.mode == "atr" else self.scale / 10.0
        mean = close.rolling(self.window).mean()
        pos = (close > mean * (1.0 + bump)).astype(np.float64)
        pos.iloc[: self.warmup] = 0.0
        return pos.rename("position")


class Flaky(SmaCross):
    """SMA cross that raises for ``fast == 7`` and never trades (NaN Sharpe) for ``fast == 8``."""

    name = "flaky"
    fast = Int(2, 12, default=4)
    slow = Int(20, 60, default=30)

    @classmethod
    def batch_positions(cls, bars: Any, param_sets: Any, *args: Any, **kwargs: Any) -> np.ndarray:
        if any(p["fast"] == 7 for p in param_sets):
            raise ValueError("boom: fast=7 is cursed")
        pos = SmaCross.batch_positions.__func__(cls, bars, param_sets, *args, **kwargs)
        for j, p in enumerate(param_sets):
            if p["fast"] == 8:
                pos[:, j] = 0.0
        return pos


class SlowSma(SmaCross):
    """SMA cross whose batch evaluation sleeps ``$QR_TEST_DELAY`` seconds (kill-and-resume)."""

    name = "slow_sma"

    @classmethod
    def batch_positions(cls, bars, param_sets, features=None, *, out=None):  # noqa: D102
        import time

        time.sleep(float(os.environ.get("QR_TEST_DELAY", "0")))
        return SmaCross.batch_positions.__func__(cls, bars, param_sets, features, out=out)


class Interrupting(SmaCross):
    """SMA cross that raises ``KeyboardInterrupt`` on its ``budget``-th batch evaluation."""

    name = "interrupting"
    budget: int | None = None
    calls = 0

    @classmethod
    def batch_positions(cls, bars, param_sets, features=None, *, out=None):  # noqa: D102
        Interrupting.calls += 1
        if Interrupting.budget is not None and Interrupting.calls >= Interrupting.budget:
            raise KeyboardInterrupt("simulated interruption")
        return SmaCross.batch_positions.__func__(cls, bars, param_sets, features, out=out)


_BARS: pd.DataFrame | None = None


def sample_bars(n: int = 700) -> pd.DataFrame:
    """The last ``n`` bars of the bundled daily S&P 500 sample (loaded once)."""
    global _BARS
    if _BARS is None:
        import data_loaders

        _BARS = data_loaders.load_bars("sample:sp500")
    return _BARS.iloc[-n:]


def window_returns(
    cls: Any, bars: pd.DataFrame, params: Mapping[str, Any], start: int, stop: int
) -> np.ndarray:
    """Per-bar returns of ``params`` on bars ``[start, stop)`` through the vectorbt engine.

    Positions are computed on the bars up to ``stop``; the window starts flat and the target
    decided at ``start - 1`` is the first that can fill (at the open of ``start``), the
    convention of the batch path. Independent of the optimizer's evaluation code.
    """
    from backtest.costs import Costs
    from backtest.engine import run_backtest

    pos = cls(**params).positions(bars.iloc[:stop])
    lo = start - 1 if start > 0 else start
    bt = run_backtest(bars.iloc[lo:stop], pos.iloc[lo:stop], costs=Costs())
    return bt.returns.to_numpy(dtype=np.float64)[start - lo :]
