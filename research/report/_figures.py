"""Plotly figures of the report, each built from a saved run (``results.json`` + series).

Every function takes plain data (the results mapping, pandas objects read from Parquet) and
returns a ``plotly.graph_objects.Figure`` or ``None`` when the run has nothing to show for it
(for example no Pareto front with a single objective).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from backtest.plots import FIGURE_TEMPLATE, growth
from research._json import finite

__all__ = [
    "equity_figure",
    "drawdown_figure",
    "fold_figure",
    "history_figure",
    "importance_figure",
    "contour_figure",
    "parallel_figure",
    "pareto_figure",
    "pbo_histogram",
    "degradation_figure",
    "stability_figure",
]

_PALETTE = list(FIGURE_TEMPLATE.layout.colorway)


def _fig(**layout: Any) -> go.Figure:
    """An empty figure on the project's template (:data:`backtest.plots.FIGURE_TEMPLATE`);
    the report's figures hover on the nearest point rather than on the whole x position."""
    fig = go.Figure()
    layout.setdefault("hovermode", "closest")
    fig.update_layout(template=FIGURE_TEMPLATE, height=layout.pop("height", 380), **layout)
    return fig


def equity_figure(
    oos_returns: pd.DataFrame,
    benchmark: pd.Series | None,
    highlight: Sequence[str],
    lead: str = "champion",
) -> go.Figure | None:
    """Growth of 1 over the stitched out-of-sample span: the highlighted candidates (the first,
    labelled ``lead``, drawn bold) against buy-and-hold. Log scale, so equal percentage moves
    look equal."""
    cols = [c for c in highlight if c in oos_returns.columns]
    if not cols and benchmark is None:
        return None
    fig = _fig(title="Out-of-sample equity (growth of 1, log scale)", height=420)
    for i, col in enumerate(cols):
        eq = growth(oos_returns[col])
        fig.add_trace(
            go.Scatter(
                x=eq.index,
                y=eq.values,
                name=col + (f" ({lead})" if i == 0 else ""),
                line=dict(width=2.4 if i == 0 else 1.2),
                opacity=1.0 if i == 0 else 0.75,
            )
        )
    if benchmark is not None:
        eq = growth(benchmark)
        fig.add_trace(
            go.Scatter(
                x=eq.index, y=eq.values, name="buy and hold", line=dict(color="#777", dash="dot")
            )
        )
    fig.update_yaxes(type="log", title="equity")
    return fig


def drawdown_figure(
    champion: pd.Series | None, benchmark: pd.Series | None, lead: str = "champion"
) -> go.Figure | None:
    """Drawdown (fraction below the running peak) of the lead candidate (labelled ``lead``:
    the champion, or the best candidate when none passes the gates) and of buy-and-hold."""
    if champion is None and benchmark is None:
        return None
    fig = _fig(title="Drawdowns", height=300)
    for name, r, color in (
        (lead, champion, _PALETTE[0]),
        ("buy and hold", benchmark, "#999"),
    ):
        if r is None:
            continue
        eq = growth(r)
        dd = eq / eq.cummax() - 1.0
        fig.add_trace(
            go.Scatter(x=dd.index, y=dd.values, name=name, fill="tozeroy", line=dict(color=color))
        )
    fig.update_yaxes(tickformat=".0%", title="drawdown")
    return fig


def fold_figure(searches: Sequence[Mapping[str, Any]], metric: str) -> go.Figure | None:
    """In-sample vs out-of-sample ``metric`` of each fold's pick, per search."""
    fig = _fig(title=f"In-sample vs out-of-sample {metric} per fold", barmode="group", height=360)
    any_bar = False
    for i, s in enumerate(searches):
        folds = s.get("folds") or []
        if not folds:
            continue
        x = [f"fold {f['number']}" for f in folds]
        color = _PALETTE[i % len(_PALETTE)]
        fig.add_trace(
            go.Bar(
                x=x,
                y=[finite((f.get("is") or {}).get(metric)) for f in folds],
                name=f"{s['key']} IS",
                marker=dict(color=color, opacity=0.45),
            )
        )
        fig.add_trace(
            go.Bar(
                x=x,
                y=[finite((f.get("oos") or {}).get(metric)) for f in folds],
                name=f"{s['key']} OOS",
                marker=dict(color=color),
            )
        )
        any_bar = True
    return fig if any_bar else None


