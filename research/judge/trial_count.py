"""How many trials the deflated Sharpe ratio counts, and the out-of-sample budget.

The deflated Sharpe ratio (Bailey & Lopez de Prado 2014) asks: is the reported Sharpe ratio
higher than the best that ``N`` zero-skill trials would show by luck? ``N`` must be the number
of (independent) trials **whose selection produced the reported record**, and ``V`` the variance
of those trials' Sharpe ratios. What that set is depends on the record:

``in_sample``
    A parameter set picked by its in-sample performance: every trial of the search competed for
    the pick, so ``N`` = all trials (``all_trials``) or their effective number (``effective``),
    ``V`` = the variance of their in-sample Sharpe ratios (the paper's setting).
``walk_forward``
    The stitched out-of-sample record of a walk-forward candidate. Each fold's in-sample trials
    chose that fold's parameters, but the test window was never seen by them: they do not bias
    the record the way they bias an in-sample backtest (the walk-forward protocol itself is the
    correction for them). What biases it is the choice **among the candidates compared out of
    sample** (strategies x optimizers x settings) and **every earlier look at the same
    out-of-sample data** (reruns with edited specs): ``N`` = candidates of this run + candidates
    judged on the same data and span by earlier runs (:func:`research.run.budget.oos_budget`). ``effective`` counts
    correlation clusters of the candidates' out-of-sample returns instead of the candidates.
``challenger``
    A nightly challenger judged on the most recent window: ``N`` = the candidates of that night
    plus the champion history (every champion and challenger judged on that window before).

``V`` for the out-of-sample kinds is the variance across the counted candidates' out-of-sample
Sharpe ratios, floored at the sampling variance of a zero-skill Sharpe estimate over ``T``
returns, ``1 / (T - 1)`` (Lo 2002; Bailey & Lopez de Prado 2012 at SR = 0): with a handful of
candidates the sample variance is too noisy to be the only guide (3 degrees of freedom for 4
candidates), and zero-skill candidates would differ by that much anyway. The default ``variance="auto"`` uses the floor
alone below :data:`MIN_FOR_OBSERVED` counted Sharpe ratios (a sample variance of 4 values has a
95 % interval spanning a factor of about 14) and the floored observed variance from there on.
The floor is the dispersion zero-skill trials would have, which is what the DSR's benchmark
asks for; the observed dispersion of a few candidates is dominated by the edge being judged
(measured: one real trend edge among four candidates raised its own bar from 0.37 to about 1.0
annualised and cut the power at an out-of-sample Sharpe of 1.5 to nil, see docs/gates.md).

Harvey & Liu (2015, "Backtesting", haircut Sharpe ratios) make the same point for multiple
testing: the haircut depends on how many strategies were tried on the data the Sharpe ratio is
reported on. White's Reality Check (2000) and Hansen's SPA test (2005), already a gate, address
the data snooping among the candidates compared on the same out-of-sample span.

Conventions: Sharpe ratios are **per period** (not annualised), ``n_obs`` is the number of
returns behind them, variances are per period squared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from data_loaders.errors import ParameterError
from research.spec.sections import DSR_TRIALS

__all__ = [
    "DSR_TRIALS",
    "RECORD_KINDS",
    "DEFAULT_DSR_TRIALS",
    "MIN_FOR_OBSERVED",
    "TrialCount",
    "OOSBudget",
    "null_sharpe_variance",
    "trial_count",
]

RECORD_KINDS = ("walk_forward", "in_sample", "challenger")
DEFAULT_DSR_TRIALS = "candidates"
_VARIANCES = ("auto", "observed", "null")
#: fewer counted Sharpe ratios than this: their sample variance is too noisy to use (``auto``)
MIN_FOR_OBSERVED = 10


@dataclass(frozen=True)
class TrialCount:
    """The ``N`` and ``V`` the deflated Sharpe ratio uses, and why.

    Attributes:
        record: kind of record judged (one of :data:`RECORD_KINDS`).
        mode: the ``gates.dsr_trials`` choice (one of :data:`DSR_TRIALS`).
        n_trials: ``N`` (may be fractional for ``effective`` inputs), ``>= 1``.
        sharpe_variance: ``V``, per period squared.
        n_this_run: trials of this run counted (candidates, clusters or in-sample trials).
        n_prior: earlier looks counted (out-of-sample budget or champion history).
        variance_source: ``"candidates"``, ``"clusters"``, ``"trials"`` or ``"floor"``.
        note: one sentence for the report.
    """

    record: str
    mode: str
    n_trials: float
    sharpe_variance: float
    n_this_run: float
    n_prior: int
    variance_source: str
    note: str


@dataclass(frozen=True)
class OOSBudget:
    """How often an out-of-sample span of one data set has been looked at by earlier runs.

    Attributes:
        n_runs: earlier runs judged on the same data fingerprint and span.
        n_candidates: candidates those runs judged (the looks the deflation counts).
        run_ids: their run ids.
    """

    n_runs: int
    n_candidates: int
    run_ids: tuple[str, ...] = ()

    def sentence(self, n_this_run: int) -> str:
        """ "this out-of-sample span has been used by 4 runs and 23 candidates; all counted"."""
        runs = self.n_runs + 1
        cands = self.n_candidates + n_this_run
        return (
            f"this out-of-sample span has been used by {runs} run{'s' * (runs != 1)} and "
            f"{cands} candidate{'s' * (cands != 1)}; all counted"
        )


def null_sharpe_variance(n_obs: int) -> float:
    """Sampling variance of a per-period Sharpe ratio of zero skill over ``n_obs`` returns:
    ``1 / (n_obs - 1)`` (normal returns; Lo 2002, Bailey & Lopez de Prado 2012 at SR = 0)."""
    if n_obs < 2:
        raise ParameterError(f"`n_obs` must be >= 2, got {n_obs}")
    return 1.0 / (n_obs - 1.0)


def _variance(values: np.ndarray, n_obs: int, variance: str, source: str) -> tuple[float, str]:
    floor = null_sharpe_variance(n_obs)
    if variance == "auto":
        variance = "observed" if values.size >= MIN_FOR_OBSERVED else "null"
    if variance == "null" or values.size < 2:
        return floor, "floor"
    v = float(np.var(values, ddof=1))
    return (v, source) if v > floor else (floor, "floor")


def _finite_1d(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values if values is not None else [], dtype=float).reshape(-1)
    if not np.all(np.isfinite(arr)):
        raise ParameterError(f"`{name}` must hold finite per-period Sharpe ratios")
    return arr


def trial_count(
    *,
    mode: str = DEFAULT_DSR_TRIALS,
    record: str = "walk_forward",
    candidate_sharpes: Sequence[float] | np.ndarray = (),
    n_obs: int,
    trials_sharpes: Sequence[float] | np.ndarray | None = None,
    effective: tuple[float, float] | None = None,
    prior_looks: int = 0,
    variance: str = "auto",
) -> TrialCount:
    """The deflated Sharpe ratio's ``N`` and ``V`` for one kind of record (module docstring).

    Args:
        mode: ``candidates`` | ``all_trials`` | ``effective``.
        record: ``walk_forward`` | ``in_sample`` | ``challenger``.
        candidate_sharpes: per-period Sharpe ratios of the candidates compared on the record's
            data (out of sample for ``walk_forward``, on the judging window for
            ``challenger``; the in-sample Sharpe ratios of the trials for ``in_sample`` when
            ``trials_sharpes`` is not given).
        n_obs: number of returns of the judged record (sets the variance floor).
        trials_sharpes: per-period in-sample Sharpe ratios of every trial (``all_trials``, and
            every ``in_sample`` record).
        effective: ``(n_effective, cluster_sharpe_variance)`` from
            :func:`research.overfitting.effective_number_of_trials` (of the candidates' returns
            for out-of-sample records, of the trials' for ``in_sample``).
        prior_looks: candidates judged on the same data before (out-of-sample budget, or the
            champion history of a nightly challenger); added to ``N``.
        variance: ``observed`` (the counted Sharpe ratios' variance, floored), ``null`` (the
            floor ``1 / (n_obs - 1)`` alone) or ``auto`` (``observed`` from
            :data:`MIN_FOR_OBSERVED` counted Sharpe ratios on, ``null`` below).
            ``all_trials`` always uses the trials' variance.

    Raises:
        ParameterError: an unknown mode, record or variance, or a count the inputs cannot give.
    """
    _check_choices(mode, record, variance, prior_looks)
    prior = int(prior_looks) if record != "in_sample" else 0  # in-sample: this run's trials only
    cands = _finite_1d(candidate_sharpes, "candidate_sharpes")
    trials = None if trials_sharpes is None else _finite_1d(trials_sharpes, "trials_sharpes")
    if record == "in_sample" and mode == "candidates":
        mode = "all_trials"  # an in-sample pick competed with every trial
    if mode == "all_trials":
        n_run, v, src, what = _all_trials(cands, trials, record)
    elif mode == "effective":
        n_run, v, src, what = _effective(effective, record, n_obs, variance)
    else:
        if cands.size == 0:
            raise ParameterError("`dsr_trials: candidates` needs the candidates' Sharpe ratios")
        v, src = _variance(cands, n_obs, variance, "candidates")
        n_run, what = float(cands.size), "candidates compared"
    note = _note(n_run, what, prior, record, mode, src)
    return TrialCount(record, mode, n_run + prior, v, n_run, prior, src, note)


def _check_choices(mode: str, record: str, variance: str, prior_looks: int) -> None:
    if mode not in DSR_TRIALS:
        raise ParameterError(f"`dsr_trials` must be one of {', '.join(DSR_TRIALS)}, got {mode!r}")
    if record not in RECORD_KINDS:
        raise ParameterError(f"`record` must be one of {', '.join(RECORD_KINDS)}, got {record!r}")
    if variance not in _VARIANCES:
        raise ParameterError(f"`variance` must be auto, observed or null, got {variance!r}")
    if int(prior_looks) < 0:
        raise ParameterError(f"`prior_looks` must be >= 0, got {prior_looks}")


def _all_trials(
    cands: np.ndarray, trials: np.ndarray | None, record: str
) -> tuple[float, float, str, str]:
    """``(N, V, V's source, what N counts)`` of ``all_trials``: every trial's Sharpe ratio."""
    pool = trials if trials is not None else (cands if record == "in_sample" else None)
    if pool is None or pool.size == 0:
        raise ParameterError("`dsr_trials: all_trials` needs the trials' Sharpe ratios")
    v = float(np.var(pool, ddof=1)) if pool.size > 1 else 0.0
    return float(pool.size), v, "trials", "in-sample trials"


def _effective(
    effective: tuple[float, float] | None, record: str, n_obs: int, variance: str
) -> tuple[float, float, str, str]:
    """``(N, V, V's source, what N counts)`` of ``effective``: the clusters of trials (``V``
    floored out of sample, the floor alone under ``null`` or few clusters with ``auto``)."""
    if effective is None:
        raise ParameterError("`dsr_trials: effective` needs the effective number of trials")
    n_run = max(1.0, float(effective[0]))
    what = "independent clusters of trials"
    if record == "in_sample":
        return n_run, float(effective[1]), "clusters", what
    floor = null_sharpe_variance(n_obs)
    v, src = (float(effective[1]), "clusters") if effective[1] > floor else (floor, "floor")
    if variance == "null" or (variance == "auto" and n_run < MIN_FOR_OBSERVED):
        v, src = floor, "floor"
    return n_run, v, src, what


def _note(n_run: float, what: str, prior: int, record: str, mode: str, src: str) -> str:
    """ "N = 12 candidates compared plus 3 earlier looks at the same data; V from the ..."."""
    looks = ""
    if prior:
        looks = (
            f" plus {prior} earlier look{'s' * (prior != 1)} at the same data"
            if record == "walk_forward"
            else f" plus {prior} earlier champion{'s' * (prior != 1)} and challengers"
        )
    if n_run == 1:  # "1 candidate compared", "1 independent cluster of trials"
        what = what.replace("candidates", "candidate").replace("clusters", "cluster")
        what = what.replace("in-sample trials", "in-sample trial")
    return f"N = {_num(n_run)} {what}{looks}; V from the {src} ({mode}, {record} record)"


def _num(x: float) -> str:
    return f"{int(x)}" if float(x).is_integer() else f"{x:.1f}"
