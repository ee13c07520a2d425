"""Experiment specs: one YAML file describes a whole research run.

A spec is read with :func:`load_experiment` (file) or :func:`parse_experiment` (mapping), checked
key by key, and returned as an :class:`Experiment` whose sections are small frozen dataclasses
(:mod:`research.spec.sections`: every default lives there). :func:`validate_experiment` then
checks the references against what is installed; :mod:`research.spec.build` turns sections into
library objects (splitter, execution, gates). A minimal spec::

    name: my-first
    data: {source: sample:sp500}
    strategies: [sma_cross]

A fuller one::

    name: quickstart
    seed: 7
    data: {source: sample:sp500, start: 2006-01-01}
    strategies:
      - name: sma_cross
        space: {fast: {low: 5, high: 50}, slow: {high: 200}}
      - name: my_strats.py:Breakout          # a user strategy: file.py:ClassName
        space: {lookback: [20, 55, 100], exit_mode: atr}   # choices; a fixed value
    optimizers: [tpe, ga]
    budget: {n_trials: 30}                   # per fold, per strategy x optimizer
    walk_forward: {train: 3Y, test: 1Y}
    objectives: [{metric: sharpe_ratio, direction: maximize}]
    gates: {min_dsr: 0.95, max_pbo: 0.5}

Space overrides (``strategies[i].space``), per declared parameter:

* a scalar fixes the value (``exit_mode: atr``);
* a list gives the allowed choices (``lookback: [20, 55, 100]``);
* a mapping narrows numeric bounds (``{low: 5, high: 50, step: 5, log: false}``); the new bounds
  must lie inside the declared ones.
"""

from research.spec import parse, sections, validate
from research.spec.parse import *  # noqa: F403 - the public names of each module
from research.spec.sections import *  # noqa: F403
from research.spec.validate import *  # noqa: F403

__all__ = [*sections.__all__, *parse.__all__, *validate.__all__]
