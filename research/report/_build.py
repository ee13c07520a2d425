"""Assemble ``report.html`` from a saved run folder.

The report reads only the run folder (``results.json``, ``config.yaml`` and ``series/*.parquet``),
so ``research report RUN_DIR`` rebuilds it at any time. It is one self-contained file: inline CSS,
plotly.js inlined once in the head, every figure a ``<div>`` with its data; it opens offline.

Order: the verdict first (champion, its out-of-sample numbers, which gates passed), then the
leaderboard, equity vs buy-and-hold, drawdowns, a universe run's symbol x fold view, the lead candidate's price chart with its
trades, its monthly returns table and rolling Sharpe, per-fold in-sample vs out-of-sample, optimization
history, hyperparameter importance with the OLS table, contour and parallel-coordinate plots, the
Pareto front (several objectives), the overfitting panel, exploration findings and the champion's
trades.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from data_loaders.atomic import atomic_write_text
from research.report._champion import ChampionSections
from research.report._details import DetailSections
from research.report._html import when
from research.report._sections import OutcomeSections
from research.report._universe import UniverseSections
from research.run.results import RunResults

__all__ = ["build_report", "render_report", "load_run_data"]


def load_run_data(run_dir: str | Path) -> dict[str, Any]:
    """Read what the report needs from a run folder: results, config and series."""
    run_dir = Path(run_dir)
    config = {}
    if (run_dir / "config.yaml").is_file():
        from data_loaders.errors import ConfigError
        from research._yaml import load_yaml

        config = load_yaml(run_dir / "config.yaml", what="run folder file") or {}
        if not isinstance(config, dict):
            raise ConfigError(
                f"run folder file {run_dir / 'config.yaml'}: must be a mapping of spec keys, "
                f"got {type(config).__name__}"
            )
    run = RunResults.load(run_dir)
    results = run.to_json()
    series_dir = run_dir / "series"

    def read(name: str) -> pd.DataFrame | None:
        f = series_dir / f"{name}.parquet"
        return pd.read_parquet(f) if f.is_file() else None

    return {
        "run": run,
        "results": results,
        "calibration": read_calibration(run_dir),
        "config": config,
        "oos_returns": read("oos_returns"),
        "benchmark": read("benchmark"),
        "trials": read("trials"),
        "trades": read("champion_trades"),
        "prices": read("champion_prices"),
    }


def read_calibration(run_dir: str | Path) -> dict[str, Any] | None:
    """The experiment's calibration beside the run (``<run>/../calibration/summary.json``,
    written by ``research calibrate``), or None."""
    f = Path(run_dir).parent / "calibration" / "summary.json"
    try:
        return json.loads(f.read_text()) if f.is_file() else None
    except (OSError, ValueError):
        return None


def build_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Render the report of ``run_dir`` and write it (default ``run_dir/report.html``)."""
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
    ctx = ReportContext(data, report_cfg)
    sections = [
        ctx.verdict(),
        ctx.leaderboard(),
        ctx.equity(),
        ctx.universe(),
        ctx.price(),
        ctx.returns_table(),
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
        timings=_stage_line(r.get("timings") or {}),
    )


def _stage_line(timings: Mapping[str, Any]) -> str:
    """The footer's timing line: wall seconds of each top-level stage of the run (sub-stages,
    named ``stage/part``, and the report's own time are in ``run.json``)."""
    parts = [
        f"{k} {v:.2f} s" for k, v in timings.items() if "/" not in k and isinstance(v, int | float)
    ]
    return "; ".join(parts)


class _Attr(dict):
    """Dict whose keys read as attributes in the template (missing keys give an empty string)."""

    def __getattr__(self, key: str) -> Any:
        v = self.get(key, "")
        return _Attr(v) if isinstance(v, Mapping) else v


class ReportContext(OutcomeSections, ChampionSections, DetailSections, UniverseSections):
    """What every section reads: the run (typed), its JSON, the series, the report options."""

    def __init__(self, data: Mapping[str, Any], report_cfg: Mapping[str, Any]) -> None:
        self.d = data
        self.r = data["results"]
        self.run: RunResults = data.get("run") or RunResults.from_json(self.r)
        self.top_n = int(report_cfg.get("top_n", 25))
        self.max_trades = int(report_cfg.get("max_trades", 500))
        self.metric = self.run.ranking_metric
        self.board = self.r.get("leaderboard") or []
        self.champion = self.run.verdict.champion
        #: how the lead candidate is named in figures: only a gate-passing one is the champion
        self.lead = "champion" if self.champion else "best candidate, fails a gate"
