"""Position sizing as causal transforms of a strategy's target exposure.

The engines size every order as a fraction of current equity (``target * equity / price``
units, fractional, or whole units with ``whole_units=True``): that is **fixed-fraction** sizing,
the default. The functions here rescale the targets before the engine sees them, using only
information up to each bar's close, so both engine paths (and the lookahead check) apply
unchanged:

* :func:`vol_target` — volatility targeting: exposure scaled by ``target_vol / realised vol``
  (annualised, from the last ``window`` close-to-close returns), capped at ``max_leverage``;
* :func:`kelly_scale` — capped fractional Kelly: exposure scaled by
  ``fraction * mean / variance`` of the strategy's own unit-exposure returns over the last
  ``window`` bars, clipped to ``[0, cap]``.

Scales are rounded down to a multiple of ``step`` (default 0.05) so the target changes (and the
engine trades) only when the scale moves by a step, not on every bar. Before an estimate exists
(``window`` returns) the exposure is 0. A ``max_leverage`` above 1 needs the engines'
``max_leverage`` (:mod:`backtest.financing`) at least as large.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from data_loaders.errors import ParameterError

__all__ = ["vol_target", "kelly_scale", "check_range"]


def check_range(name: str, value: Any, lo: float, hi: float, lo_open: bool = True) -> float:
    """``value`` as a float in ``(lo, hi]`` (``[lo, hi]`` when not ``lo_open``), else a one-line
    ParameterError naming ``name``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"`{name}` must be a number, got {value!r}") from None
    ok = math.isfinite(number) and (number > lo if lo_open else number >= lo) and number <= hi
    if not ok:
        left = "(" if lo_open else "["
        raise ParameterError(f"`{name}` must be in {left}{lo:g}, {hi:g}], got {value!r}")
    return number


def _apply(positions: pd.Series, scale: np.ndarray, step: float | None) -> pd.Series:
    if step:
        scale = np.floor(scale / step + 1e-9) * step
    scale = np.where(np.isfinite(scale), scale, 0.0)
    return (positions * scale).rename(positions.name)


def _inputs(positions: Any, close: pd.Series, window: Any) -> tuple[pd.Series, pd.Series, int]:
    """``(positions, close, window)`` checked: float Series on one index, an int window >= 2."""
    if not isinstance(positions, pd.Series) or not positions.index.equals(close.index):
        raise ParameterError("`positions` must be a Series indexed like `close`")
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 2:
        raise ParameterError(f"`window` must be an integer >= 2, got {window!r}")
    return positions.astype(np.float64), close.astype(np.float64), int(window)


def vol_target(
    positions: pd.Series,
    close: pd.Series,
    *,
    target_vol: float,
    window: int = 20,
    max_leverage: float = 1.0,
    periods_per_year: float = 252,
    step: float | None = 0.05,
) -> pd.Series:
    """Scale targets so the position's annualised volatility approaches ``target_vol``.

    ``scale[t] = min(max_leverage, target_vol / (std(r[t-window+1..t]) * sqrt(ppy)))`` where
    ``r`` are simple close-to-close returns (sample std, ``ddof=1``), known at bar ``t``'s close.

    Args:
        positions: target exposures (Series indexed like ``close``).
        close: close prices.
        target_vol: annualised volatility target (``0.10`` = 10 %), in (0, 10].
        window: returns in the estimate (>= 2).
        max_leverage: cap of the scale, in (0, 100] (above 1: run the engines with at least
            this ``max_leverage``).
        periods_per_year: bars per year of the annualisation.
        step: round the scale down to a multiple of this (None: no rounding).
    """
    positions, close, window = _inputs(positions, close, window)
    target_vol = check_range("target_vol", target_vol, 0.0, 10.0)
    cap = check_range("max_leverage", max_leverage, 0.0, 100.0)
    ppy = check_range("periods_per_year", periods_per_year, 0.0, math.inf)
    vol = close.pct_change().rolling(window).std(ddof=1).to_numpy() * math.sqrt(ppy)
    with np.errstate(divide="ignore"):
        scale = np.minimum(cap, target_vol / vol)
    return _apply(positions, scale, step)


def kelly_scale(
    positions: pd.Series,
    close: pd.Series,
    *,
    fraction: float = 0.5,
    window: int = 250,
    cap: float = 1.0,
    step: float | None = 0.05,
) -> pd.Series:
    """Scale targets by a capped fraction of the Kelly bet estimated from the strategy's returns.

    The unit-exposure returns are ``u[t] = sign(positions[t-1]) * (close[t] / close[t-1] - 1)``
    (the strategy's direction, full size); ``kelly[t] = mean(u) / var(u)`` over the last
    ``window`` of them (sample variance), and
    ``scale[t] = clip(fraction * kelly[t], 0, cap)``: a strategy whose recent edge is negative
    is scaled to 0.

    Args:
        positions: target exposures (Series indexed like ``close``).
        close: close prices.
        fraction: share of the full Kelly bet, in (0, 1] (half Kelly by default).
        window: returns in the estimate (>= 2).
        cap: largest scale, in (0, 1].
        step: round the scale down to a multiple of this (None: no rounding).
    """
    positions, close, window = _inputs(positions, close, window)
    fraction = check_range("fraction", fraction, 0.0, 1.0)
    cap = check_range("cap", cap, 0.0, 1.0)
    unit = np.sign(positions.shift(1).fillna(0.0)) * close.pct_change()
    roll = unit.rolling(window)
    with np.errstate(divide="ignore", invalid="ignore"):
        kelly = (roll.mean() / roll.var(ddof=1)).to_numpy()
    scale = np.clip(fraction * kelly, 0.0, cap)
    return _apply(positions, scale, step)
