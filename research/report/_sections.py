"""Report sections about the outcome: verdict, leaderboard, equity, folds, history,
overfitting (each method returns one section dict or None)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from research.report._context import SectionsBase
from research.report._html import (
    SHOWN_METRICS,
    esc,
    fmt,
    gate_badge,
    html_table,
    params_html,
    plot_div,
    when,
)

__all__ = ["OutcomeSections", "lookahead_note"]


class OutcomeSections(SectionsBase):
    """Mixin of :class:`research.report._build.ReportContext`."""

    # --- verdict --------------------------------------------------------------------------
    def verdict(self) -> dict:
        v = self.run.verdict
        c = v.lead
        parts = [f'<div class="headline">{esc(v.message)}</div>']
        if c is not None:
            who = "Champion" if v.passed else "Best candidate (not picked: it fails a gate)"
            parts.append(
                f"<p><b>{who}:</b> {esc(c.candidate)} — strategy <code>{esc(c.strategy)}"
                f"</code>, optimizer <code>{esc(c.optimizer)}</code>; parameters to trade now: "
                f'<span class="params">{params_html(c.params)}</span></p>'
            )
            m = c.oos_metrics
            kpis = "".join(
                f'<div class="kpi"><div class="v">{fmt(m.get(k), k)}</div>'
                f'<div class="k">OOS {k.replace("_", " ")}</div></div>'
                for k in ("sharpe_ratio", "cagr", "max_drawdown", "sortino_ratio", "n_trades")
                if k in m
            )
            kpis += "".join(
                f'<div class="kpi"><div class="v">{fmt(getattr(c.stats, k))}</div>'
                f'<div class="k">{label}</div></div>'
                for k, label in (
                    ("dsr", "deflated Sharpe (prob.)"),
                    ("pbo", "PBO"),
                    ("stability", "stability"),
                    ("spa_pvalue", "SPA p-value"),
                )
            )
            bh = self.run.benchmark.oos_metrics
            if bh:
                kpis += (
                    f'<div class="kpi"><div class="v">{fmt(bh.get("sharpe_ratio"))}</div>'
                    f'<div class="k">buy-and-hold OOS Sharpe</div></div>'
                )
            parts.append(f'<div class="kpis">{kpis}</div>')
            if c.gates:
                parts.append(
                    '<div class="gates"><b>Gates:</b> '
                    + "".join(gate_badge(k, asdict(g)) for k, g in c.gates.items())
                    + "</div>"
                )
            if not c.passed and c.explanations:
                parts.append(
                    "<p><b>Why it is not champion</b> (what would have passed):</p><ul>"
                    + "".join(f"<li>{esc(why)}</li>" for why in c.explanations)
                    + "</ul>"
                )
        parts += self._calibration()
        span = self.run.oos_span
        n_total = self.run.overfitting.get("n_trials_total")
        counted = (self.run.overfitting.get("dsr_trials") or {}).get("note")
        note = (
            f"Out of sample = the stitched test windows of {len(self.run.folds)} "
            f"walk-forward folds ({when(span.start)} → {when(span.end)}); "
            f"{n_total if n_total is not None else '?'} trials were tried in all; the "
            + (
                f"deflated Sharpe ratio counts {counted}."
                if counted
                else "deflated Sharpe ratio accounts for every one of them."
            )
        )
        note += lookahead_note(self.run.lookahead)
        return self.section(
            "verdict",
            "Verdict",
            "".join(parts),
            note,
            cls="verdict" + ("" if v.passed else " failed"),
        )

    def _calibration(self) -> list[str]:
        """The experiment's calibration (``research calibrate``), when one sits beside the run;
        flagged when it measured other gates than this run's."""
        cal = self.d.get("calibration") or {}
        if not cal.get("sentence"):
            return []
        measured = cal.get("gates") or {}
        same = all(measured.get(k) == v for k, v in self.run.gates.items() if k in measured)
        caveat = "" if same else " (measured with other gates than this run's)"
        return [f'<p class="calibration"><b>Calibration:</b> {esc(cal["sentence"])}{caveat}.</p>']

    # --- leaderboard ----------------------------------------------------------------------
    def leaderboard(self) -> dict | None:
        board = self.run.leaderboard
        if not board:
            return None
        metrics = [m for m in SHOWN_METRICS if any(m in row.oos_metrics for row in board)]
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
        for row in board[: self.top_n]:
            gate_txt = (
                '<span class="pass">all passed</span>'
                if row.passed
                else '<span class="fail">fails ' + esc(", ".join(row.failed()) or "?") + "</span>"
            )
            st = row.stats
            rows.append(
                [
                    str(row.rank),
                    esc(row.candidate),
                    *[fmt(row.metric(k), k) for k in metrics],
                    fmt(st.dsr),
                    fmt(st.pbo),
                    fmt(st.stability),
                    fmt(st.spa_pvalue),
                    gate_txt,
                    f'<span class="params">{params_html(row.params)}</span>',
                ]
            )
        note = (
            f"Candidates ranked by out-of-sample {self.metric}. A walk-forward candidate "
            "re-picks its parameters on each fold's training window and is judged on the next "
            "test window only; the parameters shown are the last fold's pick. A candidate "
            "that fails a gate is never picked as champion."
        )
        if len(board) > self.top_n:
            note += f" Showing {self.top_n} of {len(board)} (leaderboard.csv has all)."
        return self.section(
            "leaderboard",
            "Leaderboard",
            html_table(headers, rows, left=(1, len(headers) - 2, len(headers) - 1), scroll=True),
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
        html_ = plot_div(F.equity_figure(oos, b, highlight, self.lead), "fig-equity")
        html_ += plot_div(F.drawdown_figure(champ, b, self.lead), "fig-drawdown")
        return self.section(
            "equity",
            "Out-of-sample equity and drawdowns",
            html_,
            "The top candidates' stitched out-of-sample returns against buy-and-hold of the "
            "same instrument over the same span, after fees and slippage.",
        )

    # --- folds ----------------------------------------------------------------------------
    def folds(self) -> dict | None:
        from research.report import _figures as F

        run = self.run
        if not run.searches:
            return None
        windows = {f.number: f for f in run.folds}
        obj = run.objectives[0].metric if run.objectives else self.metric
        rows = []
        for s in run.searches:
            for f in s.folds:
                w = windows.get(f.number)
                train = f"{w.train_start} → {w.train_end}" if w else "? → ?"
                test = f"{w.test_start} → {w.test_end}" if w else "? → ?"
                rows.append(
                    [
                        esc(s.key),
                        str(f.number),
                        esc(train),
                        esc(test),
                        fmt(f.is_metrics.get(obj), obj),
                        fmt(f.oos.get(obj), obj),
                        fmt(f.oos.get("max_drawdown"), "max_drawdown"),
                        fmt(f.oos.get("n_trades"), "n_trades"),
                        fmt(f.wfe),
                        f'<span class="params">{params_html(f.params)}</span>',
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
        html_ = plot_div(F.fold_figure(self.r.get("searches") or [], obj), "fig-folds")
        html_ += html_table(headers, rows, left=(0, 2, 3, 9), scroll=True)
        summary = [
            [
                esc(s.key),
                fmt(s.oos_metrics.get(obj), obj),
                fmt(s.wfe),
                str(s.counts.complete),
                str(s.counts.pruned),
                str(s.counts.failed),
            ]
            for s in run.searches
        ]
        html_ += "<h3>Searches</h3>" + html_table(
            ["search", f"stitched OOS {obj}", "WFE", "trials complete", "pruned", "failed"], summary
        )
        errors = [
            f"<li><b>{esc(s.key)}</b>: {e.get('count')} x <code>{esc(e.get('reason'))}</code></li>"
            for s in run.searches
            for e in (s.failures or [])
        ]
        if errors:
            html_ += "<h3>Why trials failed</h3><ul>" + "".join(errors) + "</ul>"
        return self.section(
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

        trials = self.saved_trials()
        if trials is None:
            return None
        run = self.run
        obj = run.objectives[0].metric if run.objectives else self.metric
        html_ = "".join(
            plot_div(F.history_figure(trials, s.key, obj), f"fig-history-{i}")
            for i, s in enumerate(run.searches)
        )
        return self.section_if_any(
            "history",
            "Optimization history",
            html_,
            "Every completed trial's in-sample objective, per fold, with the best so far.",
        )

    # --- overfitting ----------------------------------------------------------------------
    def overfitting(self) -> dict | None:
        o = self.run.overfitting
        if not o:
            return None
        parts = [
            f"<p>Trials tried: <b>{fmt(o.get('n_trials_total'))}</b> (effective number from "
            f"their correlation clusters: <b>{fmt(o.get('effective_n_trials'))}</b>); variance "
            f"of their per-period Sharpe ratios: {fmt(o.get('trials_sharpe_variance'))}; "
            "expected maximum Sharpe of that many unskilled trials: "
            f"{fmt(o.get('expected_max_sharpe'))} per period.</p>"
        ]
        count = o.get("dsr_trials") or {}
        if count.get("n_trials") is not None:  # gates.dsr_trials (docs/gates.md)
            budget = (count.get("budget") or {}).get("sentence")
            parts.append(
                f"<p>The deflated Sharpe ratio counts {esc(count.get('note'))}: the bar to beat "
                f"is {fmt(count.get('expected_max_sharpe'))} per period"
                + (f"; {esc(budget)}" if budget else "")
                + ".</p>"
            )
        stats = ("sharpe_per_period", "psr", "dsr", "pbo", "stability", "wfe", "spa_pvalue")
        rows = [
            [esc(row.candidate), *(fmt(getattr(row.stats, k)) for k in stats)]
            for row in self.run.leaderboard[: self.top_n]
        ]
        if rows:
            headers = ["candidate", "Sharpe / period", "PSR", "DSR", "PBO", "stability", "WFE"]
            parts.append(html_table([*headers, "SPA p"], rows, left=(0,)))
        parts += self._pbo_plots(o.get("pbo") or {})
        from research.report import _figures as F

        parts.append(
            plot_div(F.stability_figure((o.get("stability") or {}).get("grid")), "fig-stability")
        )
        parts += self._spa_table(o.get("spa") or {})
        return self.section(
            "overfitting",
            "Overfitting checks",
            "".join(parts),
            "Deflated Sharpe ratio: probability that the true Sharpe exceeds what the best of "
            "this many unskilled trials would show. PBO: how often the in-sample best ranks "
            "below the median out of sample across combinatorially symmetric splits. "
            "Stability: the neighbourhood's performance relative to the pick's. SPA: does any "
            "candidate beat buy-and-hold after accounting for the search (Hansen 2005).",
        )

    def _pbo_plots(self, pbo: Mapping[str, Any]) -> list[str]:
        """PBO histogram and degradation scatter of the top 3 candidates (leaderboard order)."""
        from research.report import _figures as F

        order = [row.candidate for row in self.run.leaderboard if row.candidate in pbo]
        order += [k for k in pbo if k not in order]
        shown = [k for k in order if isinstance(pbo[k], Mapping) and pbo[k].get("logits")][:3]
        parts = []
        for i, key in enumerate(shown):
            p = pbo[key]
            parts.append(
                f"<h3>PBO of {esc(key)}: {fmt(p.get('pbo'))} "
                f"({p.get('n_trials', '?')} trials, {p.get('n_partitions', '?')} "
                f"partitions, {p.get('n_logits') or len(p.get('logits') or [])} "
                "combinations)</h3>"
            )
            parts.append(
                '<div class="pair">'
                + plot_div(F.pbo_histogram(p.get("logits") or [], p.get("pbo")), f"fig-pbo-{i}")
                + plot_div(
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
        return parts

    @staticmethod
    def _spa_table(spa: Mapping[str, Any]) -> list[str]:
        rows = [
            [
                esc(k),
                fmt(v.get("spa_pvalue")),
                fmt(v.get("reality_check_pvalue")),
                str(v.get("n_models", "")),
            ]
            for k, v in spa.items()
            if isinstance(v, Mapping)
        ]
        if not rows:
            return []
        headers = ["models", "Hansen SPA p-value", "White RC p-value", "models tested"]
        return ["<h3>Superior predictive ability vs buy-and-hold</h3>", html_table(headers, rows)]


def lookahead_note(entries: Any) -> str:
    """One sentence on the truncation check run before the search (empty for older runs)."""
    if not entries:
        return ""
    by: dict[str, list[str]] = {}
    for e in entries:
        by.setdefault(str(e.get("status")), []).append(str(e.get("strategy")))
    if set(by) == {"off"}:
        return " The lookahead check was off (`lookahead: off`)."
    parts = [f"{len(v)} {k}" + (f" ({', '.join(v)})" if k != "ok" else "") for k, v in by.items()]
    return f" Lookahead check (truncated copies of the data) before the search: {'; '.join(parts)}."
