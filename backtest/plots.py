"""Figures and tables of one backtest, built from plain pandas objects (returns, trades, prices).

Every function takes series or frames, never a :class:`~backtest.result.BacktestResult`, so the
run report can draw the champion's price chart, monthly table and rolling Sharpe from what a run
folder stores. Figures are ``plotly.graph_objects.Figure`` objects; tables are DataFrames.

Conventions:

* ``returns`` are simple per-bar returns of the account (``equity_t / equity_{t-1} - 1``); NaN
  counts as a zero return when compounding.
* Monthly and yearly returns compound the bars of each calendar month / year in the index's own
  time zone (UTC for the project's bars): ``prod(1 + r) - 1``.
* The rolling Sharpe ratio is annualised, ``mean / std(ddof=1) * sqrt(periods_per_year)`` over a
  trailing window of ``window`` bars, risk-free rate 0 (the convention of
  :func:`backtest.metrics.sharpe_ratio`); a window with zero deviation gives NaN.
* ``trades`` is the engine's trade table (:data:`backtest.result.TRADE_COLUMNS`); when it has an
  ``exit_reason`` column the exit markers are drawn per reason. Open trades have no exit marker.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from backtest.metrics import drawdown_series

__all__ = [
    "FIGURE_TEMPLATE",
    "growth",
    "buy_and_hold",
    "monthly_returns",
    "rolling_sharpe",
    "sharpe_window",
    "price_figure",
    "equity_figure",
    "drawdown_figure",
    "rolling_sharpe_figure",
    "exposure_figure",
]

_COLORS = ["#1f5fa8", "#d1495b", "#2e8b57", "#edae49", "#6a4c93", "#00798c", "#8c564b", "#555"]
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

#: a compact plotly template (plotly's default inlines ~10 kB of JSON into every figure)
FIGURE_TEMPLATE = go.layout.Template(
    layout=dict(
        font=dict(family="system-ui, -apple-system, Segoe UI, sans-serif", size=12, color="#222"),
        paper_bgcolor="white",
        plot_bgcolor="white",
        colorway=_COLORS,
        margin=dict(l=60, r=20, t=40, b=40),
        xaxis=dict(gridcolor="#eee", zerolinecolor="#ccc", linecolor="#999"),
        yaxis=dict(gridcolor="#eee", zerolinecolor="#ccc", linecolor="#999"),
        legend=dict(orientation="h", y=-0.15),
        hovermode="x unified",
    )
)


def _figure(title: str, height: int = 340, **layout: Any) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(template=FIGURE_TEMPLATE, title=title, height=height, **layout)
    return fig


def growth(returns: pd.Series) -> pd.Series:
    """Growth of 1 after each bar, ``prod(1 + r)`` (NaN as 0)."""
    return (1.0 + returns.fillna(0.0)).cumprod()


def buy_and_hold(close: pd.Series | pd.DataFrame, init_cash: float = 1.0) -> pd.Series:
    """Value of ``init_cash`` held from the first close, no costs.

    Several symbols (a DataFrame of closes): equal weights at the first close, never rebalanced,
    i.e. ``init_cash * mean_s(close_s / close_s[0])``.
    """
    frame = close.to_frame() if isinstance(close, pd.Series) else close
    rel = frame / frame.iloc[0]
    return (rel.mean(axis=1) * float(init_cash)).rename("buy_and_hold")


def monthly_returns(returns: pd.Series) -> pd.DataFrame:
    """Compounded returns per calendar month and year.

    Returns:
        DataFrame indexed by year, columns ``Jan .. Dec`` (NaN for months without bars) and
        ``Year`` (the year's compounded return over its bars).
    """
    r = returns.fillna(0.0).astype(np.float64)
    idx = pd.DatetimeIndex(r.index)
    factor = 1.0 + r
    by_month = factor.groupby([idx.year, idx.month]).prod() - 1.0
    table = by_month.unstack().reindex(columns=range(1, 13))
    table.columns = list(_MONTHS)
    table["Year"] = factor.groupby(idx.year).prod() - 1.0
    table.index.name = "year"
    return table


def rolling_sharpe(
    returns: pd.Series, window: int = 126, periods_per_year: float = 252
) -> pd.Series:
    """Annualised Sharpe ratio over the trailing ``window`` bars (NaN before a full window)."""
    if int(window) < 2:
        from data_loaders.errors import ParameterError

        raise ParameterError(f"rolling Sharpe `window` must be >= 2 bars, got {window!r}")
    r = returns.astype(np.float64)
    roll = r.rolling(int(window), min_periods=int(window))
    # a constant window has zero deviation; pandas' running variance leaves ~1e-18 there
    flat = roll.max() == roll.min()
    std = roll.std(ddof=1).mask(flat)
    out = roll.mean() / std.where(std > 0) * np.sqrt(float(periods_per_year))
    return out.rename("rolling_sharpe")


def sharpe_window(periods: int, periods_per_year: float) -> int:
    """Default rolling-Sharpe window for ``periods`` bars: half a year of bars, at least 20 and
    at most a third of the data (never below 2)."""
    return int(max(2, min(max(20, round(periods_per_year / 2)), max(2, periods // 3))))


def price_figure(
    close: pd.Series, trades: pd.DataFrame | None = None, title: str | None = None
) -> go.Figure:
    """Close price with the trades' entries (triangles: up long, down short) and exits.

    Markers sit at the fill time and fill price of each trade. Exits are one trace per
    ``exit_reason`` when the trades have that column, else one "exit" trace.
    """
    name = str(close.name or "close")
    fig = _figure(title or f"{name}: price and trades", height=400)
    fig.add_trace(
        go.Scatter(x=close.index, y=close.to_numpy(), name=name, line=dict(color="#555", width=1))
    )
    if trades is None or len(trades) == 0:
        return fig
    for side, symbol, color in (
        ("long", "triangle-up", "#2e8b57"),
        ("short", "triangle-down", "#d1495b"),
    ):
        t = trades[trades["direction"] == side]
        if len(t):
            fig.add_trace(
                _markers(t["entry_time"], t["entry_price"], f"entry {side}", symbol, color)
            )
    closed = trades[trades["status"] == "closed"]
    if "exit_reason" in closed.columns:
        groups = [(f"exit: {k}", g) for k, g in closed.groupby("exit_reason", sort=True)]
    else:
        groups = [("exit", closed)]
    for i, (label, g) in enumerate(groups):
        color = ["#1f5fa8", "#edae49", "#6a4c93", "#00798c", "#8c564b"][i % 5]
        fig.add_trace(_markers(g["exit_time"], g["exit_price"], label, "x", color))
    return fig


def _markers(x: Any, y: Any, name: str, symbol: str, color: str) -> go.Scatter:
    return go.Scatter(
        x=list(x),
        y=np.asarray(y, dtype=np.float64),
        mode="markers",
        name=name,
        marker=dict(symbol=symbol, size=9, color=color, line=dict(width=0.5, color="#222")),
    )


def equity_figure(equity: pd.Series, benchmark: pd.Series | None = None) -> go.Figure:
    """Account equity (cash) against a benchmark on the same scale (e.g. :func:`buy_and_hold`)."""
    fig = _figure("Equity against buy-and-hold", height=360)
    fig.add_trace(go.Scatter(x=equity.index, y=equity.to_numpy(), name="strategy"))
    if benchmark is not None:
        fig.add_trace(
            go.Scatter(
                x=benchmark.index,
                y=benchmark.to_numpy(),
                name="buy and hold",
                line=dict(color="#999", dash="dot"),
            )
        )
    return fig


def drawdown_figure(returns: pd.Series | Mapping[str, pd.Series]) -> go.Figure:
    """Drawdown below the running peak (a negative fraction), one area per series."""
    series = {"strategy": returns} if isinstance(returns, pd.Series) else dict(returns)
    fig = _figure("Drawdown", height=260, yaxis=dict(tickformat=".0%"))
    for name, r in series.items():
        dd = drawdown_series(r.fillna(0.0))
        fig.add_trace(go.Scatter(x=dd.index, y=dd.to_numpy(), name=name, fill="tozeroy"))
    return fig


def rolling_sharpe_figure(
    returns: pd.Series, window: int = 126, periods_per_year: float = 252
) -> go.Figure:
    """:func:`rolling_sharpe` as a line, with the full-period level 0 marked."""
    rs = rolling_sharpe(returns, window, periods_per_year)
    fig = _figure(f"Rolling Sharpe ratio ({window} bars, annualised)", height=260)
    fig.add_trace(go.Scatter(x=rs.index, y=rs.to_numpy(), name="rolling Sharpe"))
    fig.add_hline(y=0.0, line=dict(color="#999", width=1))
    return fig


def exposure_figure(exposure: pd.Series | pd.DataFrame) -> go.Figure:
    """Signed exposure held at each close (asset value / equity), one line per symbol."""
    frame = exposure.to_frame() if isinstance(exposure, pd.Series) else exposure
    fig = _figure("Exposure (asset value / equity)", height=240, yaxis=dict(tickformat=".0%"))
    for col in frame.columns:
        fig.add_trace(
            go.Scatter(x=frame.index, y=frame[col].to_numpy(), name=str(col), line_shape="hv")
        )
    return fig
