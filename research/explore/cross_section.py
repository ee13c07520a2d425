"""Cross-sectional information coefficients across a universe (Fama-MacBeth style), train window only.

For each factor (a score per symbol and bar, higher = expected to do better) and horizon ``h``:

* **Label.** The forward log return of each symbol over its own next ``h`` bars,
  ``log(close_j[s + h] / close_j[s])`` counted on the symbol's own calendar. Only bars
  ``0 .. train_stop - 1`` of the union calendar are read: a label whose end bar is at or after
  ``train_stop`` is purged, so data after the training window changes nothing here.
* **Rank IC per date.** At each union bar, the Spearman correlation across the symbols that have
  both a factor value and a label there (average ranks, then Pearson), when at least
  ``min_symbols`` do; dates with fewer symbols are skipped.
* **Average and t-statistic.** ``mean_ic`` is the mean of the per-date rank ICs (the
  Fama-MacBeth estimate); ``t_stat`` is ``mean_ic / sqrt(S / T)`` with ``S`` the Newey-West
  long-run variance of the per-date ICs (Bartlett weights ``1 - l / (L + 1)``, lags
  ``L = max(h - 1, floor(4 (T / 100) ** (2 / 9)))``: overlapping ``h``-bar labels make the ICs
  an MA(h-1) at least), ``T`` the number of dates; ``pvalue`` is two-sided from the normal law.
* **False discoveries.** ``p_adj`` are Benjamini-Hochberg adjusted p-values over every factor x
  horizon tried (:func:`research.explore.screening.benjamini_hochberg`, the control of the
  single-symbol screening), ``significant = p_adj <= fdr``.
* ``ic_ir`` = ``mean_ic / std`` of the per-date ICs (sample std), ``hit_rate`` = share of dates
  whose IC has the sign of ``mean_ic``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data_loaders.errors import DataTooShortError, ParameterError
from data_loaders.universe import Universe, align_universe
from research.explore.screening import benjamini_hochberg

__all__ = [
    "CrossSectionIC",
    "cross_sectional_ic",
    "forward_log_returns_panel",
    "newey_west_tstat",
]


@dataclass(frozen=True)
class CrossSectionIC:
    """Result: one row per factor x horizon, and the per-date rank ICs behind each row."""

    table: pd.DataFrame
    ic: dict[tuple[str, int], pd.Series]
    train_stop: int
    fdr: float


def forward_log_returns_panel(universe: Universe, h: int, stop: int) -> np.ndarray:
    """``(n, m)`` forward log returns over each symbol's next ``h`` own bars, purged at ``stop``.

    Entry ``[t, j]`` is NaN unless symbol ``j`` has a bar at ``t`` and its ``h``-th next bar
    sits at a union position ``< stop``.
    """
    n, m = universe.shape
    out = np.full((n, m), np.nan)
    close = universe.panels["close"]
    for j in range(m):
        rows = np.flatnonzero(universe.available[:stop, j])
        if len(rows) <= h:
            continue
        c = close[rows, j]
        out[rows[:-h], j] = np.log(c[h:] / c[:-h])
    return out


def newey_west_tstat(x: np.ndarray, lags: int) -> float:
    """``mean(x) / sqrt(S / T)`` with ``S`` the Bartlett-weighted (Newey-West) long-run variance.

    ``S = g0 + 2 sum_{l=1..lags} (1 - l / (lags + 1)) g_l`` with ``g_l = sum_t d_t d_{t-l} / T``
    (``d`` = demeaned ``x``, population autocovariances). NaN for fewer than 3 values.
    """
    x = np.asarray(x, dtype=np.float64)
    t = len(x)
    if t < 3:
        return math.nan
    d = x - x.mean()
    s = d @ d / t
    for lag in range(1, min(lags, t - 1) + 1):
        s += 2.0 * (1.0 - lag / (lags + 1)) * (d[lag:] @ d[:-lag]) / t
    if not s > 0:
        return math.nan
    return float(x.mean() / math.sqrt(s / t))


def _rank_ic_per_date(factor: np.ndarray, label: np.ndarray, min_symbols: int) -> np.ndarray:
    ok = np.isfinite(factor) & np.isfinite(label)
    out = np.full(factor.shape[0], np.nan)
    for t in np.flatnonzero(ok.sum(axis=1) >= min_symbols):
        cols = ok[t]
        rx = pd.Series(factor[t, cols]).rank().to_numpy()
        ry = pd.Series(label[t, cols]).rank().to_numpy()
        sx, sy = rx.std(), ry.std()
        if sx > 0 and sy > 0:
            out[t] = ((rx - rx.mean()) * (ry - ry.mean())).mean() / (sx * sy)
    return out


def cross_sectional_ic(
    universe: Universe | Mapping[str, pd.DataFrame],
    factors: Mapping[str, pd.DataFrame],
    *,
    train_stop: int,
    horizons: Sequence[int] = (1, 5, 21),
    min_symbols: int = 5,
    fdr: float = 0.1,
) -> CrossSectionIC:
    """Rank ICs of ``factors`` across the symbols of ``universe`` on bars ``0..train_stop-1``.

    Args:
        universe: the universe (or ``dict[symbol, bars]``).
        factors: name -> DataFrame (union index x symbols) of scores decided at each close; only
            rows before ``train_stop`` are read.
        train_stop: the first union bar after the training window.
        horizons: forward horizons in each symbol's own bars.
        min_symbols: fewest symbols with a factor and a label for a date to count.
        fdr: the false-discovery rate of the Benjamini-Hochberg control.

    Raises:
        ParameterError: a bad horizon, ``min_symbols < 3``, ``fdr`` outside ``(0, 1)``.
        DataTooShortError: ``train_stop`` outside the data, or no date with enough symbols.
    """
    uni = align_universe(universe)
    n, m = uni.shape
    if not 0 < train_stop <= n:
        raise DataTooShortError(f"`train_stop` must be in 1..{n}, got {train_stop}")
    if min_symbols < 3 or not 0 < fdr < 1 or any(int(h) < 1 for h in horizons):
        raise ParameterError(
            f"need min_symbols >= 3, 0 < fdr < 1 and horizons >= 1; got {min_symbols}, {fdr}, "
            f"{list(horizons)}"
        )
    rows, series = [], {}
    labels = {int(h): forward_log_returns_panel(uni, int(h), train_stop) for h in horizons}
    for name, frame in factors.items():
        f = frame.reindex(index=uni.index, columns=list(uni.symbols)).to_numpy(
            np.float64, copy=True
        )
        f[train_stop:] = np.nan
        for h, label in labels.items():
            ic = _rank_ic_per_date(f, label, min_symbols)
            valid = ic[np.isfinite(ic)]
            series[(name, h)] = pd.Series(ic, index=uni.index).dropna()
            t_count = len(valid)
            lags = max(h - 1, int(4 * (t_count / 100) ** (2 / 9))) if t_count else 0
            mean = float(valid.mean()) if t_count else math.nan
            tstat = newey_west_tstat(valid, lags)
            sd = float(valid.std(ddof=1)) if t_count > 1 else math.nan
            rows.append(
                {
                    "factor": name,
                    "horizon": h,
                    "mean_ic": mean,
                    "t_stat": tstat,
                    "pvalue": math.erfc(abs(tstat) / math.sqrt(2)) if tstat == tstat else math.nan,
                    "ic_ir": mean / sd if sd and sd > 0 else math.nan,
                    "hit_rate": float((np.sign(valid) == np.sign(mean)).mean())
                    if t_count
                    else math.nan,
                    "n_dates": t_count,
                    "nw_lags": lags,
                }
            )
    table = pd.DataFrame(rows)
    if not table["n_dates"].any():
        raise DataTooShortError(
            f"no date before train_stop={train_stop} has {min_symbols} symbols with a factor "
            "and a label; lower min_symbols or widen the training window"
        )
    table["p_adj"] = benjamini_hochberg(table["pvalue"].to_numpy())
    table["significant"] = table["p_adj"] <= fdr
    return CrossSectionIC(table=table, ic=series, train_stop=train_stop, fdr=fdr)
