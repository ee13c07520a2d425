"""HTML helpers of the report: escaping, number formats, tables, plots, gate badges."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

from backtest.metric_table import PERCENT
from backtest.tearsheet import figure_div
from research.judge.gates import GATES

__all__ = [
    "GATE_RULES",
    "SHOWN_METRICS",
    "PERCENT_METRICS",
    "esc",
    "fmt",
    "when",
    "params_html",
    "round_sig",
    "gate_badge",
    "html_table",
    "plot_div",
]

GATE_RULES = {rule.name: rule for rule in GATES}
SHOWN_METRICS = (
    "sharpe_ratio",
    "sortino_ratio",
    "cagr",
    "total_return",
    "max_drawdown",
    "calmar_ratio",
    "annual_volatility",
    "n_trades",
    "exposure",
    "turnover",
)
PERCENT_METRICS = PERCENT  # fractions shown as percentages (the metric table)


# --------------------------------------------------------------------------------------------
# formatting helpers
# --------------------------------------------------------------------------------------------
def esc(x: Any) -> str:
    return html.escape(str(x))


def fmt(v: Any, metric: str = "") -> str:
    if v is None:
        return '<span class="na">–</span>'
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if not math.isfinite(v):
            return '<span class="na">–</span>'
        if metric in PERCENT_METRICS:
            return f"{v:.1%}"
        if metric in {"n_trades"}:
            return f"{v:,.0f}"
        return f"{v:.3f}" if abs(v) < 1000 else f"{v:,.0f}"
    return esc(v)


def when(text: Any) -> str:
    """An ISO timestamp shortened for reading: the date alone at midnight UTC."""
    s = str(text or "?")
    for tail in ("T00:00:00+00:00", "T00:00:00Z", " 00:00:00+00:00"):
        if s.endswith(tail):
            return s[: -len(tail)]
    return s.replace("+00:00", " UTC").replace("T", " ")


def params_html(p: Mapping[str, Any] | None) -> str:
    if not p:
        return '<span class="na">–</span>'
    parts = []
    for k, v in p.items():
        v = f"{v:.4g}" if isinstance(v, float) else v
        parts.append(f"{k}={v}")
    return esc(", ".join(parts))


def round_sig(v: Any) -> Any:
    if isinstance(v, float):
        return float(f"{v:.4g}")
    if isinstance(v, Mapping):
        return {k: round_sig(x) for k, x in v.items()}
    if isinstance(v, list):
        return [round_sig(x) for x in v]
    return v


def gate_badge(name: str, g: Mapping[str, Any]) -> str:
    t, val = g.get("threshold"), g.get("value")
    rule = GATE_RULES.get(name)
    if rule is not None and rule.fmt.endswith("%"):  # drawdown: a positive fraction
        val_s = "n/a" if val is None else f"{val:.1%}"
    else:
        val_s = "n/a" if val is None else (f"{val:.3g}" if isinstance(val, float) else str(val))
    label = rule.badge(t) if rule is not None and isinstance(t, int | float) else f"{name} {t}"
    passed = g.get("passed")
    cls = "na" if passed is None else ("pass" if passed else "fail")
    mark = "?" if passed is None else ("✓" if passed else "✗")
    return f'<span class="{cls}" title="value {val_s}">{mark} {esc(label)} ({esc(val_s)})</span>'


def html_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    left: Sequence[int] = (0,),
    scroll: bool = False,
) -> str:
    th = "".join(f'<th class="{"l" if i in left else ""}">{h}</th>' for i, h in enumerate(headers))
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{"l" if i in left else ""}">{c}</td>' for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    t = f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="scroll">{t}</div>' if scroll else t


def plot_div(fig: Any, div_id: str) -> str:
    """:func:`backtest.tearsheet.figure_div` of ``fig``, or nothing when ``fig`` is None."""
    return "" if fig is None else figure_div(fig, div_id)


# --------------------------------------------------------------------------------------------
# sections
# --------------------------------------------------------------------------------------------