def history_figure(trials: pd.DataFrame, search_key: str, objective: str) -> go.Figure | None:
    """Objective value of each trial in order, one colour per fold, with the best so far."""
    t = trials[(trials["search"] == search_key) & (trials["state"] == "COMPLETE")]
    if t.empty:
        return None
    fig = _fig(title=f"Optimization history: {search_key} ({objective}, in-sample)", height=320)
    direction = t["direction"].iloc[0] if "direction" in t else "maximize"
    for i, (fold, g) in enumerate(t.groupby("fold", sort=True)):
        g = g.sort_values("number")
        color = _PALETTE[i % len(_PALETTE)]
        fig.add_trace(
            go.Scatter(
                x=g["number"],
                y=g["value"],
                mode="markers",
                name=f"fold {fold}",
                marker=dict(size=5, color=color, opacity=0.6),
                legendgroup=f"f{fold}",
            )
        )
        best = g["value"].cummax() if direction == "maximize" else g["value"].cummin()
        fig.add_trace(
            go.Scatter(
                x=g["number"],
                y=best,
                mode="lines",
                line=dict(color=color, width=1.5),
                name=f"best, fold {fold}",
                legendgroup=f"f{fold}",
                showlegend=False,
            )
        )
    fig.update_xaxes(title="trial")
    fig.update_yaxes(title=objective)
    return fig


def importance_figure(importance: Mapping[str, Any]) -> go.Figure | None:
    """Hyperparameter importance (fANOVA, normalised to sum 1) per strategy, horizontal bars."""
    rows = [
        (s, p, v) for s, imp in importance.items() for p, v in (imp.get("fanova") or {}).items()
    ]
    if not rows:
        return None
    fig = _fig(
        title="Hyperparameter importance (fANOVA)", barmode="group", height=140 + 26 * len(rows)
    )
    for i, strat in enumerate(importance):
        items = sorted(
            (imp for imp in (importance[strat].get("fanova") or {}).items()), key=lambda kv: kv[1]
        )
        if not items:
            continue
        fig.add_trace(
            go.Bar(
                x=[v for _, v in items],
                y=[f"{strat}: {k}" for k, _ in items],
                orientation="h",
                name=strat,
                marker=dict(color=_PALETTE[i % len(_PALETTE)]),
            )
        )
    fig.update_xaxes(title="share of variance explained", range=[0, 1])
    fig.update_yaxes(automargin=True)
    return fig


def _trial_params(t: pd.DataFrame) -> pd.DataFrame:
    params = pd.DataFrame([json.loads(p) for p in t["params"]], index=t.index)
    return params


def contour_figure(
    trials: pd.DataFrame, strategy: str, x: str, y: str, objective: str
) -> go.Figure | None:
    """The objective over the plane of two hyperparameters: an interpolated contour of the
    completed in-sample trials of ``strategy`` (all folds), trials drawn as dots.

    Trials at the same point (the same pair asked in several folds, or again in one) are one
    point with their mean objective: the interpolation needs distinct points (with repeats
    Qhull kept one arbitrary value of each, and took 10-80x longer).
    """
    t = trials[(trials["strategy"] == strategy) & (trials["state"] == "COMPLETE")]
    if len(t) < 4:
        return None
    p = _trial_params(t)
    if x not in p or y not in p:
        return None
    xs = pd.to_numeric(p[x], errors="coerce")
    ys = pd.to_numeric(p[y], errors="coerce")
    z = t["value"].astype(float)
    ok = xs.notna() & ys.notna() & z.notna()
    points = pd.DataFrame({"x": xs[ok].to_numpy(float), "y": ys[ok].to_numpy(float), "z": z[ok]})
    points = points.groupby(["x", "y"], sort=False)["z"].mean().reset_index()
    xs, ys, z = (points[c].to_numpy(float) for c in ("x", "y", "z"))
    if len(np.unique(xs)) < 2 or len(np.unique(ys)) < 2:
        return None
    fig = _fig(title=f"{strategy}: {objective} over {x} and {y} (in-sample trials)", height=420)
    gx = np.linspace(xs.min(), xs.max(), 40)
    gy = np.linspace(ys.min(), ys.max(), 40)
    try:
        from scipy.interpolate import griddata

        gz = griddata((xs, ys), z, tuple(np.meshgrid(gx, gy)), method="linear")
    except Exception:  # degenerate geometry (collinear points): dots only
        gz = None
    if gz is not None and np.isfinite(gz).any():
        fig.add_trace(
            go.Contour(
                x=gx,
                y=gy,
                z=gz,
                colorscale="Viridis",
                contours=dict(coloring="heatmap"),
                colorbar=dict(title=objective),
                connectgaps=False,
                name="interpolated",
            )
        )
    fig.add_trace(_dots(xs, ys, "trials", size=5, color="white", line=dict(color="black", width=1)))
    fig.update_xaxes(title=x)
    fig.update_yaxes(title=y)
    return fig


