"""Synthetic data sets shaped like a spec's data: null sets and planted-edge sets.

A data set is described by a :class:`DataSet` (kind, edge strength, seed) and built on demand
from the spec's own bars with :func:`data_loaders.synthetic.shaped_bars`: same index (so the
same length, frequency and walk-forward folds), same per-bar volatility.

The planted edge is a persistent trend (an AR(1) drift, see ``shaped_bars``). Its strength is
chosen so that a **fixed, reasonable** trend rule (``sma_cross`` 20/60, long/flat) earns a
target out-of-sample Sharpe ratio on average (:func:`edge_for_sharpe`); the Sharpe ratio that
rule really earns on each data set is measured by the run (paths differ a lot: a trend process
has few independent swings in eight years) and places the run on the power curve.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data_loaders.errors import ParameterError
from data_loaders.synthetic import shaped_bars

__all__ = ["DataSet", "FIXED_RULE", "fixed_rule_sharpe", "edge_for_sharpe", "plan_datasets"]

#: the fixed parameter set whose out-of-sample Sharpe ratio measures a planted edge
FIXED_RULE: tuple[str, dict[str, int]] = ("sma_cross", {"fast": 20, "slow": 60})


@dataclass(frozen=True)
class DataSet:
    """One synthetic data set of a calibration: ``kind`` is ``null`` or ``edge``; ``target`` the
    fixed rule's intended annualised out-of-sample Sharpe ratio (0 for null); ``edge`` the
    ``shaped_bars`` strength; ``seed`` its seed; ``noise`` gaussian or bootstrap."""

    id: str
    kind: str
    target: float
    edge: float
    seed: int
    noise: str = "gaussian"
    half_life: float = 60.0

    def bars(self, like: pd.DataFrame) -> pd.DataFrame:
        """The bars of this data set, shaped like ``like``."""
        return shaped_bars(
            like, seed=self.seed, edge=self.edge, half_life=self.half_life, noise=self.noise
        )


def fixed_rule_sharpe(close: np.ndarray, start: int, periods_per_year: float) -> float:
    """Annualised Sharpe ratio of ``sma_cross`` 20/60 long/flat on ``close[start:]``, without
    costs, each bar's position earning the next bar's close-to-close log return (a quick proxy
    used only to choose edge strengths; runs measure the rule with the spec's engine and costs).
    """
    c = pd.Series(np.asarray(close, dtype=float))
    fast, slow = FIXED_RULE[1]["fast"], FIXED_RULE[1]["slow"]
    pos = (c.rolling(fast).mean() > c.rolling(slow).mean()).astype(float)
    r = (pos.shift(1) * np.log(c).diff()).iloc[start:].to_numpy()
    sd = r.std(ddof=1)
    return float(r.mean() / sd * np.sqrt(periods_per_year)) if sd > 0 else 0.0


def edge_for_sharpe(
    like: pd.DataFrame,
    targets: Sequence[float],
    *,
    start: int,
    periods_per_year: float,
    half_life: float = 60.0,
    n_paths: int = 24,
    seed: int = 10_000,
) -> dict[float, float]:
    """Edge strength per target Sharpe ratio of the fixed rule over bars ``[start, n)``.

    The mean Sharpe ratio is close to linear in the edge for the strengths of interest; it is
    measured at two strengths over ``n_paths`` seeded paths and interpolated (numpy only, a
    second or two).
    """
    probes = (0.1, 0.25)
    means = []
    for e in probes:
        vals = [
            fixed_rule_sharpe(
                shaped_bars(like, seed=seed + i, edge=e, half_life=half_life)["close"].to_numpy(),
                start,
                periods_per_year,
            )
            for i in range(n_paths)
        ]
        means.append(float(np.mean(vals)))
    slope = (means[1] - means[0]) / (probes[1] - probes[0])
    if not slope > 0:
        raise ParameterError("the planted trend does not raise the fixed rule's Sharpe ratio")
    return {float(t): max(0.0, probes[0] + (float(t) - means[0]) / slope) for t in targets}


def plan_datasets(
    k_null: int,
    k_edge: int,
    edges: dict[float, float],
    *,
    seed: int = 0,
    noise: str = "gaussian",
    half_life: float = 60.0,
) -> list[DataSet]:
    """``k_null`` null sets and ``k_edge`` sets per target strength, each with its own seed.

    Ids: ``null-007``, ``edge1.5-003``; other noise models than gaussian prefix them
    (``bootstrap-null-007``), so one records file can hold several."""
    if k_null < 0 or k_edge < 0:
        raise ParameterError(f"`k` must be >= 0, got k_null={k_null}, k_edge={k_edge}")
    tag = "" if noise == "gaussian" else f"{noise}-"  # ids stay unique across noise models
    out = [
        DataSet(f"{tag}null-{i:03d}", "null", 0.0, 0.0, seed * 100_003 + i, noise, half_life)
        for i in range(k_null)
    ]
    for j, (target, edge) in enumerate(sorted(edges.items())):
        for i in range(k_edge):
            out.append(
                DataSet(
                    f"{tag}edge{target:g}-{i:03d}",
                    "edge",
                    float(target),
                    float(edge),
                    seed * 100_003 + 1_000 * (j + 1) + i,
                    noise,
                    half_life,
                )
            )
    return out
