"""The small sma_cross experiment that the universe tests run on synthetic symbols."""

from __future__ import annotations

from typing import Any

__all__ = ["SMA_CROSS", "GATES_OFF", "sma_universe_raw"]

#: sma_cross with a fast/slow space wide enough for a few hundred bars
SMA_CROSS = {"name": "sma_cross", "space": {"fast": {"low": 5, "high": 30},
                                            "slow": {"low": 40, "high": 120}}}  # fmt: skip

#: every gate but ``min_wfe`` off, so that small runs have passing candidates
GATES_OFF = {"min_dsr": None, "max_pbo": None, "min_stability": None, "min_trades": None,
             "max_drawdown": None}  # fmt: skip


def sma_universe_raw(name: str, seed: int, n_trials: int, **changes: Any) -> dict[str, Any]:
    """The raw experiment (random search, 300/150 walk-forward, no report), ``changes`` applied."""
    raw = {
        "name": name,
        "seed": seed,
        "data": {"source": "sample:sp500_20"},
        "strategies": [SMA_CROSS],
        "optimizers": ["random"],
        "budget": {"n_trials": n_trials},
        "walk_forward": {"train": 300, "test": 150},
        "gates": GATES_OFF,
        "report": False,
    }
    raw.update(changes)
    return raw