def parallel_figure(trials: pd.DataFrame, strategy: str, objective: str) -> go.Figure | None:
    """Parallel coordinates of every completed trial of ``strategy``: hyperparameters and the
    objective; categorical parameters shown by their choice index."""
    t = trials[(trials["strategy"] == strategy) & (trials["state"] == "COMPLETE")]
    if len(t) < 2:
        return None
    p = _trial_params(t)
    dims = []
    for col in p.columns:
        s = p[col]
        num = pd.to_numeric(s, errors="coerce")
        if num.notna().all():
            if num.nunique() < 2:
                continue
            dims.append(dict(label=col, values=num.to_numpy(float)))
        else:
            cats = sorted(map(str, s.dropna().unique()))
            if len(cats) < 2:
                continue
            codes = s.astype(str).map({c: i for i, c in enumerate(cats)}).to_numpy(float)
            dims.append(
                dict(label=col, values=codes, tickvals=list(range(len(cats))), ticktext=cats)
            )
    if not dims:
        return None
    z = t["value"].astype(float).to_numpy()
    dims.append(dict(label=objective, values=z))
    fig = _fig(title=f"{strategy}: parallel coordinates of the trials", height=380)
    fig.add_trace(
        go.Parcoords(
            dimensions=dims,
            line=dict(
                color=z, colorscale="Viridis", showscale=True, colorbar=dict(title=objective)
            ),
        )
    )
    fig.update_layout(margin=dict(l=70, r=70, t=100, b=30), title=dict(y=0.97))
    return fig


def pareto_figure(
    trials: pd.DataFrame, objectives: Sequence[Mapping[str, str]]
) -> go.Figure | None:
    """Trials in the plane of the first two objectives, the non-dominated ones highlighted
    (several objectives only; the front is taken per fold and shown together)."""
    if len(objectives) < 2 or "values" not in trials:
        return None
    t = trials[trials["state"] == "COMPLETE"]
    if t.empty:
        return None
    vals = np.array([json.loads(v) if isinstance(v, str) else v for v in t["values"]], dtype=float)
    if vals.ndim != 2 or vals.shape[1] < 2:
        return None
    signs = np.array([1.0 if o["direction"] == "maximize" else -1.0 for o in objectives])
    oriented = vals[:, : len(signs)] * signs[: vals.shape[1]]
    front = np.zeros(len(t), dtype=bool)
    keys = (t["search"].astype(str) + "|" + t["fold"].astype(str)).to_numpy()
    for key in np.unique(keys):
        idx = np.flatnonzero(keys == key)
        front[idx] = _non_dominated(oriented[idx])
    m0, m1 = objectives[0]["metric"], objectives[1]["metric"]
    fig = _fig(title=f"Pareto front: {m0} vs {m1} (in-sample, per fold)", height=420)
    extra = [o["metric"] for o in objectives[2:]]
    color = vals[:, 2] if extra else None
    fig.add_trace(_dots(vals[~front, 0], vals[~front, 1], "dominated", size=5, color="#bbb"))
    fig.add_trace(
        go.Scatter(
            x=vals[front, 0],
            y=vals[front, 1],
            mode="markers",
            name="Pareto front",
            marker=dict(
                size=8,
                color=color[front] if color is not None else _PALETTE[1],
                colorscale="Viridis" if color is not None else None,
                showscale=color is not None,
                colorbar=dict(title=extra[0]) if extra else None,
                line=dict(color="black", width=0.5),
            ),
        )
    )
    fig.update_xaxes(title=m0)
    fig.update_yaxes(title=m1)
    return fig


