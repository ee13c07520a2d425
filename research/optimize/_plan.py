"""The fidelity plan of a fold's search: which windows a trial is evaluated on, step by step.

``fidelity=None`` evaluates every trial on the whole search window in one step; ``"fractions"``
on growing prefixes of it (:data:`FRACTION_STEPS` eighths); ``"folds"`` on :data:`INNER_FOLDS`
inner folds, one per step. An inner-validation window after the search window is simulated
with the last step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from data_loaders.errors import ConfigError, DataTooShortError

__all__ = ["Step", "Plan", "make_plan", "FIDELITIES", "FRACTION_STEPS", "INNER_FOLDS"]

FIDELITIES = (None, "fractions", "folds")
#: data fractions (in eighths of the search window) a trial reports at with ``fidelity="fractions"``
FRACTION_STEPS = (1, 2, 4, 8)
#: inner folds of the search window with ``fidelity="folds"``
INNER_FOLDS = 4


@dataclass(frozen=True)
class Step:
    """One fidelity step: windows simulated, positions horizon, training slice.

    ``windows[0]`` is scored at this step; on the last step ``full`` / ``val`` index the whole
    search window and the inner-validation window among ``windows`` (None when absent).
    """

    step: int
    stop: int
    windows: tuple[tuple[int, int], ...]
    fit: tuple[int, int] | None
    full: int | None = None
    val: int | None = None


@dataclass(frozen=True)
class Plan:
    """How a trial is evaluated: ``mode`` (None, ``fractions``, ``folds``) and its steps.

    Value at a step: ``fractions`` - the objective on the step's window (a growing prefix of the
    search window: 1/8, 1/4, 1/2, all); ``folds`` - the mean objective over the inner folds seen
    so far; None - the objective on the whole search window.
    """

    mode: str | None
    window: tuple[int, int]
    steps: tuple[Step, ...]

    @property
    def n_bars(self) -> int:
        return self.window[1] - self.window[0]


def make_plan(
    mode: str | None, window: tuple[int, int], validation: tuple[int, int] | None = None
) -> Plan:
    """The fidelity plan of a search window (and an optional inner-validation window after it).

    Raises:
        DataTooShortError: a window too short for the fidelity steps.
    """
    a, b = window
    n = b - a
    end = validation[1] if validation else b
    extra = (validation,) if validation else ()
    val_index = None if validation is None else 1
    if mode is None:
        steps = (Step(1, end, ((a, b), *extra), (a, b), full=0, val=val_index),)
    elif mode == "fractions":
        if math.ceil(n / FRACTION_STEPS[-1]) < 2:
            raise DataTooShortError(
                f"fidelity='fractions' needs a search window of at least 9 bars, got {n}"
            )
        out = []
        for s in FRACTION_STEPS:
            e = a + math.ceil(n * s / FRACTION_STEPS[-1])
            last = s == FRACTION_STEPS[-1]
            windows = ((a, e), *extra) if last else ((a, e),)
            out.append(
                Step(s, end if last else e, windows, (a, e), full=0 if last else None,
                     val=val_index if last else None)
            )  # fmt: skip
        steps = tuple(out)
    elif mode == "folds":
        if n < 2 * INNER_FOLDS:
            raise DataTooShortError(
                f"fidelity='folds' needs a search window of at least {2 * INNER_FOLDS} bars, got {n}"
            )
        bounds = [a + (k * n) // INNER_FOLDS for k in range(INNER_FOLDS + 1)]
        out = []
        for k in range(INNER_FOLDS):
            last = k == INNER_FOLDS - 1
            fold_window = (bounds[k], bounds[k + 1])
            windows = (fold_window, (a, b), *extra) if last else (fold_window,)
            out.append(
                Step(k + 1, end if last else bounds[k + 1], windows, (a, b),
                     full=1 if last else None, val=(2 if validation else None) if last else None)
            )  # fmt: skip
        steps = tuple(out)
    else:
        raise ConfigError(f"`fidelity` must be None, 'fractions' or 'folds', got {mode!r}")
    return Plan(mode, (a, b), steps)
