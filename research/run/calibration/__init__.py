"""Calibrated gates: how often the verdict is fooled by noise, how often it finds a real edge.

:func:`calibrate` runs a spec's whole search-and-judge pipeline
(:func:`research.run.pipeline.run_experiment`) on ``K`` synthetic data sets shaped like the spec's
data (same index, hence the same length, frequency and folds; same volatility): null sets
(driftless random walks, or block-bootstrapped real returns with the drift removed) and
planted-edge sets (a persistent trend) at several strengths. It keeps one raw record per data
set (``records.jsonl``) so gate sets are evaluated offline (:func:`summarise`) and reports the
false-champion rate with an exact 95 % interval and the power curve (share of planted-edge runs
with a champion against the out-of-sample Sharpe ratio a fixed ``sma_cross`` 20/60 earns on
them). See ``docs/gates.md`` for the design and measured figures.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from research.run.calibration._datasets import (
    FIXED_RULE,
    DataSet,
    edge_for_sharpe,
    fixed_rule_sharpe,
    plan_datasets,
)
from research.run.calibration._evaluate import (
    GATE_KEYS,
    CalibrationSummary,
    champion_of,
    clopper_pearson,
    power_at,
    run_dsr,
    summarise,
)
from research.run.calibration._runs import calibration_spec, read_records, run_dataset, run_datasets

__all__ = [
    "FIXED_RULE",
    "DataSet",
    "GATE_KEYS",
    "CalibrationSummary",
    "calibrate",
    "spec_gates",
    "edge_for_sharpe",
    "fixed_rule_sharpe",
    "plan_datasets",
    "calibration_spec",
    "run_dataset",
    "run_datasets",
    "read_records",
    "champion_of",
    "clopper_pearson",
    "power_at",
    "run_dsr",
    "summarise",
]

DEFAULT_TARGETS = (0.5, 1.0, 1.5, 2.0)


def spec_gates(exp: Any, **overrides: Any) -> dict[str, Any]:
    """The spec's ``gates`` section as an offline gate set (``dsr_trials`` default
    ``candidates``, ``dsr_variance`` default ``auto``), with ``overrides`` applied."""
    g = {k: v for k, v in asdict(exp.gates).items() if k in GATE_KEYS}
    g.setdefault("dsr_trials", "candidates")
    g.setdefault("dsr_variance", "auto")
    g.update(overrides)
    return g


def calibrate(
    exp: Any,
    *,
    k_null: int = 10,
    k_edge: int = 10,
    targets: Sequence[float] = DEFAULT_TARGETS,
    workers: int = 1,
    out: str | Path | None = None,
    seed: int = 0,
    noise: str = "gaussian",
    half_life: float = 60.0,
    bars: Any = None,
    gates: Mapping[str, Any] | None = None,
    say: Callable[[str], None] | None = None,
) -> CalibrationSummary:
    """Run the calibration of ``exp`` and summarise it with its own gates (or ``gates``).

    Records go to ``out/records.jsonl`` (appended; rerunning with a larger ``k`` adds data
    sets), the summary to ``out/summary.json`` (with its one-line ``sentence``). ``out``
    defaults to ``runs/<experiment>/calibration``, where the report of every run of the
    experiment in ``runs/<experiment>/`` finds it. ``bars``: the data to shape the synthetic sets
    like (default: the spec's data). Single-symbol specs only.
    """
    from data_loaders.errors import ConfigError
    from research.run.data import load_experiment_data
    from research.spec import load_experiment
    from research.spec.build import build_splitter
    from research.spec.build import experiment_bars_per_year as periods_per_year

    if isinstance(exp, str | Path):
        exp = load_experiment(exp)
    like = load_experiment_data(exp) if bars is None else bars
    if isinstance(like, Mapping):
        raise ConfigError(
            f"{exp.path or '<spec>'}: calibrate shapes one symbol's bars; this spec trades several"
        )
    ppy = periods_per_year(exp, like)
    folds = list(build_splitter(exp).split(like.index))
    if not folds:
        raise ConfigError(f"{exp.path or '<spec>'}: walk_forward gives no fold on this data")
    start = int(folds[0].test.start)
    edges = edge_for_sharpe(like, targets, start=start, periods_per_year=ppy, half_life=half_life)
    datasets = plan_datasets(k_null, k_edge, edges, seed=seed, noise=noise, half_life=half_life)
    datasets.sort(key=lambda d: (int(d.id.rsplit("-", 1)[-1]), d.kind, d.target))
    out = Path("runs") / exp.name / "calibration" if out is None else Path(out)
    records = run_datasets(exp, like, datasets, out / "records.jsonl", workers=workers, say=say)
    wanted = {d.id for d in datasets}
    records = [r for r in records if r["dataset"]["id"] in wanted]
    summary = summarise(records, gates if gates is not None else spec_gates(exp))
    doc = {"experiment": exp.name, **asdict(summary), "sentence": summary.sentence()}
    (out / "summary.json").write_text(json.dumps(doc, indent=1, default=str))
    return summary
