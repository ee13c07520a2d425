"""Report sections about the search and its by-products: importance, landscape, Pareto front,
exploration, trades, config (each method returns one section dict or None)."""

from __future__ import annotations

import json
from typing import Any

from backtest.tearsheet import trades_table_html
from research.report._context import SectionsBase
from research.report._html import (
    esc,
    fmt,
    html_table,
    plot_div,
    round_sig,
)

__all__ = ["DetailSections", "exit_reason_table"]


class DetailSections(SectionsBase):
    """Mixin of :class:`research.report._build.ReportContext`."""

    # --- importance -----------------------------------------------------------------------
    def importance(self) -> dict | None:
        from research.report import _figures as F

        imp = self.r.get("importance") or {}
        if not imp:
            return None
        html_ = plot_div(F.importance_figure(imp), "fig-importance")
        for strat, info in imp.items():
            ols = info.get("ols") or []
            if ols:
                rows = [
                    [
                        esc(t.get("term")),
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
                html_ += f"<h3>{esc(strat)}: OLS of the objective on the hyperparameters{fit}</h3>"
                html_ += html_table(
                    ["term", "coefficient", "std. error", "t", "p-value", "significant"], rows
                )
            sugg = info.get("suggested_space")
            if sugg:
                html_ += (
                    f"<p>Suggested space for the next run of <code>{esc(strat)}</code>: "
                    f'<span class="params">{esc(json.dumps(round_sig(sugg)))}</span></p>'
                )
        return self.section(
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

        trials = self.saved_trials()
        if trials is None:
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
                html_ += plot_div(
                    F.contour_figure(trials, strat, names[0], names[1], obj), f"fig-contour-{i}"
                )
            html_ += plot_div(F.parallel_figure(trials, strat, obj), f"fig-parallel-{i}")
        return self.section_if_any(
            "landscape",
            "Search landscape",
            html_,
            "Contours of the in-sample objective over the two most important hyperparameters, "
            "and parallel coordinates of every trial. A broad plateau is more trustworthy than "
            "a narrow spike.",
        )

    # --- pareto ---------------------------------------------------------------------------
    def pareto(self) -> dict | None:
        from research.report import _figures as F

        objectives = self.r.get("objectives") or []
        trials = self.d.get("trials")
        if len(objectives) < 2 or trials is None:
            return None
        html_ = plot_div(F.pareto_figure(trials, objectives), "fig-pareto")
        return self.section_if_any(
            "pareto",
            "Pareto front",
            html_,
            "Several objectives: trials that no other trial beats on every objective at once.",
        )

    # --- exploration ----------------------------------------------------------------------
    def explore(self) -> dict | None:
        e = self.r.get("explore")
        if not e:
            return None
        summary = e.get("summary") or {}
        rows = [
            [esc(k), esc(v if isinstance(v, str) else json.dumps(v))] for k, v in summary.items()
        ]
        html_ = html_table(["finding", "value"], rows, left=(0, 1))
        sel = e.get("selected") or []
        if sel:
            html_ += (
                f"<p>Features given to the strategies that use them ({len(sel)}): "
                f'<span class="params">{esc(", ".join(sel))}</span></p>'
            )
        html_ += e.get("html") or ""
        html_ += cross_section_table(e.get("cross_section"))
        return self.section(
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
        if t is None or t.empty or self.run.verdict.lead is None:
            return None
        note = f"Trades of {self.run.verdict.lead.candidate} over the out-of-sample span ({len(t)} in all)."
        reasons = exit_reason_table(t)
        if reasons:
            note += (
                " Exit reasons: signal (the strategy's target), stop (stop-loss, ATR or break-even"
                " stop), target, trail, time, margin; stops and targets fill inside the bar."
            )
        return self.section(
            "trades",
            f"Trades of the {self.lead}",
            reasons + trades_table_html(t, limit=self.max_trades),
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
        return self.section(
            "config",
            "Resolved configuration",
            f"<pre style='white-space:pre-wrap;font-size:12px'>{esc(text)}</pre>",
            f"Code version {rec.get('git') or '-'} (package {rec.get('package') or '-'}); "
            f"data fingerprint {(self.r.get('data') or {}).get('fingerprint', '-')}"
            + (f"; timings: {extra}" if extra else ""),
        )


def cross_section_table(records: Any) -> str:
    """A universe run's cross-sectional rank ICs (``explore.cross_section``) as a table."""
    if not records:
        return ""
    cols = ["factor", "horizon", "mean_ic", "t_stat", "p_adj", "ic_ir", "hit_rate", "n_dates"]
    rows = [
        [esc(r["factor"]), str(int(r["horizon"]))]
        + [fmt(r[c]) for c in cols[2:7]]
        + [str(int(r["n_dates"])), "yes" if r["significant"] else "no"]
        for r in records
    ]
    head = "<h3>Cross-sectional rank ICs across the symbols (first training window)</h3>"
    return head + html_table([*cols, "significant"], rows)


def exit_reason_table(trades: Any) -> str:
    """HTML table of the closed trades by exit reason: count, share, mean return, winners
    (empty when the trades carry no ``exit_reason`` or every trade closed on the signal, i.e.
    without an exit layer)."""
    if "exit_reason" not in trades.columns:
        return ""
    closed = trades[trades["exit_reason"].notna() & (trades["exit_reason"].astype(str) != "")]
    if closed.empty or set(closed["exit_reason"].astype(str)) == {"signal"}:
        return ""
    rows = []
    for reason, grp in closed.groupby(closed["exit_reason"].astype(str), sort=False):
        ret = grp["return"].astype(float) if "return" in grp else None
        rows.append(
            [
                esc(reason),
                str(len(grp)),
                f"{len(grp) / len(closed):.0%}",
                "-" if ret is None else f"{ret.mean():.2%}",
                "-" if ret is None else f"{(ret > 0).mean():.0%}",
            ]
        )
    rows.sort(key=lambda r: -int(r[1]))
    head = ["exit reason", "trades", "share", "mean return", "winners"]
    return "<h3>Exit reasons</h3>" + html_table(head, rows)
