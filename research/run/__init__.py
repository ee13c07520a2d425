"""One research run, from spec to run folder (and the nightly champion/challenger loop).

* ``pipeline``: :func:`run_experiment`, the whole flow top-down, and :class:`RunResult`;
* ``data`` / ``plan``: the bars of a spec, and what is fixed before a run folder exists;
* ``stages``: exploration and the walk-forward searches;
* ``summarize`` / ``results``: the typed ``results.json`` (:class:`RunResults`, its only reader
  and writer) and how it is built; ``artifacts``: ``leaderboard.csv`` and ``series/``;
* ``store`` / ``compare``: run folders (open, lock, resume, finish), listing and comparing;
* ``nightly`` / ``champion``: champion/challenger re-optimization and its files;
* ``tracking``: MLflow; ``warmup``: compile the numba kernels once.
"""

from research.run.pipeline import RunResult, run_experiment
from research.run.results import RunResults

__all__ = ["RunResult", "RunResults", "run_experiment"]
