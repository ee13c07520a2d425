"""The "what we found" HTML section of an exploration (reused by the run report).

:func:`render_explore_section` returns an HTML fragment: headline numbers, the top features, the
statistical tests, suggestions, the audit findings table and four plotly figures (rank IC by
horizon, the correlation clustermap, PCA explained variance, audit counts). The fragment does not
carry plotly.js itself unless asked (``include_plotlyjs=True``): a page embedding several
sections loads it once. :func:`render_explore_page` wraps the section in a complete page with
plotly.js inlined, so ``explore.html`` opens offline.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from research.explore.pipeline import ExplorationResult

__all__ = ["render_explore_section", "render_explore_page"]

_TOP_IC = 12  # features drawn in the IC-by-horizon figure
_MAX_FINDINGS = 200  # audit rows shown

_CSS = """
.explore-section { font-family: system-ui, sans-serif; color: #222; }
.explore-section h2 { border-bottom: 2px solid #444; padding-bottom: 4px; }
.explore-section table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
.explore-section th, .explore-section td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
.explore-section th { background: #f0f0f0; }
.explore-section td.l, .explore-section th.l { text-align: left; }
.explore-section .cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 8px 0 16px; }
.explore-section .card { border: 1px solid #ccc; border-radius: 6px; padding: 8px 14px; min-width: 120px; }
.explore-section .card b { display: block; font-size: 20px; }
.explore-section .warn { color: #a33; }
.explore-section .note { color: #555; font-size: 13px; }
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def _num(x: Any, fmt: str = ".4g") -> str:
    if x is None:
        return "-"
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    try:
        v = float(x)
    except (TypeError, ValueError):
        return _e(x)
    return "-" if not math.isfinite(v) else format(v, fmt)


def _table(df: pd.DataFrame, left: tuple[str, ...] = (), fmt: dict[str, str] | None = None) -> str:
    fmt = fmt or {}
    cols = list(df.columns)
    head = "".join(f'<th class="{"l" if c in left else ""}">{_e(c)}</th>' for c in cols)
    body = []
    for _, row in df.iterrows():
        cells = []
        for c in cols:
            v = row[c]
            text = _e(v) if c in left or isinstance(v, str) else _num(v, fmt.get(c, ".4g"))
            if isinstance(v, pd.Timestamp):
                text = _e(v.isoformat())
            cells.append(f'<td class="{"l" if c in left else ""}">{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _fig_html(fig: Any, include_plotlyjs: bool) -> str:
    import plotly.io as pio

    return pio.to_html(
        fig, full_html=False, include_plotlyjs=include_plotlyjs, config={"displaylogo": False}
    )


# --------------------------------------------------------------------------- figures


def _ic_figure(result: ExplorationResult) -> Any:
    import plotly.graph_objects as go

    table = result.screening.table
    top = list(result.screening.scores.index[:_TOP_IC])
    fig = go.Figure()
    for f in top:
        sub = table.loc[f]
        sig = sub["significant"].to_numpy()
        fig.add_trace(
            go.Scatter(
                x=[str(h) for h in sub.index],
                y=sub["rank_ic"],
                mode="lines+markers",
                name=f,
                marker={"symbol": ["circle" if s else "circle-open" for s in sig], "size": 9},
                hovertemplate=f"{f}<br>horizon %{{x}}<br>rank IC %{{y:.4f}}<extra></extra>",
            )
        )
    fig.update_layout(
        title="Rank IC by horizon (train window; filled = significant after BH)",
        xaxis_title="horizon (bars)",
        yaxis_title="rank IC",
        height=420,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
    )
    return fig


def _corr_figure(result: ExplorationResult) -> Any:
    import plotly.graph_objects as go

    corr = result.screening.corr
    fig = go.Figure(
        go.Heatmap(
            z=corr.to_numpy(),
            x=list(corr.columns),
            y=list(corr.index),
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            reversescale=True,
            colorbar={"title": "rank corr"},
        )
    )
    side = max(420, 14 * len(corr) + 160)
    fig.update_layout(
        title="Rank correlation of the best features, ordered by cluster",
        height=side,
        margin={"l": 180, "r": 20, "t": 50, "b": 160},
        yaxis={"autorange": "reversed"},
    )
    return fig


def _pca_figure(result: ExplorationResult) -> Any:
    import plotly.graph_objects as go

    ratio = np.asarray(result.screening.pca.get("explained_variance_ratio", []), dtype=float)
    k = np.arange(1, ratio.size + 1)
    fig = go.Figure()
    fig.add_trace(go.Bar(x=k, y=ratio, name="explained variance ratio"))
    fig.add_trace(go.Scatter(x=k, y=np.cumsum(ratio), name="cumulative", mode="lines+markers"))
    fig.update_layout(
        title=f"PCA of the {ratio.size} BH survivors (rank correlation)",
        xaxis_title="component",
        yaxis_title="share of variance",
        yaxis_range=[0, 1.05],
        height=360,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
    )
    return fig


def _audit_figure(result: ExplorationResult) -> Any:
    import plotly.graph_objects as go

    counts = result.audit.summary.get("counts", {})
    fig = go.Figure(go.Bar(x=list(counts), y=list(counts.values())))
    fig.update_layout(
        title="Audit findings by check", height=300, margin={"l": 60, "r": 20, "t": 50, "b": 60}
    )
    return fig


# --------------------------------------------------------------------------- sections


def _cards(result: ExplorationResult) -> str:
    f = result.findings
    sc = f["screening"]
    items = [
        ("bars", f["data"]["n_bars"]),
        ("train bars", f["train"]["n_bars"]),
        ("features screened", f["features"]["n_screened"]),
        ("tests (features x horizons)", sc["n_tests"]),
        (f"BH survivors (FDR {sc['fdr']})", sc["n_survivors"]),
        ("selected", sc["n_selected"]),
        ("audit findings", sum(result.audit.summary.get("counts", {}).values())),
    ]
    cards = "".join(f'<div class="card">{_e(k)}<b>{_num(v)}</b></div>' for k, v in items)
    return f'<div class="cards">{cards}</div>'


def _top_table(result: ExplorationResult) -> str:
    scores = result.screening.scores.head(25).copy()
    table = result.screening.table
    mi, imp = [], []
    for f, row in scores.iterrows():
        r = table.loc[(f, int(row["best_horizon"]))]
        mi.append(r["mutual_info"])
        imp.append(r["lgbm_importance"])
    df = pd.DataFrame(
        {
            "feature": scores.index,
            "score (-log10 p)": scores["score"].to_numpy(),
            "best horizon": scores["best_horizon"].to_numpy(),
            "rank IC": scores["rank_ic"].to_numpy(),
            "IC IR": scores["ic_ir"].to_numpy(),
            "MI": mi,
            "LGBM gain": imp,
            "selected": scores["selected"].to_numpy(),
            "note": scores["reason"].to_numpy(),
        }
    )
    return _table(
        df,
        left=("feature", "note"),
        fmt={"score (-log10 p)": ".2f", "rank IC": ".4f", "IC IR": ".2f"},
    )


def _tests_block(result: ExplorationResult) -> str:
    t = result.findings["tests"]
    r = t["returns"]
    st = t["stationarity"]
    lb = t["ljung_box"]
    rows = [
        ("returns: mean / std", f"{_num(r['mean'])} / {_num(r['std'])} (sample std)"),
        (
            "returns: skew / excess kurtosis",
            f"{_num(r['skew'], '.3f')} / {_num(r['excess_kurtosis'], '.3f')}",
        ),
        (
            "Ljung-Box p (returns)",
            ", ".join(f"lag {k}: {_num(v, '.3g')}" for k, v in lb["returns"].items()),
        ),
        (
            "Ljung-Box p (squared returns)",
            ", ".join(f"lag {k}: {_num(v, '.3g')}" for k, v in lb["squared_returns"].items()),
        ),
        (
            "ADF / KPSS log close",
            f"p={_num(st['log_close']['adf_pvalue'], '.3g')} / p={_num(st['log_close']['kpss_pvalue'], '.3g')}: {st['log_close']['verdict']}",
        ),
        (
            "ADF / KPSS returns",
            f"p={_num(st['returns']['adf_pvalue'], '.3g')} / p={_num(st['returns']['kpss_pvalue'], '.3g')}: {st['returns']['verdict']}",
        ),
        ("Hurst exponent (log close)", _num(t["hurst_log_close"], ".3f")),
        ("half-life of log close (bars)", _num(t["half_life_log_close"], ".4g")),
    ]
    if "variance_ratio" in t:
        rows.append(
            (
                "variance ratio (robust p)",
                ", ".join(
                    f"q={q}: {_num(v['vr'], '.3f')} (p={_num(v['pvalue'], '.2g')})"
                    for q, v in t["variance_ratio"].items()
                ),
            )
        )
    if "volatility_regime_share" in t:
        rows.append(
            (
                "volatility regimes (low/normal/high)",
                " / ".join(f"{v:.0%}" for v in t["volatility_regime_share"].values()),
            )
        )
    co = result.findings.get("cointegration")
    if co:
        hedge = ", ".join(f"{k}: {_num(v, '.4f')}" for k, v in co["hedge_ratios"].items())
        rows.append(
            (
                f"cointegration {' ~ '.join(co['symbols'])}",
                f"Engle-Granger p={_num(co['eg_pvalue'], '.3g')}, hedge {hedge}, "
                f"Johansen rank {co['johansen_rank']}, spread half-life {_num(co['half_life'], '.4g')} bars",
            )
        )
    df = pd.DataFrame(rows, columns=["test (train window)", "result"])
    return _table(df, left=("test (train window)", "result"))


def _suggest_block(result: ExplorationResult) -> str:
    s = result.suggestions
    applied = [t for t in s["transform"] if t["applied"] == "transformed"]
    suggested = [t for t in s["transform"] if t["applied"] == "suggested"]
    parts = [
        f"<p>{len(applied)} unit-root features replaced by a stationary version before screening; "
        f"{len(suggested)} with a conflicting ADF/KPSS verdict left as they are (z-scoring suggested); "
        f"{len(s['drop'])} features suggested for dropping.</p>"
    ]
    if applied:
        df = pd.DataFrame(applied)[["feature", "verdict", "transform", "new_name", "new_verdict"]]
        parts.append(_table(df.head(40), left=tuple(df.columns)))
    return "".join(parts)


def _audit_block(result: ExplorationResult) -> str:
    a = result.audit
    order = (a.findings["severity"] != "warning").to_numpy()  # warnings first, then info
    findings = a.findings.iloc[np.argsort(order, kind="stable")].head(_MAX_FINDINGS).copy()
    for c in ("start", "end"):
        findings[c] = findings[c].map(
            lambda x: x.isoformat() if isinstance(x, pd.Timestamp) else str(x)
        )
    note = (
        f'<p class="note">Frequency {_e(a.frequency)}, calendar {_e(a.calendar)}; '
        f"distribution shift compared {_e(a.summary.get('shift_comparison', ''))}.</p>"
    )
    if findings.empty:
        return note + "<p>No audit findings.</p>"
    more = len(a.findings) - len(findings)
    tail = f'<p class="note">{more} more rows in findings.json.</p>' if more > 0 else ""
    return note + _table(findings, left=("check", "severity", "start", "end", "detail")) + tail


def render_explore_section(result: ExplorationResult, *, include_plotlyjs: bool = False) -> str:
    """HTML fragment (a ``<section>``) presenting an exploration.

    Args:
        result: what :func:`~research.explore.explore` returned.
        include_plotlyjs: inline plotly.js in the fragment (only once per page; the page must
            otherwise load it before the section).

    Returns:
        The fragment as a string.
    """
    d = result.findings["data"]
    title = f"Exploration of {_e(d['symbol'] or d['source'] or 'the data')}"
    figs = [_ic_figure(result), _corr_figure(result), _pca_figure(result), _audit_figure(result)]
    fig_html = [_fig_html(f, include_plotlyjs and i == 0) for i, f in enumerate(figs)]
    selected = ", ".join(_e(f) for f in result.selected) or "none"
    return f"""<section class="explore-section">
<style>{_CSS}</style>
<h2>{title}</h2>
<p class="note">{_e(d["start"])} to {_e(d["end"])}; train window ends {_e(result.train_end.isoformat())}.
Screening reads the train window only (labels reaching past it are purged); p-values are
Benjamini-Hochberg adjusted over all {result.findings["screening"]["n_tests"]} feature x horizon tests.</p>
{_cards(result)}
<h3>Selected features</h3><p>{selected}</p>
{fig_html[0]}
<h3>Top features</h3>
{_top_table(result)}
{fig_html[1]}
{fig_html[2]}
<h3>Statistical tests</h3>
{_tests_block(result)}
<h3>Suggestions</h3>
{_suggest_block(result)}
<h3>Data audit</h3>
{fig_html[3]}
{_audit_block(result)}
</section>"""


def render_explore_page(result: ExplorationResult) -> str:
    """A complete, self-contained HTML page (plotly.js inlined once; opens offline)."""
    from plotly.offline import get_plotlyjs

    d = result.findings["data"]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Exploration: {_e(d["symbol"] or d["source"] or "")}</title>
<script type="text/javascript">{get_plotlyjs()}</script>
</head><body>
{render_explore_section(result, include_plotlyjs=False)}
</body></html>
"""
