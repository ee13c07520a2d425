"""Moved to :mod:`research.run` (this path keeps old imports working for one release)."""

from research.run.data import load_experiment_data
from research.run.pipeline import RunResult, run_experiment
from research.run.window import evaluate_params, recent_window
from research.spec.build import build_costs, build_splitter
from research.spec.build import experiment_bars_per_year as periods_per_year

__all__ = [
    "RunResult",
    "run_experiment",
    "load_experiment_data",
    "recent_window",
    "evaluate_params",
    "build_splitter",
    "build_costs",
    "periods_per_year",
]
