"""Numba kernels of the data layer: arrays in, arrays out, no pandas.

* :func:`markov_states` - a Markov chain path (sequential by nature, so compiled).

The vectorised numpy kernels live in ``_kernels.py`` (importing them does not load numba).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["markov_states"]


@njit(cache=True)
def markov_states(u: np.ndarray, cum_trans: np.ndarray, start: int) -> np.ndarray:
    """Path of a Markov chain driven by uniforms.

    Parameters
    ----------
    u : float64 array, shape (n,)
        Uniform(0, 1) draws; ``u[t]`` moves the chain from step ``t-1`` to ``t`` (``u[0]`` unused).
    cum_trans : float64 array, shape (k, k)
        Row-wise cumulative transition matrix (``cum_trans[i, -1] == 1``).
    start : int
        State at step 0.

    Returns
    -------
    int64 array, shape (n,)
        State at each step.
    """
    n = u.shape[0]
    k = cum_trans.shape[0]
    out = np.empty(n, dtype=np.int64)
    if n == 0:
        return out
    state = start
    out[0] = state
    for t in range(1, n):
        x = u[t]
        nxt = k - 1
        for j in range(k):
            if x < cum_trans[state, j]:
                nxt = j
                break
        state = nxt
        out[t] = state
    return out
