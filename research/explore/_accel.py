"""Numba stand-ins for catalog indicators whose ``ta`` implementation loops in Python.

On a million bars ``ta``'s ADX, CCI, Aroon, MFI, Ulcer index, KAMA and the EMA/ATR Keltner channel
take 3-30 s each; the kernels in :mod:`research.explore._nb` give the same values (the tests
compare every one with the catalog's ``compute`` to 1e-9) in milliseconds. :func:`compute_fast`
returns the catalog's output frame, warm-up masked exactly as :meth:`Indicator.compute` does, or
``None`` when there is no stand-in (the caller then uses the catalog).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from research.explore import _nb

__all__ = ["ACCELERATED", "compute_fast"]


def _hlc(bars: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(bars[k].to_numpy(dtype=np.float64) for k in ("high", "low", "close"))  # type: ignore[return-value]


def _adx(bars: pd.DataFrame, window: int) -> dict[str, np.ndarray]:
    adx, pos, neg = _nb.adx_nb(*_hlc(bars), int(window))
    return {"adx": adx, "adx_pos": pos, "adx_neg": neg}


def _cci(bars: pd.DataFrame, window: int, constant: float) -> dict[str, np.ndarray]:
    h, lo, c = _hlc(bars)
    return {"cci": _nb.cci_nb((h + lo + c) / 3.0, int(window), float(constant))}


def _aroon(bars: pd.DataFrame, window: int) -> dict[str, np.ndarray]:
    h, lo, _ = _hlc(bars)
    up, down = _nb.aroon_nb(h, lo, int(window))
    return {"aroon_up": up, "aroon_down": down, "aroon_indicator": up - down}


def _ulcer(bars: pd.DataFrame, window: int) -> dict[str, np.ndarray]:
    return {"ulcer": _nb.ulcer_nb(bars["close"].to_numpy(dtype=np.float64), int(window))}


def _mfi(bars: pd.DataFrame, window: int) -> dict[str, np.ndarray]:
    h, lo, c = _hlc(bars)
    return {"mfi": _nb.mfi_nb(h, lo, c, bars["volume"].to_numpy(dtype=np.float64), int(window))}


def _kama(bars: pd.DataFrame, window: int, pow1: int, pow2: int) -> dict[str, np.ndarray]:
    return {
        "kama": _nb.kama_nb(
            bars["close"].to_numpy(dtype=np.float64), int(window), int(pow1), int(pow2)
        )
    }


def _keltner(
    bars: pd.DataFrame, window: int, window_atr: int, original_version: bool
) -> dict[str, np.ndarray] | None:
    if original_version:  # rolling means: already fast in the catalog
        return None
    from strategies.indicators.fast import atr

    close = bars["close"].astype(np.float64)
    mid = close.ewm(span=window, min_periods=window, adjust=False).mean().to_numpy()
    a = np.nan_to_num(atr(bars["high"], bars["low"], close, int(window_atr)).to_numpy(), nan=0.0)
    hi, lo = mid + 2.0 * a, mid - 2.0 * a
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "keltner_mband": mid,
            "keltner_hband": hi,
            "keltner_lband": lo,
            "keltner_wband": (hi - lo) / mid * 100.0,
            "keltner_pband": (close.to_numpy() - lo) / (hi - lo),
        }


#: catalog name -> ``f(bars, **params) -> {output: array} | None``
ACCELERATED: dict[str, Callable[..., dict[str, np.ndarray] | None]] = {
    "adx": _adx,
    "cci": _cci,
    "aroon": _aroon,
    "ulcer": _ulcer,
    "mfi": _mfi,
    "kama": _kama,
    "keltner": _keltner,
}


def compute_fast(indicator: Any, bars: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame | None:
    """The catalog output of ``indicator`` at ``params`` from a numba stand-in, or ``None``.

    Returns:
        DataFrame ``(n_bars, len(indicator.outputs))`` with the catalog's columns, ``NaN`` before
        ``indicator.warmup(**params)`` and where the value is not finite.
    """
    fn = ACCELERATED.get(indicator.name)
    if fn is None:
        return None
    resolved = indicator.resolve(**params)
    arrays = fn(bars, **resolved)
    if arrays is None:
        return None
    warm = indicator.warmup(**resolved)
    data = np.column_stack([arrays[o] for o in indicator.outputs]).astype(np.float64)
    data[~np.isfinite(data)] = np.nan
    data[:warm] = np.nan
    return pd.DataFrame(data, index=bars.index, columns=list(indicator.outputs))
