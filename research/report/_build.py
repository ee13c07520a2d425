"""Assemble ``report.html`` from a saved run folder.

The report reads only the run folder (``results.json``, ``config.yaml`` and ``series/*.parquet``),
so ``research report RUN_DIR`` rebuilds it at any time. It is one self-contained file: inline CSS,
plotly.js inlined once in the head, every figure a ``<div>`` with its data; it opens offline.

Order: the verdict first (champion, its out-of-sample numbers, which gates passed), then the
leaderboard, equity vs buy-and-hold, drawdowns, per-fold in-sample vs out-of-sample, optimization
history, hyperparameter importance with the OLS table, contour and parallel-coordinate plots, the
Pareto front (several objectives), the overfitting panel, exploration findings and the champion's
trades.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["build_report", "render_report", "load_run_data"]

_GATE_LABELS = {
    "min_dsr": "DSR ≥ {t}",
    "max_pbo": "PBO ≤ {t}",
    "min_stability": "stability ≥ {t}",
    "min_trades": "trades ≥ {t}",
    "max_drawdown": "max drawdown ≥ {t}",
    "min_wfe": "WFE ≥ {t}",
    "max_spa_pvalue": "SPA p ≤ {t}",
}
_SHOWN_METRICS = (
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
_PERCENT = {"cagr", "total_return", "max_drawdown", "annual_volatility", "exposure"}


def load_run_data(run_dir: str | Path) -> dict[str, Any]:
    """Read what the report needs from a run folder: results, config and series."""
    from research.runs import load_results

    run_dir = Path(run_dir)
    results = load_results(run_dir)
    series_dir = run_dir / "series"

    def read(name: str) -> pd.DataFrame | None:
        f = series_dir / f"{name}.parquet"
        return pd.read_parquet(f) if f.is_file() else None

    config = {}
    if (run_dir / "config.yaml").is_file():
        import yaml

        config = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")) or {}
    return {
        "results": results,
        "config": config,
        "oos_returns": read("oos_returns"),
        "benchmark": read("benchmark"),
        "trials": read("trials"),
        "trades": read("champion_trades"),
    }


def build_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Render the report of ``run_dir`` and write it (default ``run_dir/report.html``)."""
    from research.runs import atomic_write_text

    run_dir = Path(run_dir)
    data = load_run_data(run_dir)
    text = render_report(data, run_dir=run_dir)
    target = Path(out) if out is not None else run_dir / "report.html"
    atomic_write_text(target, text)
    return target


def render_report(data: Mapping[str, Any], *, run_dir: str | Path = ".") -> str:
    """The report HTML of the data returned by :func:`load_run_data`."""
    import jinja2
    from plotly.offline import get_plotlyjs

    r = data["results"]
    cfg = data.get("config") or {}
    report_cfg = cfg.get("report") or {}
    title = report_cfg.get("title") or f"Research report: {r.get('experiment', '')}"
    ctx = _Ctx(data, report_cfg)
    sections = [
        ctx.verdict(),
        ctx.leaderboard(),
        ctx.equity(),
        ctx.folds(),
        ctx.history(),
        ctx.importance(),
        ctx.landscape(),
        ctx.pareto(),
        ctx.overfitting(),
        ctx.explore(),
        ctx.trades(),
        ctx.config_section(),
    ]
    sections = [s for s in sections if s is not None]
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("research.report", "."),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    env.filters["when"] = when
    template = env.get_template("template.html.j2")
    cv = r.get("code_version") or {}
    return template.render(
        title=title,
        r=_Attr(r),
        sections=sections,
        plotly_js=get_plotlyjs(),
        version=cv.get("package") or "",
        code_version=cv.get("git") or cv.get("package") or "unknown",
        run_dir=str(run_dir),
    )


class _Attr(dict):
    """Dict whose keys read as attributes in the template (missing keys give an empty string)."""

    def __getattr__(self, key: str) -> Any:
        v = self.get(key, "")
        return _Attr(v) if isinstance(v, Mapping) else v