def _non_dominated(points: np.ndarray) -> np.ndarray:
    """Mask of rows not dominated by another row (all objectives oriented to maximize)."""
    n = len(points)
    keep = np.ones(n, dtype=bool)
    finite = np.isfinite(points).all(axis=1)
    for i in range(n):
        if not finite[i]:
            keep[i] = False
            continue
        ge = (points[finite] >= points[i]).all(axis=1)
        gt = (points[finite] > points[i]).any(axis=1)
        if (ge & gt).any():
            keep[i] = False
    return keep


def pbo_histogram(logits: Sequence[float], pbo: float | None) -> go.Figure | None:
    """Histogram of the CSCV logits ``log(w / (1 - w))`` of the in-sample winner's relative
    out-of-sample rank; the mass left of 0 is the PBO."""
    arr = np.asarray([x for x in logits if x is not None and math.isfinite(x)], dtype=float)
    if arr.size == 0:
        return None
    title = "CSCV logits"
    if pbo is not None:
        title += f" (PBO = {pbo:.2f})"
    fig = _fig(title=title, height=320, bargap=0.05)
    fig.add_trace(
        go.Histogram(
            x=arr,
            nbinsx=min(40, max(8, arr.size // 4)),
            name="logits",
            marker=dict(color=_PALETTE[0]),
        )
    )
    fig.add_vline(x=0.0, line=dict(color=_PALETTE[1], dash="dash"))
    fig.update_xaxes(title="logit of the IS winner's OOS rank (< 0: below the median)")
    fig.update_yaxes(title="combinations")
    return fig


def degradation_figure(is_perf: Sequence[float], oos_perf: Sequence[float]) -> go.Figure | None:
    """In-sample vs out-of-sample performance of the CSCV winner across combinations, with the
    least-squares line (a negative slope is performance degradation)."""
    x = np.asarray([np.nan if v is None else v for v in is_perf], dtype=float)
    y = np.asarray([np.nan if v is None else v for v in oos_perf], dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return None
    x, y = x[ok], y[ok]
    fig = _fig(title="Performance degradation (CSCV)", height=320)
    fig.add_trace(_dots(x, y, "combinations", size=5, color=_PALETTE[0], opacity=0.6))
    if np.ptp(x) > 0:
        slope, intercept = np.polyfit(x, y, 1)
        xx = np.array([x.min(), x.max()])
        fig.add_trace(
            go.Scatter(
                x=xx,
                y=intercept + slope * xx,
                mode="lines",
                name=f"fit: slope {slope:.2f}",
                line=dict(color=_PALETTE[1]),
            )
        )
    fig.update_xaxes(title="in-sample Sharpe of the IS winner")
    fig.update_yaxes(title="out-of-sample Sharpe")
    return fig


def stability_figure(grid: Mapping[str, Any] | None) -> go.Figure | None:
    """Heatmap of the ranking metric over the neighbourhood of the champion's parameters
    (two parameters varied, others fixed); the champion is marked."""
    if not grid or not grid.get("values"):
        return None
    z = np.array([[np.nan if v is None else v for v in row] for row in grid["values"]], float)
    if not np.isfinite(z).any():
        return None
    xs, ys = grid["x_values"], grid["y_values"]
    fig = _fig(
        title=f"Parameter stability: {grid.get('metric', '')} around the champion "
        f"({grid['x']} x {grid['y']})",
        height=400,
    )
    fig.add_trace(
        go.Heatmap(
            x=[str(v) for v in xs],
            y=[str(v) for v in ys],
            z=z,
            colorscale="RdYlGn",
            colorbar=dict(title=grid.get("metric", "")),
            hoverongaps=False,
        )
    )
    if grid.get("center") is not None:
        cx, cy = grid["center"]
        fig.add_trace(_dots([str(cx)], [str(cy)], "champion", symbol="x", size=14, color="black"))
    fig.update_xaxes(title=grid["x"], type="category")
    fig.update_yaxes(title=grid["y"], type="category")
    return fig


def _dots(x: Any, y: Any, name: str, **marker: Any) -> go.Scatter:
    """A scatter trace of markers only (``marker``: plotly's marker settings)."""
    return go.Scatter(x=x, y=y, mode="markers", name=name, marker=marker)
