"""Per-stage timing of a run: wall and CPU seconds of every named stage.

A :class:`StageTimes` recorder is made active for the duration of a run (``with times.active():``
or :meth:`StageTimes.activate`);
any code below it, in any package, marks a stage with ``with stage("judge/pbo"):`` without the
recorder being passed down. Outside an active recorder :func:`stage` does nothing, so library
calls made on their own (tests, notebooks) pay nothing.

Names are ``/``-separated paths (``search/sma_cross/tpe``, ``judge/pbo``); a stage entered again
adds to its total. Nested stages are recorded in full, each under its own name (the parent's
seconds include its children's). Wall seconds are ``time.perf_counter`` differences; CPU seconds
are ``time.process_time`` differences (user + system of every thread of the process), the figure
to compare on a machine shared with other work.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator

__all__ = ["StageTimes", "stage"]

_ACTIVE: contextvars.ContextVar[StageTimes | None] = contextvars.ContextVar(
    "research_stage_times", default=None
)


class StageTimes:
    """Wall and CPU seconds per stage name, in the order the stages first ran."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def add(self, name: str, wall: float, cpu: float) -> None:
        """Add ``wall`` and ``cpu`` seconds to stage ``name``."""
        self.wall[name] = self.wall.get(name, 0.0) + wall
        self.cpu[name] = self.cpu.get(name, 0.0) + cpu

    def activate(self) -> contextvars.Token:
        """Make this recorder the one :func:`stage` adds to; returns the token to give
        :meth:`deactivate`."""
        return _ACTIVE.set(self)

    def deactivate(self, token: contextvars.Token) -> None:
        """Restore the recorder active before :meth:`activate` returned ``token``."""
        _ACTIVE.reset(token)

    @contextlib.contextmanager
    def active(self) -> Iterator[StageTimes]:
        """Make this recorder the one :func:`stage` adds to, until the block ends."""
        token = self.activate()
        try:
            yield self
        finally:
            self.deactivate(token)

    def to_json(self, digits: int = 3) -> dict[str, dict[str, float]]:
        """``{name: {"wall": seconds, "cpu": seconds}}`` rounded to ``digits``."""
        return {
            k: {"wall": round(self.wall[k], digits), "cpu": round(self.cpu[k], digits)}
            for k in self.wall
        }


@contextlib.contextmanager
def stage(name: str) -> Iterator[None]:
    """Time the block as stage ``name`` on the active :class:`StageTimes` (none: no cost)."""
    times = _ACTIVE.get()
    if times is None:
        yield
        return
    w0, c0 = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        times.add(name, time.perf_counter() - w0, time.process_time() - c0)
