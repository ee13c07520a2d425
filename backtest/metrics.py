"""Performance metrics over a returns series, plus trade and position statistics.

Plain functions: a returns ``pd.Series`` / 1-D array in, a float out (a ``pd.DataFrame`` / 2-D
array gives one value per column). The numbers come from the numba kernels of
:mod:`backtest._metrics_nb`, which the fused batch kernel uses too.

Conventions (those of empyrical-reloaded 0.7 wherever it defines the metric; tests compare):

* ``returns`` are simple (not log) returns per period, e.g. daily equity returns.
* ``periods_per_year`` (default 252, trading days) annualises: CAGR uses
  ``years = n / periods_per_year`` with ``n`` the number of periods; volatility and Sharpe scale
  by ``sqrt(periods_per_year)``, the Sortino numerator by ``periods_per_year``.
* ``risk_free`` and ``required_return`` of Sharpe/Sortino are **per period** (default 0). The
  ``required_return`` of Omega is **annual** and converted to a per-period threshold
  ``(1 + R) ** (1 / periods_per_year) - 1`` (empyrical's ``annualization`` argument).
* Standard deviations are **sample** deviations (``ddof=1``). A series whose values are all equal
  has a deviation of exactly 0: a constant positive return has an infinite Sharpe/Sortino ratio,
  a constant zero return a ``NaN`` one. Fewer than two periods give ``NaN`` for every
  deviation-based ratio.
* ``NaN`` returns are missing observations: skipped by means, deviations and quantiles, taken as
  a zero return when compounding (total return, drawdown), and still counted as periods by CAGR.
  Deviations from empyrical, all on degenerate input: :func:`value_at_risk`, :func:`skew` and
  :func:`kurtosis` skip NaN (empyrical/scipy return ``NaN``); :func:`cagr` is ``-1`` when wealth
  ends at or below zero; skew/kurtosis of a constant series are ``NaN`` (as scipy).
* :func:`skew` and :func:`kurtosis` are the **population** (biased) moments of
  ``scipy.stats.skew`` / ``scipy.stats.kurtosis`` with their defaults, the ones empyrical lists;
  :func:`kurtosis` is **excess** kurtosis (normal = 0) unless ``excess=False`` (normal = 3).
* :func:`max_drawdown` is a negative fraction (``-0.25`` = a 25 % fall from the running peak,
  the start counting as a peak); 0 when wealth never fell.

Trade and position statistics:

* ``trades``: a DataFrame with a ``pnl`` column (any case: ``PnL`` from vectorbt works) holding
  each trade's profit in cash, net of fees; optionally ``status`` (``"Open"``/``"Closed"`` or
  vectorbt's codes 0/1). Or directly a 1-D array/Series of pnl. :func:`n_trades` counts every
  trade, open ones included; :func:`win_rate`, :func:`profit_factor` and :func:`expectancy` use
  closed trades only when a status is given (vectorbt's ``stats()`` defaults).
* ``positions``: the target exposure per bar (fraction of equity, as strategies output; a
  DataFrame with one column per symbol for several symbols). :func:`exposure` is the fraction of
  bars with a non-zero position (any symbol); :func:`turnover` is the mean absolute change of
  target exposure per bar, ``sum_t sum_symbols |p_t - p_{t-1}| / n_bars`` with ``p_{-1} = 0``
  (not annualised; multiply by ``periods_per_year`` for "times equity traded per year").
  ``NaN`` positions count as flat.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from backtest import _metrics_nb as nb
from backtest.metric_table import COMPUTED, METRICS, MetricInfo, names_of
from data_loaders.errors import DataValidationError, ParameterError

__all__ = [
    "total_return",
    "cagr",
    "annual_volatility",
    "sharpe_ratio",
    "sharpe_ratio_per_period",
    "downside_risk",
    "sortino_ratio",
    "max_drawdown",
    "drawdown_series",
    "calmar_ratio",
    "omega_ratio",
    "tail_ratio",
    "value_at_risk",
    "conditional_value_at_risk",
    "skew",
    "kurtosis",
    "n_trades",
    "win_rate",
    "profit_factor",
    "expectancy",
    "exposure",
    "turnover",
    "compute_metrics",
    "METRIC_NAMES",
    "METRICS",
    "MetricInfo",
]

#: keys of :func:`compute_metrics`, in order (from the one table, :data:`METRICS`)
METRIC_NAMES = COMPUTED

if nb.RETURNS_METRICS != names_of("returns"):  # the kernel writes its columns in this order
    raise ImportError(
        "backtest._metrics_nb.RETURNS_METRICS is out of step with backtest.metric_table: "
        f"{nb.RETURNS_METRICS} != {names_of('returns')}"
    )

Returns = pd.Series | pd.DataFrame | np.ndarray | list[float]


# --- input handling -------------------------------------------------------------------------------
def _as_float_array(values: Any, what: str) -> np.ndarray:
    if isinstance(values, pd.DataFrame | pd.Series):
        values = values.to_numpy()
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(f"{what} must be numeric, got {exc}") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim > 2:
        raise DataValidationError(f"{what} must be 1-D or 2-D, got shape {arr.shape}")
    return np.ascontiguousarray(arr)


def _check_ppy(periods_per_year: float) -> float:
    ppy = float(periods_per_year)
    if not (math.isfinite(ppy) and ppy > 0):
        raise ParameterError(
            f"`periods_per_year` must be a positive number, got {periods_per_year!r}"
        )
    return ppy


def _check_cutoff(cutoff: float) -> float:
    c = float(cutoff)
    if not 0.0 < c < 1.0:
        raise ParameterError(f"`cutoff` must be in (0, 1), got {cutoff!r}")
    return c


def _apply(kernel: Callable[..., float], returns: Returns, *args: Any) -> Any:
    """Run a 1-D kernel on a 1-D input (-> float) or on each column of a 2-D one."""
    arr = _as_float_array(returns, "returns")
    if arr.ndim == 1:
        return float(kernel(arr, *args))
    out = np.array(
        [kernel(np.ascontiguousarray(arr[:, j]), *args) for j in range(arr.shape[1])],
        dtype=np.float64,
    )
    if isinstance(returns, pd.DataFrame):
        return pd.Series(out, index=returns.columns)
    return out


# --- returns metrics --------------------------------------------------------------------------------
def total_return(returns: Returns) -> float:
    """Compounded return ``prod(1 + r) - 1`` (NaN returns as 0); ``NaN`` when empty."""
    return _apply(nb.total_return_nb, returns)


def cagr(returns: Returns, periods_per_year: float = 252) -> float:
    """Compound annual growth rate ``(1 + total_return) ** (1 / years) - 1``.

    ``years = n / periods_per_year`` with ``n = len(returns)`` (NaN periods included), as
    empyrical's ``annual_return``. ``NaN`` when empty; ``-1`` when wealth ends at or below zero
    (deviation: empyrical then returns a power of a negative number, ``NaN`` or meaningless).
    """
    return _apply(nb.cagr_nb, returns, _check_ppy(periods_per_year))


def annual_volatility(returns: Returns, periods_per_year: float = 252) -> float:
    """Sample standard deviation (``ddof=1``) of returns times ``sqrt(periods_per_year)``."""
    return _apply(nb.annual_volatility_nb, returns, _check_ppy(periods_per_year))


def sharpe_ratio(returns: Returns, risk_free: float = 0.0, periods_per_year: float = 252) -> float:
    """Annualised Sharpe ratio ``mean(r - rf) / std(r - rf, ddof=1) * sqrt(periods_per_year)``.

    ``risk_free`` is a constant per-period return. ``NaN`` with fewer than 2 periods or when
    ``mean == std == 0``; ``±inf`` for a non-zero constant excess return.
    """
    return _apply(nb.sharpe_ratio_nb, returns, float(risk_free), _check_ppy(periods_per_year))


def sharpe_ratio_per_period(returns: Returns, risk_free: float = 0.0) -> float:
    """Non-annualised Sharpe ratio ``mean(r - rf) / std(r, ddof=1)`` (input of PSR/DSR)."""
    return _apply(nb.sharpe_ratio_per_period_nb, returns, float(risk_free))


def downside_risk(
    returns: Returns, required_return: float = 0.0, periods_per_year: float = 252
) -> float:
    """Downside deviation ``sqrt(mean(min(r - T, 0) ** 2)) * sqrt(periods_per_year)``.

    The mean runs over *all* valid periods (gains count as 0), not only the losing ones;
    ``T = required_return`` per period.
    """
    return _apply(
        nb.downside_risk_nb, returns, float(required_return), _check_ppy(periods_per_year)
    )


def sortino_ratio(
    returns: Returns, required_return: float = 0.0, periods_per_year: float = 252
) -> float:
    """Sortino ratio ``mean(r - T) * periods_per_year / downside_risk(r, T)``.

    ``T = required_return`` per period. ``inf`` when there is no return below ``T`` and the mean
    is above it; ``NaN`` with fewer than 2 periods or for a series equal to ``T``.
    """
    return _apply(
        nb.sortino_ratio_nb, returns, float(required_return), _check_ppy(periods_per_year)
    )


def max_drawdown(returns: Returns) -> float:
    """Largest peak-to-trough fall of compounded wealth, as a negative fraction (0 if none)."""
    return _apply(nb.max_drawdown_nb, returns)


def drawdown_series(returns: pd.Series | np.ndarray) -> pd.Series | np.ndarray:
    """Drawdown after each period, ``wealth / running_peak - 1`` (<= 0), shaped like the input."""
    arr = _as_float_array(returns, "returns")
    if arr.ndim != 1:
        raise DataValidationError(f"returns must be 1-D for drawdown_series, got shape {arr.shape}")
    out = nb.drawdown_series_nb(arr)
    if isinstance(returns, pd.Series):
        return pd.Series(out, index=returns.index, name="drawdown")
    return out


def calmar_ratio(returns: Returns, periods_per_year: float = 252) -> float:
    """``cagr / |max_drawdown|``; ``NaN`` when there is no drawdown or the ratio is infinite."""
    return _apply(nb.calmar_ratio_nb, returns, _check_ppy(periods_per_year))


def omega_ratio(
    returns: Returns,
    risk_free: float = 0.0,
    required_return: float = 0.0,
    periods_per_year: float = 252,
) -> float:
    """Omega ratio: gains above the threshold over losses below it.

    Threshold per period ``= risk_free + (1 + required_return) ** (1 / periods_per_year) - 1``:
    ``risk_free`` per period, ``required_return`` annual (per period if ``periods_per_year == 1``,
    as empyrical's ``annualization``). ``NaN`` with fewer than 2 periods, without any return
    below the threshold, or when ``required_return <= -1``.
    """
    return _apply(
        nb.omega_ratio_nb,
        returns,
        float(risk_free),
        float(required_return),
        _check_ppy(periods_per_year),
    )


def tail_ratio(returns: Returns) -> float:
    """``|95th percentile| / |5th percentile|`` of returns (numpy's linear interpolation)."""
    return _apply(nb.tail_ratio_nb, returns)


def value_at_risk(returns: Returns, cutoff: float = 0.05) -> float:
    """Historical one-period VaR: the ``cutoff`` quantile of returns (a return, usually < 0).

    Linear interpolation between order statistics (``np.percentile``), NaN skipped.
    """
    return _apply(nb.value_at_risk_nb, returns, _check_cutoff(cutoff))


def conditional_value_at_risk(returns: Returns, cutoff: float = 0.05) -> float:
    """Historical CVaR (expected shortfall): mean of the worst ``int((m - 1) * cutoff) + 1``
    of the ``m`` valid returns, as empyrical."""
    return _apply(nb.conditional_value_at_risk_nb, returns, _check_cutoff(cutoff))


def skew(returns: Returns) -> float:
    """Population (biased) skewness ``m3 / m2 ** 1.5`` (``scipy.stats.skew`` default)."""
    return _apply(nb.skew_nb, returns)


def kurtosis(returns: Returns, excess: bool = True) -> float:
    """Population (biased) kurtosis ``m4 / m2 ** 2``; excess (minus 3, normal = 0) by default.

    ``excess=True`` equals ``scipy.stats.kurtosis`` (Fisher); ``excess=False`` gives the raw
    (Pearson) kurtosis, normal = 3, as used by the probabilistic Sharpe ratio.
    """
    return _apply(nb.kurtosis_nb, returns, bool(excess))


# --- trade statistics ---------------------------------------------------------------------------
def _closed_mask(status: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(status):
        return status.to_numpy() == 1  # vectorbt TradeStatus: Open=0, Closed=1
    return status.astype(str).str.lower().to_numpy() == "closed"


def _trade_pnl(trades: Any, closed_only: bool) -> np.ndarray:
    """The pnl column of a trades table (closed trades only when asked and a status exists)."""
    if isinstance(trades, pd.DataFrame):
        cols = {str(c).lower(): c for c in trades.columns}
        if "pnl" not in cols:
            raise DataValidationError(
                f"trades must have a 'pnl' column (profit per trade in cash), "
                f"got columns {list(trades.columns)}"
            )
        pnl = trades[cols["pnl"]]
        if closed_only and "status" in cols:
            pnl = pnl[_closed_mask(trades[cols["status"]])]
        return _as_float_array(pnl, "trades pnl")
    arr = _as_float_array(trades, "trades pnl")
    if arr.ndim != 1:
        raise DataValidationError(f"trades pnl must be 1-D, got shape {arr.shape}")
    return arr


def n_trades(trades: Any) -> int:
    """Number of trades (rows), open ones included."""
    if isinstance(trades, pd.DataFrame):
        return len(trades)
    return int(_trade_pnl(trades, closed_only=False).shape[0])


def win_rate(trades: Any) -> float:
    """Fraction of (closed) trades with a positive pnl; ``NaN`` without trades."""
    return float(nb.win_rate_nb(_trade_pnl(trades, closed_only=True)))


def profit_factor(trades: Any) -> float:
    """Gross profit over gross loss of (closed) trades: ``inf`` without losing trades."""
    return float(nb.profit_factor_nb(_trade_pnl(trades, closed_only=True)))


def expectancy(trades: Any) -> float:
    """Mean pnl per (closed) trade, in cash."""
    return float(nb.expectancy_nb(_trade_pnl(trades, closed_only=True)))


# --- position statistics ---------------------------------------------------------------------------
def _positions_2d(positions: Any) -> np.ndarray:
    arr = _as_float_array(positions, "positions")
    return arr.reshape(-1, 1) if arr.ndim == 1 else arr


def exposure(positions: Any) -> float:
    """Fraction of bars with a non-zero position (in any symbol); ``NaN`` when empty."""
    arr = _positions_2d(positions)
    held = np.nan_to_num(arr, nan=0.0) != 0.0
    return float(nb.exposure_nb(held.any(axis=1).astype(np.float64)))


def turnover(positions: Any) -> float:
    """Mean absolute change of target exposure per bar, ``sum |p_t - p_{t-1}| / n`` (``p_{-1} = 0``).

    Summed over symbols for a DataFrame. Not annualised.
    """
    arr = _positions_2d(positions)
    if arr.shape[0] == 0:
        return float("nan")
    return float(sum(nb.turnover_nb(np.ascontiguousarray(arr[:, j])) for j in range(arr.shape[1])))


def _position_trades(positions: Any) -> int:
    arr = _positions_2d(positions)
    return int(
        sum(nb.position_trades_nb(np.ascontiguousarray(arr[:, j])) for j in range(arr.shape[1]))
    )


# --- everything at once ---------------------------------------------------------------------------
def compute_metrics(
    returns: pd.Series | np.ndarray,
    trades: Any = None,
    positions: Any = None,
    periods_per_year: float = 252,
    risk_free: float = 0.0,
) -> dict[str, float | int]:
    """Every metric of this module in one dict (keys: :data:`METRIC_NAMES`, in order).

    Args:
        returns: per-period simple returns, shape ``(n,)``.
        trades: trades table or pnl array (see module docstring); gives ``n_trades``,
            ``win_rate``, ``profit_factor``, ``expectancy``.
        positions: target exposure per bar; gives ``exposure``, ``turnover`` and, without
            ``trades``, ``n_trades`` as the number of positions opened (entries from flat and
            reversals).
        periods_per_year: annualisation factor (252 for daily bars).
        risk_free: per-period risk-free return for Sharpe and Omega.

    Statistics whose input is missing are ``NaN``. Values are Python floats (``n_periods`` and a
    known ``n_trades`` are ints).
    """
    ppy = _check_ppy(periods_per_year)
    r = _as_float_array(returns, "returns")
    if r.ndim != 1:
        raise DataValidationError(f"returns must be 1-D for compute_metrics, got shape {r.shape}")
    rf = float(risk_free)
    head = nb.returns_metrics_nb(r, rf, ppy)
    out: dict[str, float | int] = {name: float(v) for name, v in zip(nb.RETURNS_METRICS, head)}
    out["tail_ratio"] = float(nb.tail_ratio_nb(r))
    out["value_at_risk"] = float(nb.value_at_risk_nb(r, 0.05))
    out["conditional_value_at_risk"] = float(nb.conditional_value_at_risk_nb(r, 0.05))
    out["skew"] = float(nb.skew_nb(r))
    out["kurtosis"] = float(nb.kurtosis_nb(r, True))
    out["n_periods"] = int(r.shape[0])
    nan = float("nan")
    out["n_trades"] = nan
    out["win_rate"] = out["profit_factor"] = out["expectancy"] = nan
    out["exposure"] = out["turnover"] = nan
    if trades is not None:
        out["n_trades"] = n_trades(trades)
        out["win_rate"] = win_rate(trades)
        out["profit_factor"] = profit_factor(trades)
        out["expectancy"] = expectancy(trades)
    if positions is not None:
        out["exposure"] = exposure(positions)
        out["turnover"] = turnover(positions)
        if trades is None:
            out["n_trades"] = _position_trades(positions)
    return {name: out[name] for name in METRIC_NAMES}
