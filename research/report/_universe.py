"""Report section of a universe run: cross-symbol robustness (results.json's ``universe``).

Per group (a strategy x optimizer over every symbol for ``per_symbol``, the one search for
``pooled`` / ``portfolio``): the summary across symbols (how many pass every gate, the median
out-of-sample metric, the breadth), the symbol x fold heatmap of out-of-sample Sharpe ratios,
the per-symbol table and the book's notes. The book's equity and drawdown against the
equal-weight buy-and-hold of the universe are the equity section's (its benchmark is that
book in a universe run).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import plotly.graph_objects as go

from backtest.plots import FIGURE_TEMPLATE
from research.report._context import SectionsBase
from research.report._html import esc, fmt, html_table, plot_div

__all__ = ["UniverseSections", "symbol_fold_heatmap"]


def symbol_fold_heatmap(group: Mapping[str, Any]) -> go.Figure | None:
    """Out-of-sample Sharpe ratio per symbol (rows) and fold (columns), diverging at 0."""
    z = np.asarray(group.get("fold_sharpe") or [], dtype=np.float64)
    if z.size == 0:
        return None
    lim = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"fold {f}" for f in group["folds"]],
            y=list(group["symbols"]),
            zmin=-lim,
            zmax=lim,
            colorscale="RdBu",
            colorbar=dict(title="OOS Sharpe"),
            hovertemplate="%{y} %{x}: Sharpe %{z:.2f}<extra></extra>",
        )
    )
    fig.update_layout(
        template=FIGURE_TEMPLATE,
        title=f"Out-of-sample Sharpe by symbol and fold: {group['group']}",
        height=max(300, 22 * len(group["symbols"]) + 120),
    )
    fig.update_yaxes(autorange="reversed")
    return fig


class UniverseSections(SectionsBase):
    """Mixin of :class:`research.report._build.ReportContext`."""

    def universe(self) -> dict | None:
        groups = (self.r.get("universe") or {}).get("groups") or []
        if not groups:
            return None
        parts = []
        for i, g in enumerate(groups):
            parts.append(self._universe_group(g, i))
        return self.section(
            "universe",
            "Across the universe",
            "".join(parts),
            "Each symbol's out-of-sample Sharpe ratio (per_symbol: its own search's picks; "
            "pooled: the one set re-evaluated on the symbol's own bars; portfolio: the symbol's "
            "contribution to the book, before costs). Breadth = share of symbols above 0. The "
            "equity section compares the book with the equal-weight buy-and-hold of the universe.",
        )

    def _universe_group(self, g: Mapping[str, Any], i: int) -> str:
        breadth = g.get("breadth")
        head = (
            f"<h3>{esc(g['group'])} <small>({esc(g.get('mode', ''))})</small></h3>"
            f"<p>{g.get('n_symbols', len(g['symbols']))} symbols; "
            f"{g.get('n_pass', 0)} leaderboard row(s) pass every gate; median out-of-sample "
            f"{esc(g.get('metric', ''))} {fmt(g.get('median_oos'))}; breadth "
            f"{'n/a' if breadth is None else f'{breadth:.0%}'}.</p>"
        )
        grid = np.asarray(g.get("fold_sharpe") or [], dtype=np.float64)
        rows = []
        for j, sym in enumerate(g["symbols"]):
            folds = grid[j] if grid.ndim == 2 and j < len(grid) else np.array([])
            pos = int(np.sum(folds > 0)) if folds.size else 0
            rows.append(
                [esc(sym), fmt(g["oos_sharpe"][j]), f"{pos} of {int(np.isfinite(folds).sum())}"]
            )
        table = html_table(["symbol", "OOS Sharpe", "folds with Sharpe > 0"], rows, scroll=True)
        notes = "".join(f"<li>{esc(n)}</li>" for n in g.get("notes") or [])
        notes = f"<p>Book notes:</p><ul>{notes}</ul>" if notes else ""
        return head + plot_div(symbol_fold_heatmap(g), f"fig-universe-{i}") + table + notes
