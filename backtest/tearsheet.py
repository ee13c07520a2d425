"""The tearsheet of one backtest: a self-contained HTML page (plotly.js inlined, opens offline).

Sections, in order: the metrics table, price with the trades' entry and exit markers (per symbol;
exits per ``exit_reason`` when the trades carry one), equity against buy-and-hold, drawdown,
rolling Sharpe, exposure over time, monthly and yearly returns, the trade list.

* :func:`tearsheet_html` renders a :class:`~backtest.result.BacktestResult`;
  :func:`write_tearsheet` writes it atomically. ``BacktestResult.to_html`` / ``.plot`` /
  ``_repr_html_`` delegate here.
* :func:`tearsheet_figure` is the one-figure summary (price, equity, drawdown, rolling Sharpe,
  exposure on a shared time axis) that ``BacktestResult.plot()`` returns.
* :func:`metrics_table_html`, :func:`monthly_table_html` and :func:`trades_table_html` render
  plain inputs, for reuse by other reports. Every numeric cell carries its full-precision value
  in a ``data-value`` attribute, so a reader (or a test) can compare it with the JSON.

Metrics are :meth:`BacktestResult.metrics` (see :func:`backtest.metrics.compute_metrics` for the
conventions): annualised with ``periods_per_year`` (252 by default: daily stock bars).
Buy-and-hold holds ``init_cash`` from the first close, equal weights for several symbols.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from backtest import plots

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from backtest.result import BacktestResult

__all__ = [
    "tearsheet_html",
    "tearsheet_figure",
    "write_tearsheet",
    "backtest_tearsheet",
    "notebook_html",
    "metrics_table_html",
    "monthly_table_html",
    "trades_table_html",
    "figure_div",
    "PERCENT_METRICS",
]

#: metrics shown as percentages
PERCENT_METRICS = frozenset(
    {
        "total_return",
        "cagr",
        "annual_volatility",
        "max_drawdown",
        "value_at_risk",
        "conditional_value_at_risk",
        "win_rate",
        "exposure",
        "turnover",
    }
)
_MAX_PRICE_CHARTS = 12
#: metrics coloured by sign (gain green, loss red)
_SIGNED = frozenset(
    {"total_return", "cagr", "sharpe_ratio", "sortino_ratio", "calmar_ratio", "expectancy"}
)

_ERROR_CATCHER = """<script>
/* Any script error lands in #report-errors (visible, and checked by the browser test). */
window.__reportErrors = [];
(function () {
  function record(text) {
    window.__reportErrors.push(text);
    var box = document.getElementById("report-errors");
    if (box) { box.textContent += text + "\\n"; box.style.display = "block"; }
  }
  window.onerror = function (msg, src, line, col) { record("error: " + msg + " at " + (src || "") + ":" + line + ":" + col); };
  window.addEventListener("unhandledrejection", function (e) { record("unhandled rejection: " + (e.reason && e.reason.message || e.reason)); });
})();
</script>"""

_STYLE = """<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       margin: 0; background: #f6f7f9; }
header { background: #14213d; color: #fff; padding: 16px 28px; }
header h1 { margin: 0 0 4px; font-size: 21px; } header .meta { color: #c9d2e3; font-size: 12px; }
main { max-width: 1280px; margin: 0 auto; padding: 8px 28px 40px; }
section { background: #fff; border: 1px solid #e3e3e3; border-radius: 6px; padding: 12px 18px;
          margin: 14px 0; }
h2 { font-size: 17px; margin: 0 0 6px; } p.note { color: #666; margin: 2px 0 8px; }
table { border-collapse: collapse; font-size: 12.5px; margin: 4px 0 10px; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 3px 8px; text-align: right; }
th { background: #fafafa; } td.l, th.l { text-align: left; }
td.pos { color: #1b7f3b; } td.neg { color: #b3261e; } .na { color: #999; }
.scroll { max-height: 480px; overflow: auto; }
.metrics { columns: 2 320px; } .plot { width: 100%; min-height: 220px; }
#report-errors { display: none; white-space: pre-wrap; color: #b3261e; background: #fff0f0;
                 border: 1px solid #b3261e; padding: 8px 12px; margin: 12px 28px; }
</style>"""


# --------------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------------
def _number(value: Any, percent: bool = False, digits: int = 3, signed: bool = True) -> str:
    """A ``<td>`` with the formatted value and its full-precision ``data-value``; ``signed``
    colours it by sign (for returns, not for a volatility)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        text = "–" if value is None or math.isnan(value) else ("inf" if value > 0 else "-inf")
        return f'<td class="na" data-value="{value}">{text}</td>'
    if isinstance(value, bool | np.bool_):
        return f"<td>{'yes' if value else 'no'}</td>"
    if isinstance(value, int | np.integer):
        return f'<td data-value="{int(value)}">{int(value):,}</td>'
    v = float(value)
    text = f"{v:.{max(digits - 2, 1)}%}" if percent else f"{v:,.{digits}f}"
    sign = ("pos" if v > 0 else ("neg" if v < 0 else "")) if signed else ""
    return f'<td class="{sign}" data-value="{v!r}">{text}</td>'


def metrics_table_html(metrics: Mapping[str, Any]) -> str:
    """Two-column table ``metric | value`` (one row per metric, ``id="metric-NAME"``)."""
    rows = "".join(
        f'<tr id="metric-{html.escape(k)}"><td class="l">{html.escape(k)}</td>'
        f"{_number(v, percent=k in PERCENT_METRICS, digits=4, signed=k in _SIGNED)}</tr>"
        for k, v in metrics.items()
    )
    return f'<table class="metrics-table"><tbody>{rows}</tbody></table>'


def monthly_table_html(returns: pd.Series) -> str:
    """Monthly and yearly compounded returns (:func:`backtest.plots.monthly_returns`) as a table."""
    table = plots.monthly_returns(returns)
    head = '<th class="l">year</th>' + "".join(f"<th>{c}</th>" for c in table.columns)
    body = "".join(
        f'<tr><td class="l">{year}</td>' + "".join(_number(v, percent=True) for v in row) + "</tr>"
        for year, row in zip(table.index, table.to_numpy())
    )
    return (
        f'<table class="monthly-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


def trades_table_html(trades: pd.DataFrame, limit: int = 500) -> str:
    """The trade list (the first ``limit`` rows; a note says how many were left out)."""
    if len(trades) == 0:
        return '<p class="note">No trades.</p>'
    cols = list(trades.columns)
    head = "".join(f'<th class="{"l" if _is_text(trades[c]) else ""}">{c}</th>' for c in cols)
    rows = []
    for rec in trades.head(limit).itertuples(index=False):
        cells = []
        for col, v in zip(cols, rec):
            if isinstance(v, pd.Timestamp):
                cells.append(f'<td class="l">{html.escape(_when(v))}</td>')
            elif isinstance(v, str) or v is None:
                cells.append(f'<td class="l">{html.escape(str(v))}</td>')
            else:
                cells.append(_number(v, percent=col == "return", digits=4))
        rows.append("<tr>" + "".join(cells) + "</tr>")
    note = (
        f'<p class="note">First {limit} of {len(trades)} trades.</p>' if len(trades) > limit else ""
    )
    table = f'<table class="trades-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    return f'{note}<div class="scroll">{table}</div>'


def _when(stamp: pd.Timestamp) -> str:
    """A timestamp for reading: the date alone at midnight, else date and time (UTC offset kept
    only when not UTC)."""
    if stamp.hour == stamp.minute == stamp.second == 0:
        return stamp.strftime("%Y-%m-%d")
    text = stamp.isoformat(sep=" ")
    return text.removesuffix("+00:00")


def _is_text(column: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(column)


# --------------------------------------------------------------------------------------------
# the page
# --------------------------------------------------------------------------------------------
def _closes(result: BacktestResult) -> pd.DataFrame:
    close = result.close_prices if result.portfolio is None else result.portfolio.close
    frame = close.to_frame() if isinstance(close, pd.Series) else close
    return frame.loc[result.equity.index]


def figure_div(fig: go.Figure, div_id: str) -> str:
    """A figure as a ``<div class="plot" id=div_id>`` for a page that inlines plotly.js once."""
    return fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
        default_width="100%",
    ).replace("<div>", '<div class="plot">', 1)


def _section(sid: str, title: str, body: str, note: str = "") -> str:
    note_html = f'<p class="note">{html.escape(note)}</p>' if note else ""
    return f'<section id="{sid}"><h2>{html.escape(title)}</h2>{note_html}{body}</section>'


@dataclass(frozen=True)
class _View:
    """The part of a result a tearsheet shows: bars ``[start:]`` of every series."""

    equity: pd.Series
    returns: pd.Series
    exposure: pd.Series | pd.DataFrame
    trades: pd.DataFrame
    closes: pd.DataFrame
    metrics: dict[str, Any]


def _view(result: BacktestResult, start: int, periods_per_year: float) -> _View:
    from backtest.metrics import compute_metrics

    index = result.equity.index
    if not 0 <= int(start) < len(index):
        from data_loaders.errors import ParameterError

        raise ParameterError(f"tearsheet `start` must be in [0, {len(index)}), got {start!r}")
    since = index[int(start)]
    trades = result.trades[result.trades["entry_time"] >= since]
    returns = result.returns.iloc[start:]
    metrics = compute_metrics(
        returns,
        trades=trades,
        positions=result.positions_in_force.iloc[start:],
        periods_per_year=periods_per_year,
    )
    return _View(
        equity=result.equity.iloc[start:],
        returns=returns,
        exposure=result.exposure.iloc[start:],
        trades=trades,
        closes=_closes(result).iloc[start:],
        metrics=metrics,
    )


def tearsheet_html(
    result: BacktestResult,
    *,
    periods_per_year: float = 252,
    start: int = 0,
    title: str | None = None,
    context: Mapping[str, Any] | None = None,
    rolling_window: int | None = None,
    max_trades: int = 500,
) -> str:
    """The tearsheet page of ``result`` as one self-contained HTML string.

    Args:
        result: a backtest from :func:`backtest.run_backtest`.
        periods_per_year: bars per year, to annualise the metrics and the rolling Sharpe.
        start: first bar shown (e.g. the end of a training window); metrics, charts and the
            trade list cover bars ``[start:]`` and the trades entered in them. The metrics are
            :func:`~backtest.metrics.compute_metrics` of those returns, trades and targets in
            force (equal to :meth:`BacktestResult.metrics` when ``start=0``).
        title: page title (default "Backtest tearsheet").
        context: extra facts shown under the title (strategy, parameters, data ...).
        rolling_window: bars of the rolling Sharpe (default: half a year of bars, at least 20,
            at most a third of the bars shown).
        max_trades: rows of the trade list shown.
    """
    from plotly.offline import get_plotlyjs

    title = title or "Backtest tearsheet"
    v = _view(result, start, periods_per_year)
    window = rolling_window or plots.sharpe_window(len(v.returns), periods_per_year)
    body = f'<div class="metrics">{metrics_table_html(v.metrics)}</div>'
    note = f"Annualised with {periods_per_year:g} bars per year; fills: {result.execution}."
    sections = [_section("metrics", "Metrics", body, note)]
    for k, sym in enumerate(list(v.closes.columns)[:_MAX_PRICE_CHARTS]):
        fig = plots.price_figure(
            v.closes[sym].rename(str(sym)), v.trades[v.trades["symbol"] == sym]
        )
        sections.append(
            _section(f"price-{k}", f"Price and trades: {sym}", figure_div(fig, f"fig-price-{k}"))
        )
    bench = plots.buy_and_hold(v.closes, v.equity.iloc[0] / (1.0 + v.returns.iloc[0]))
    sharpe_note = f"Trailing {window} bars, annualised, risk-free 0."
    figures = [
        ("equity", "Equity", plots.equity_figure(v.equity, bench), ""),
        ("drawdown", "Drawdown", plots.drawdown_figure(v.returns), ""),
        (
            "rolling-sharpe",
            "Rolling Sharpe",
            plots.rolling_sharpe_figure(v.returns, window, periods_per_year),
            sharpe_note,
        ),
        ("exposure", "Exposure", plots.exposure_figure(v.exposure), ""),
    ]
    for sid, name, fig, fig_note in figures:
        sections.append(_section(sid, name, figure_div(fig, f"fig-{sid}"), fig_note))
    month_note = "Compounded returns of the bars in each calendar month and year (index time zone)."
    sections.append(
        _section("monthly", "Monthly and yearly returns", monthly_table_html(v.returns), month_note)
    )
    sections.append(_section("trades", "Trades", trades_table_html(v.trades, max_trades)))
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"{_ERROR_CATCHER}{_STYLE}<script>{get_plotlyjs()}</script></head><body>"
        f'<header><h1>{html.escape(title)}</h1><div class="meta">{_meta(result, v, context)}</div></header>'
        f'<div id="report-errors"></div><main>{"".join(sections)}</main></body></html>'
    )


def _meta(result: BacktestResult, view: _View, context: Mapping[str, Any] | None) -> str:
    idx = view.equity.index
    facts = {
        "bars": f"{len(idx):,} ({_when(idx[0])} .. {_when(idx[-1])})",
        "initial cash": f"{result.init_cash:,.0f}",
        "final equity": f"{result.final_equity:,.2f}",
        "direction": result.direction,
        **result.costs.to_dict(),
        **dict(context or {}),
    }
    return " · ".join(f"{html.escape(str(k))}: {html.escape(str(v))}" for k, v in facts.items())


def write_tearsheet(path: str | Path, result: BacktestResult, **options: Any) -> Path:
    """Write :func:`tearsheet_html` to ``path`` atomically; ``options`` go to it. Returns the path."""
    from data_loaders.atomic import atomic_write_text

    return atomic_write_text(path, tearsheet_html(result, **options))


def backtest_tearsheet(
    path: str | Path,
    bars: Any,
    positions: Any,
    *,
    start: int = 0,
    periods_per_year: float = 252,
    title: str | None = None,
    context: Mapping[str, Any] | None = None,
    **engine: Any,
) -> Path:
    """Run :func:`backtest.run_backtest` on ``bars`` and ``positions`` and write the tearsheet
    of bars ``[start:]`` to ``path`` (what ``research backtest --html`` calls).

    With ``start > 0`` (a strategy fitted on the bars before ``start``) the account is flat
    until the window: the targets decided before ``start - 1`` (next-open fills) or before
    ``start`` (fills at the close) are set to 0, so the window starts flat with the initial cash
    and its numbers equal those of :func:`backtest.evaluate_batch` with the same ``start``.

    Args:
        engine: keyword arguments of :func:`backtest.run_backtest` (costs, execution, ...).
    """
    from backtest.engine import run_backtest

    if start > 0:
        first = start - 1 if engine.get("execution", "next-open") == "next-open" else start
        positions = positions.copy() if hasattr(positions, "copy") else np.array(positions)
        if isinstance(positions, pd.Series | pd.DataFrame):
            positions.iloc[:first] = 0.0
        else:
            positions[:first] = 0.0
    result = run_backtest(bars, positions, **engine)
    return write_tearsheet(
        path, result, periods_per_year=periods_per_year, start=start, title=title, context=context
    )


def tearsheet_figure(
    result: BacktestResult, *, periods_per_year: float = 252, rolling_window: int | None = None
) -> go.Figure:
    """One figure, shared time axis: price of the first symbol with trades, equity against
    buy-and-hold, drawdown, rolling Sharpe and exposure (what ``BacktestResult.plot()`` shows)."""
    from plotly.subplots import make_subplots

    closes = _closes(result)
    sym = closes.columns[0]
    window = rolling_window or plots.sharpe_window(len(result.returns), periods_per_year)
    parts = [
        plots.price_figure(
            closes[sym].rename(str(sym)), result.trades[result.trades["symbol"] == sym]
        ),
        plots.equity_figure(result.equity, plots.buy_and_hold(closes, result.init_cash)),
        plots.drawdown_figure(result.returns),
        plots.rolling_sharpe_figure(result.returns, window, periods_per_year),
        plots.exposure_figure(result.exposure),
    ]
    fig = make_subplots(
        rows=len(parts),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.03,
        row_heights=[0.3, 0.25, 0.15, 0.15, 0.15],
        subplot_titles=[p.layout.title.text for p in parts],
    )
    for row, part in enumerate(parts, start=1):
        for trace in part.data:
            fig.add_trace(trace, row=row, col=1)
    fig.update_layout(template=plots.FIGURE_TEMPLATE, height=1100, hovermode="x unified")
    fig.update_yaxes(tickformat=".0%", row=3, col=1)
    fig.update_yaxes(tickformat=".0%", row=5, col=1)
    return fig


def notebook_html(result: BacktestResult, *, periods_per_year: float = 252) -> str:
    """Compact HTML for notebooks: the metrics table and the summary figure, plotly.js inlined
    (so the cell renders offline; about 4 MB per displayed result)."""
    fig = tearsheet_figure(result, periods_per_year=periods_per_year)
    metrics = result.metrics(periods_per_year=periods_per_year)
    plot = fig.to_html(full_html=False, include_plotlyjs=True, config={"displaylogo": False})
    return f'<div class="tearsheet">{metrics_table_html(metrics)}{plot}</div>'
