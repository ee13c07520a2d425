"""White's Reality Check and Hansen's SPA test (``arch.bootstrap.SPA``): does any model beat
the benchmark once the search over all of them is accounted for?"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from data_loaders.errors import DataTooShortError, DataValidationError, ParameterError
from research.overfitting._inputs import as_returns_1d, as_returns_matrix

__all__ = ["SPAResult", "spa_test"]


@dataclass
class SPAResult:
    """Outcome of :func:`spa_test`.

    Attributes:
        consistent: Hansen's SPA p-value (re-centres only models not too far below the
            benchmark).
        lower: p-value that never re-centres models worse than the benchmark (liberal).
        upper: p-value that re-centres every model: White's Reality Check (conservative).
        reality_check: same as ``upper``.
        best_model: name of the model with the highest mean excess return.
        mean_excess: per-model mean per-period return in excess of the benchmark.
        n_models, n_obs, reps, block_size, bootstrap, seed: the set-up.
    """

    consistent: float
    lower: float
    upper: float
    reality_check: float
    best_model: str
    mean_excess: pd.Series
    n_models: int
    n_obs: int
    reps: int
    block_size: int
    bootstrap: str
    seed: int | None


def spa_test(
    returns: Any,
    benchmark: Any = None,
    *,
    block_size: int | None = None,
    reps: int = 1000,
    bootstrap: str = "stationary",
    seed: int | None = 0,
) -> SPAResult:
    """Does any model beat the benchmark once the search over all of them is accounted for?

    Runs ``arch.bootstrap.SPA`` with losses ``= -returns``; the null hypothesis is that no model
    has a higher expected per-period return than the benchmark. Small p-values reject it.

    Note on arch 8.0 (read from its source): the bootstrap compares the maximum *mean* excess
    return with its re-centred bootstrap distribution; the studentisation variances only enter
    the "consistent" re-centring threshold. The ``upper`` p-value is White's Reality Check.

    Args:
        returns: ``(T, K)`` per-period returns of the candidate models (DataFrame: column names
            become model names), finite, aligned with ``benchmark``.
        benchmark: ``(T,)`` per-period benchmark returns; ``None`` = zero (staying in cash).
        block_size: bootstrap block length; ``None`` = ``sqrt(T)`` (arch's default).
        reps: bootstrap replications.
        bootstrap: ``"stationary"``, ``"circular"`` or ``"moving block"``.
        seed: random seed (results are reproducible for a given seed).
    """
    from data_loaders._optional import import_hiding

    # arch's package imports matplotlib only for its models' plots (0.6-0.8 s): hidden here
    SPA = import_hiding("arch.bootstrap", ("matplotlib",)).SPA
    frame = returns if isinstance(returns, pd.DataFrame) else None
    arr = np.asarray(returns, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    arr = as_returns_matrix(frame if frame is not None else arr, "returns")
    names = (
        [str(c) for c in frame.columns]
        if frame is not None
        else [f"model_{j}" for j in range(arr.shape[1])]
    )
    n_obs = arr.shape[0]
    if n_obs < 10:
        raise DataTooShortError(f"the SPA test needs at least 10 periods, got {n_obs}")
    if benchmark is None:
        bench = np.zeros(n_obs)
    else:
        bench = as_returns_1d(benchmark, "benchmark")
        if bench.shape[0] != n_obs:
            raise DataValidationError(
                f"`benchmark` must have one return per period of `returns` ({n_obs}), "
                f"got {bench.shape[0]}"
            )
    if reps < 1:
        raise ParameterError(f"`reps` must be >= 1, got reps={reps}")
    valid = ("stationary", "sb", "circular", "cbb", "moving block", "mbb")
    if bootstrap not in valid:
        raise ParameterError(f"`bootstrap` must be one of {valid}, got {bootstrap!r}")
    if block_size is not None and not 1 <= block_size <= n_obs:
        raise ParameterError(f"`block_size` must be in [1, {n_obs}], got {block_size}")
    spa = SPA(-bench, -arr, block_size=block_size, reps=reps, bootstrap=bootstrap, seed=seed)
    spa.compute()
    pv = spa.pvalues
    excess = pd.Series(arr.mean(axis=0) - bench.mean(), index=names, name="mean_excess")
    return SPAResult(
        consistent=float(pv["consistent"]),
        lower=float(pv["lower"]),
        upper=float(pv["upper"]),
        reality_check=float(pv["upper"]),
        best_model=str(excess.idxmax()),
        mean_excess=excess,
        n_models=arr.shape[1],
        n_obs=n_obs,
        reps=reps,
        block_size=int(spa.block_size),
        bootstrap=bootstrap,
        seed=seed,
    )