# --------------------------------------------------------------------------------------------
# formatting helpers
# --------------------------------------------------------------------------------------------
def _e(x: Any) -> str:
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
        if metric in _PERCENT:
            return f"{v:.1%}"
        if metric in {"n_trades"}:
            return f"{v:,.0f}"
        return f"{v:.3f}" if abs(v) < 1000 else f"{v:,.0f}"
    return _e(v)


def when(text: Any) -> str:
    """An ISO timestamp shortened for reading: the date alone at midnight UTC."""
    s = str(text or "?")
    for tail in ("T00:00:00+00:00", "T00:00:00Z", " 00:00:00+00:00"):
        if s.endswith(tail):
            return s[: -len(tail)]
    return s.replace("+00:00", " UTC").replace("T", " ")


def _params(p: Mapping[str, Any] | None) -> str:
    if not p:
        return '<span class="na">–</span>'
    parts = []
    for k, v in p.items():
        v = f"{v:.4g}" if isinstance(v, float) else v
        parts.append(f"{k}={v}")
    return _e(", ".join(parts))


def _round(v: Any) -> Any:
    if isinstance(v, float):
        return float(f"{v:.4g}")
    if isinstance(v, Mapping):
        return {k: _round(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_round(x) for x in v]
    return v


def _gate_badge(name: str, g: Mapping[str, Any]) -> str:
    t, val = g.get("threshold"), g.get("value")
    if name == "max_drawdown":  # a drawdown is a negative fraction: -0.5 = 50% below the peak
        t = f"{-abs(t):.0%}" if isinstance(t, int | float) else t
        val_s = "n/a" if val is None else f"{val:.1%}"
    else:
        val_s = "n/a" if val is None else (f"{val:.3g}" if isinstance(val, float) else str(val))
    label = _GATE_LABELS.get(name, name + " {t}").format(t=t)
    passed = g.get("passed")
    cls = "na" if passed is None else ("pass" if passed else "fail")
    mark = "?" if passed is None else ("✓" if passed else "✗")
    return f'<span class="{cls}" title="value {val_s}">{mark} {_e(label)} ({_e(val_s)})</span>'


def _table(
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


def _plot(fig: Any, div_id: str) -> str:
    if fig is None:
        return ""
    return fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
        default_width="100%",
    ).replace("<div>", '<div class="plot">', 1)


# --------------------------------------------------------------------------------------------
# sections
# --------------------------------------------------------------------------------------------
class _Ctx:
    def __init__(self, data: Mapping[str, Any], report_cfg: Mapping[str, Any]) -> None:
        self.d = data
        self.r = data["results"]
        self.top_n = int(report_cfg.get("top_n", 25))
        self.max_trades = int(report_cfg.get("max_trades", 500))
        self.metric = self.r.get("ranking_metric", "sharpe_ratio")
        self.board = self.r.get("leaderboard") or []
        verdict = self.r.get("verdict") or {}
        self.champion = verdict.get("champion")
        self.best = self.champion or (self.board[0] if self.board else None)
        #: how the lead candidate is named in figures: only a gate-passing one is the champion
        self.lead = "champion" if self.champion else "best candidate, fails a gate"

    def _section(self, id_: str, title: str, html_: str, note: str = "", cls: str = "") -> dict:
        return {"id": id_, "title": title, "html": html_, "note": note, "cls": cls}

    # --- verdict --------------------------------------------------------------------------
    def verdict(self) -> dict:
        v = self.r.get("verdict") or {}
        passed = bool(v.get("passed"))
        msg = v.get("message") or ""
        c = self.best
        parts = [f'<div class="headline">{_e(msg)}</div>']
        if c:
            who = "Champion" if passed else "Best candidate (not picked: it fails a gate)"
            parts.append(
                f"<p><b>{who}:</b> {_e(c.get('candidate'))} — strategy <code>{_e(c.get('strategy'))}"
                f"</code>, optimizer <code>{_e(c.get('optimizer'))}</code>; parameters to trade now: "
                f'<span class="params">{_params(c.get("params"))}</span></p>'
            )
            m = c.get("oos_metrics") or {}
            kpis = "".join(
                f'<div class="kpi"><div class="v">{fmt(m.get(k), k)}</div>'
                f'<div class="k">OOS {k.replace("_", " ")}</div></div>'
                for k in ("sharpe_ratio", "cagr", "max_drawdown", "sortino_ratio", "n_trades")
                if k in m
            )
            stats = c.get("stats") or {}
            kpis += "".join(
                f'<div class="kpi"><div class="v">{fmt(stats.get(k))}</div>'
                f'<div class="k">{label}</div></div>'
                for k, label in (
                    ("dsr", "deflated Sharpe (prob.)"),
                    ("pbo", "PBO"),
                    ("stability", "stability"),
                    ("spa_pvalue", "SPA p-value"),
                )
                if k in stats
            )
            bh = (self.r.get("benchmark") or {}).get("oos_metrics") or {}
            if bh:
                kpis += (
                    f'<div class="kpi"><div class="v">{fmt(bh.get("sharpe_ratio"))}</div>'
                    f'<div class="k">buy-and-hold OOS Sharpe</div></div>'
                )
            parts.append(f'<div class="kpis">{kpis}</div>')
            gates = c.get("gates") or {}
            if gates:
                parts.append(
                    '<div class="gates"><b>Gates:</b> '
                    + "".join(_gate_badge(k, g) for k, g in gates.items())
                    + "</div>"
                )
        span = self.r.get("oos_span") or {}
        n_total = (self.r.get("overfitting") or {}).get("n_trials_total")
        note = (
            f"Out of sample = the stitched test windows of {len(self.r.get('folds') or [])} "
            f"walk-forward folds ({when(span.get('start'))} → {when(span.get('end'))}); "
            f"{n_total if n_total is not None else '?'} trials were tried in all, and the "
            "deflated Sharpe ratio accounts for every one of them."
        )
        return self._section(
            "verdict",
            "Verdict",
            "".join(parts),
            note,
            cls="verdict" + ("" if passed else " failed"),
        )

    # --- leaderboard ----------------------------------------------------------------------
    def leaderboard(self) -> dict | None:
        if not self.board:
            return None
        metrics = [
            m
            for m in _SHOWN_METRICS
            if any(m in (row.get("oos_metrics") or {}) for row in self.board)
        ]
        gate_names = list((self.board[0].get("gates") or {}).keys())
        headers = [
            "#",
            "candidate",
            *[m.replace("_", " ") for m in metrics],
            "DSR",
            "PBO",
            "stability",
            "SPA p",
            "gates",
            "parameters",
        ]
        rows = []
        for row in self.board[: self.top_n]:
            m = row.get("oos_metrics") or {}
            st = row.get("stats") or {}
            gates = row.get("gates") or {}
            failed = [g for g in gate_names if (gates.get(g) or {}).get("passed") is False]
            gate_txt = (
                '<span class="pass">all passed</span>'
                if row.get("passed")
                else '<span class="fail">fails ' + _e(", ".join(failed) or "?") + "</span>"
            )
            rows.append(
                [
                    str(row.get("rank", "")),
                    _e(row.get("candidate")),
                    *[fmt(m.get(k), k) for k in metrics],
                    fmt(st.get("dsr")),
                    fmt(st.get("pbo")),
                    fmt(st.get("stability")),
                    fmt(st.get("spa_pvalue")),
                    gate_txt,
                    f'<span class="params">{_params(row.get("params"))}</span>',
                ]
            )
        note = (
            f"Candidates ranked by out-of-sample {self.metric}. A walk-forward candidate "
            "re-picks its parameters on each fold's training window and is judged on the next "
            "test window only; the parameters shown are the last fold's pick. A candidate "
            "that fails a gate is never picked as champion."
        )
        if len(self.board) > self.top_n:
            note += f" Showing {self.top_n} of {len(self.board)} (leaderboard.csv has all)."
        return self._section(
            "leaderboard",
            "Leaderboard",
            _table(headers, rows, left=(1, len(headers) - 2, len(headers) - 1), scroll=True),
            note,
        )

    # --- equity & drawdowns ---------------------------------------------------------------
    def equity(self) -> dict | None:
        from research.report import _figures as F

        oos = self.d.get("oos_returns")
        bench = self.d.get("benchmark")
        if oos is None or oos.empty:
            return None
        b = bench.iloc[:, 0] if bench is not None and not bench.empty else None
        order = [row["candidate"] for row in self.board if row.get("candidate") in oos.columns]
        highlight = order[:5]
        champ = oos[highlight[0]] if highlight else None
        html_ = _plot(F.equity_figure(oos, b, highlight, self.lead), "fig-equity")
        html_ += _plot(F.drawdown_figure(champ, b, self.lead), "fig-drawdown")
        return self._section(
            "equity",
            "Out-of-sample equity and drawdowns",
            html_,
            "The top candidates' stitched out-of-sample returns against buy-and-hold of the "
            "same instrument over the same span, after fees and slippage.",
        )

    # --- folds ----------------------------------------------------------------------------
    def folds(self) -> dict | None:
        from research.report import _figures as F

        searches = self.r.get("searches") or []
        folds = {f["number"]: f for f in self.r.get("folds") or []}
        if not searches:
            return None
        obj = (self.r.get("objectives") or [{"metric": self.metric}])[0]["metric"]
        rows = []
        for s in searches:
            for f in s.get("folds") or []:
                info = folds.get(f["number"], {})
                rows.append(
                    [
                        _e(s["key"]),
                        str(f["number"]),
                        _e(f"{info.get('train_start', '?')} → {info.get('train_end', '?')}"),
                        _e(f"{info.get('test_start', '?')} → {info.get('test_end', '?')}"),
                        fmt((f.get("is") or {}).get(obj), obj),
                        fmt((f.get("oos") or {}).get(obj), obj),
                        fmt((f.get("oos") or {}).get("max_drawdown"), "max_drawdown"),
                        fmt((f.get("oos") or {}).get("n_trades"), "n_trades"),
                        fmt(f.get("wfe")),
                        f'<span class="params">{_params(f.get("params"))}</span>',
                    ]
                )
        headers = [
            "search",
            "fold",
            "train",
            "test",
            f"IS {obj}",
            f"OOS {obj}",
            "OOS max DD",
            "OOS trades",
            "WFE",
            "pick",
        ]
        html_ = _plot(F.fold_figure(searches, obj), "fig-folds")
        html_ += _table(headers, rows, left=(0, 2, 3, 9), scroll=True)
        summary = [
            [
                _e(s["key"]),
                fmt((s.get("oos_metrics") or {}).get(obj), obj),
                fmt(s.get("wfe")),
                str((s.get("counts") or {}).get("complete", "")),
                str((s.get("counts") or {}).get("pruned", "")),
                str((s.get("counts") or {}).get("failed", "")),
            ]
            for s in searches
        ]
        html_ += "<h3>Searches</h3>" + _table(
            ["search", f"stitched OOS {obj}", "WFE", "trials complete", "pruned", "failed"], summary
        )
        return self._section(
            "folds",
            "Walk-forward: in-sample vs out-of-sample per fold",
            html_,
            "Each fold's pick (best in-sample trial) and how it did on the following test "
            "window. Walk-forward efficiency (WFE) = OOS / IS of the objective; far below 1 "
            "means the in-sample numbers were mostly fit.",
        )

    # --- optimization history -------------------------------------------------------------
    def history(self) -> dict | None:
        from research.report import _figures as F

        trials = self.d.get("trials")
        if trials is None or trials.empty:
            return None
        obj = (self.r.get("objectives") or [{"metric": self.metric}])[0]["metric"]
        html_ = "".join(
            _plot(F.history_figure(trials, s["key"], obj), f"fig-history-{i}")
            for i, s in enumerate(self.r.get("searches") or [])
        )
        return (
            self._section(
                "history",
                "Optimization history",
                html_,
                "Every completed trial's in-sample objective, per fold, with the best so far.",
            )
            if html_
            else None
        )

    # --- importance -----------------------------------------------------------------------
    def importance(self) -> dict | None:
        from research.report import _figures as F

        imp = self.r.get("importance") or {}
        if not imp:
            return None
        html_ = _plot(F.importance_figure(imp), "fig-importance")
        for strat, info in imp.items():
            ols = info.get("ols") or []
            if ols:
                rows = [
                    [
                        _e(t.get("term")),
                        fmt(t.get("coef")),
                        fmt(t.get("std_err")),
                        fmt(t.get("t")),
                        fmt(t.get("p_value")),
                        '<span class="pass">yes</span>' if t.get("significant") else "no",
                    ]
                    for t in ols
                ]
                r2 = info.get("r2")
                fit = "" if r2 is None else f" (R² = {r2:.2f}, n = {info.get('n')})"
                html_ += f"<h3>{_e(strat)}: OLS of the objective on the hyperparameters{fit}</h3>"
                html_ += _table(
                    ["term", "coefficient", "std. error", "t", "p-value", "significant"], rows
                )
            sugg = info.get("suggested_space")
            if sugg:
                html_ += (
                    f"<p>Suggested space for the next run of <code>{_e(strat)}</code>: "
                    f'<span class="params">{_e(json.dumps(_round(sugg)))}</span></p>'
                )
        return self._section(
            "importance",
            "Which hyperparameters matter",
            html_,
            "fANOVA importance (Optuna) and an OLS regression of the trials' objective on the "
            "standardised hyperparameters, with standard errors. Parameters that matter little "
            "can be fixed; the suggested space narrows the rest around the best trials.",
        )

    # --- contour & parallel ---------------------------------------------------------------
    def landscape(self) -> dict | None:
        from research.report import _figures as F

        trials = self.d.get("trials")
        if trials is None or trials.empty:
            return None
        obj = (self.r.get("objectives") or [{"metric": self.metric}])[0]["metric"]
        imp = self.r.get("importance") or {}
        html_ = ""
        for i, strat in enumerate(sorted(trials["strategy"].unique())):
            ranked = sorted((imp.get(strat) or {}).get("fanova", {}).items(), key=lambda kv: -kv[1])
            names = [k for k, _ in ranked]
            if len(names) < 2:
                t = trials[trials["strategy"] == strat]
                params = json.loads(t["params"].iloc[0]) if len(t) else {}
                names = [
                    k
                    for k, v in params.items()
                    if isinstance(v, int | float) and not isinstance(v, bool)
                ]
            if len(names) >= 2:
                html_ += _plot(
                    F.contour_figure(trials, strat, names[0], names[1], obj), f"fig-contour-{i}"
                )
            html_ += _plot(F.parallel_figure(trials, strat, obj), f"fig-parallel-{i}")
        return (
            self._section(
                "landscape",
                "Search landscape",
                html_,
                "Contours of the in-sample objective over the two most important hyperparameters, "
                "and parallel coordinates of every trial. A broad plateau is more trustworthy than "
                "a narrow spike.",
            )
            if html_
            else None
        )

    # --- pareto ---------------------------------------------------------------------------
    def pareto(self) -> dict | None:
        from research.report import _figures as F

        objectives = self.r.get("objectives") or []
        trials = self.d.get("trials")
        if len(objectives) < 2 or trials is None:
            return None
        html_ = _plot(F.pareto_figure(trials, objectives), "fig-pareto")
        return (
            self._section(
                "pareto",
                "Pareto front",
                html_,
                "Several objectives: trials that no other trial beats on every objective at once.",
            )
            if html_
            else None
        )

    # --- overfitting ----------------------------------------------------------------------
    def overfitting(self) -> dict | None:
        from research.report import _figures as F

        o = self.r.get("overfitting") or {}
        if not o:
            return None
        parts = []
        n_total, n_eff = o.get("n_trials_total"), o.get("effective_n_trials")
        parts.append(
            f"<p>Trials tried: <b>{fmt(n_total)}</b> (effective number from their correlation "
            f"clusters: <b>{fmt(n_eff)}</b>); variance of their per-period Sharpe ratios: "
            f"{fmt(o.get('trials_sharpe_variance'))}; expected maximum Sharpe of that many "
            f"unskilled trials: {fmt(o.get('expected_max_sharpe'))} per period.</p>"
        )
        count = o.get("dsr_trials") or {}
        if count.get("n_trials") is not None:  # gates.dsr_trials (issue 12, docs/gates.md)
            budget = (count.get("budget") or {}).get("sentence")
            parts.append(
                f"<p>The deflated Sharpe ratio counts {_e(count.get('note'))}: the bar to beat "
                f"is {fmt(count.get('expected_max_sharpe'))} per period"
                + (f"; {_e(budget)}" if budget else "")
                + ".</p>"
            )
        rows = []
        for row in self.board[: self.top_n]:
            st = row.get("stats") or {}
            rows.append(
                [
                    _e(row.get("candidate")),
                    fmt(st.get("sharpe_per_period")),
                    fmt(st.get("psr")),
                    fmt(st.get("dsr")),
                    fmt(st.get("pbo")),
                    fmt(st.get("stability")),
                    fmt(st.get("wfe")),
                    fmt(st.get("spa_pvalue")),
                ]
            )
        if rows:
            parts.append(
                _table(
                    [
                        "candidate",
                        "Sharpe / period",
                        "PSR",
                        "DSR",
                        "PBO",
                        "stability",
                        "WFE",
                        "SPA p",
                    ],
                    rows,
                    left=(0,),
                )
            )
        pbo = o.get("pbo") or {}
        order = [row.get("candidate") for row in self.board if row.get("candidate") in pbo]
        order += [k for k in pbo if k not in order]
        shown = [k for k in order if isinstance(pbo[k], Mapping) and pbo[k].get("logits")][:3]
        for i, key in enumerate(shown):
            p = pbo[key]
            parts.append(
                f"<h3>PBO of {_e(key)}: {fmt(p.get('pbo'))} "
                f"({p.get('n_trials', '?')} trials, {p.get('n_partitions', '?')} "
                f"partitions, {p.get('n_logits') or len(p.get('logits') or [])} "
                "combinations)</h3>"
            )
            parts.append(
                '<div class="pair">'
                + _plot(F.pbo_histogram(p.get("logits") or [], p.get("pbo")), f"fig-pbo-{i}")
                + _plot(
                    F.degradation_figure(p.get("is_perf") or [], p.get("oos_perf") or []),
                    f"fig-degradation-{i}",
                )
                + "</div>"
            )
        if len(order) > len(shown):
            parts.append(
                f'<p class="note">PBO plots of the top {len(shown)} candidates; every '
                "candidate's PBO is in the table above and in results.json.</p>"
            )
        stab = o.get("stability") or {}
        parts.append(_plot(F.stability_figure(stab.get("grid")), "fig-stability"))
        spa = o.get("spa") or {}
        if spa:
            rows = [
                [
                    _e(k),
                    fmt(v.get("spa_pvalue")),
                    fmt(v.get("reality_check_pvalue")),
                    str(v.get("n_models", "")),
                ]
                for k, v in spa.items()
                if isinstance(v, Mapping)
            ]
            if rows:
                parts.append("<h3>Superior predictive ability vs buy-and-hold</h3>")
                parts.append(
                    _table(
                        ["models", "Hansen SPA p-value", "White RC p-value", "models tested"], rows
                    )
                )
        return self._section(
            "overfitting",
            "Overfitting checks",
            "".join(parts),
            "Deflated Sharpe ratio: probability that the true Sharpe exceeds what the best of "
            "this many unskilled trials would show. PBO: how often the in-sample best ranks "
            "below the median out of sample across combinatorially symmetric splits. "
            "Stability: the neighbourhood's performance relative to the pick's. SPA: does any "
            "candidate beat buy-and-hold after accounting for the search (Hansen 2005).",
        )

    # --- exploration ----------------------------------------------------------------------
    def explore(self) -> dict | None:
        e = self.r.get("explore")
        if not e:
            return None
        summary = e.get("summary") or {}
        rows = [[_e(k), _e(v if isinstance(v, str) else json.dumps(v))] for k, v in summary.items()]
        html_ = _table(["finding", "value"], rows, left=(0, 1))
        sel = e.get("selected") or []
        if sel:
            html_ += (
                f"<p>Features given to the strategies that use them ({len(sel)}): "
                f'<span class="params">{_e(", ".join(sel))}</span></p>'
            )
        html_ += e.get("html") or ""
        return self._section(
            "explore",
            "What the exploration found",
            html_,
            "Features, statistical tests, data audit and screening. Screening and selection "
            "read the first walk-forward training window only, so no selected feature has seen "
            "an out-of-sample bar.",
        )

    # --- trades ---------------------------------------------------------------------------
    def trades(self) -> dict | None:
        t = self.d.get("trades")
        if t is None or t.empty or self.best is None:
            return None
        shown = t.head(self.max_trades)
        cols = list(shown.columns)
        rows = []
        for _, row in shown.iterrows():
            cells = []
            for c in cols:
                v = row[c]
                if isinstance(v, pd.Timestamp):
                    cells.append(
                        _e(
                            v.strftime("%Y-%m-%d %H:%M")
                            if v.hour or v.minute
                            else v.strftime("%Y-%m-%d")
                        )
                    )
                elif isinstance(v, float) and c.lower() in {"return", "return_pct"}:
                    cells.append(fmt(v, "total_return"))
                elif isinstance(v, float):
                    cells.append(f"{v:,.2f}" if math.isfinite(v) else fmt(None))
                else:
                    cells.append(_e(v))
            rows.append(cells)
        note = (
            f"Trades of {self.best.get('candidate')} over the out-of-sample span ({len(t)} in all"
        ).rstrip() + (f", first {self.max_trades} shown)" if len(t) > self.max_trades else ")")
        return self._section(
            "trades",
            f"Trades of the {self.lead}",
            _table([_e(c) for c in cols], rows, left=(0, 1), scroll=True),
            note,
        )

    # --- config ---------------------------------------------------------------------------
    def config_section(self) -> dict | None:
        cfg = self.d.get("config")
        if not cfg:
            return None
        import yaml

        text = yaml.safe_dump(cfg, sort_keys=False)
        rec = self.r.get("code_version") or {}
        timings = self.r.get("timings") or {}
        extra = ", ".join(
            f"{k} {v:.1f} s" for k, v in timings.items() if isinstance(v, int | float)
        )
        return self._section(
            "config",
            "Resolved configuration",
            f"<pre style='white-space:pre-wrap;font-size:12px'>{_e(text)}</pre>",
            f"Code version {rec.get('git') or '-'} (package {rec.get('package') or '-'}); "
            f"data fingerprint {(self.r.get('data') or {}).get('fingerprint', '-')}"
            + (f"; timings: {extra}" if extra else ""),
        )
