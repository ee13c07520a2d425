"""Higher-timeframe indicators on lower-timeframe bars, without leakage.

:func:`higher_timeframe` resamples the bars to a coarser rule (``"1D"`` from hourly bars,
``"W"`` from daily ones), computes an indicator on the coarse bars and brings it back onto the
fine bars with this rule: **a coarse bar's value is available only from the first fine bar of a
later coarse bar on**, i.e. once every fine bar of its period has closed and the data shows the
period is over. A fine bar inside period ``k`` sees the value of period ``k - 1`` (the last
completed one); never a partial period, so cutting the data anywhere leaves every earlier value
unchanged (:func:`backtest.check_lookahead` proves it in the tests).

Coarse bars are :func:`data_loaders.resample_bars` bins labelled by their start, partial first
and last bins kept (the last partial one is never used).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from data_loaders.errors import DataValidationError
from data_loaders.resample import resample_bars

__all__ = ["higher_timeframe"]


def higher_timeframe(
    bars: pd.DataFrame,
    rule: str,
    indicator: Callable[[pd.DataFrame], Any],
    *,
    name: str | None = None,
) -> pd.Series:
    """``indicator`` computed on ``rule`` bars, as known at each fine bar (see the module).

    Args:
        bars: fine OHLCV bars (the bars contract).
        rule: the coarse frequency (``"4h"``, ``"1D"``, ``"W"``, ...), coarser than the bars.
        indicator: coarse bars -> one value per coarse bar (Series indexed like them, or array).
        name: name of the returned Series.

    Returns:
        Series indexed like ``bars``: the indicator of the last completed coarse bar (NaN while
        none has completed).

    Raises:
        ParameterError: an unknown rule or one finer than the bars (from ``resample_bars``).
        DataValidationError: an indicator whose output has the wrong length.
    """
    coarse = resample_bars(bars, rule, keep_partial=True)
    values = indicator(coarse)
    values = np.asarray(values.reindex(coarse.index) if isinstance(values, pd.Series) else values,
                        dtype=np.float64)  # fmt: skip
    if values.shape != (len(coarse),):
        raise DataValidationError(
            f"higher_timeframe: the indicator must return one value per {rule} bar "
            f"({len(coarse)}), got shape {values.shape}"
        )
    # period of each fine bar (bins are labelled by their start), then the previous period's value
    period = np.searchsorted(coarse.index.to_numpy(), bars.index.to_numpy(), side="right") - 1
    known = np.full(len(bars), np.nan)
    done = period >= 1
    known[done] = values[period[done] - 1]
    return pd.Series(known, index=bars.index, name=name)
