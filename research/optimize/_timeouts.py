"""Per-trial timeouts: evaluations in child processes that can be stopped.

A strategy is user code and may never return (an endless loop, a blocking call). Python cannot
interrupt such a call inside the process running it (a signal only lands between bytecodes, never
inside numba or C code), so with a per-trial limit every chunk of parameter sets is evaluated in a
child process (``fork`` on Linux: the evaluation context is inherited, not copied), at most
``parallel`` at a time:

* a chunk gets ``limit`` seconds, whatever its size (the limit is meant to be far above a
  normal trial's time, and a batch evaluation costs little more than one set);
* a chunk past its time is killed; when it held several sets, each is retried alone with
  ``limit`` seconds, so only the set that hangs fails (a hang costs about ``2 * limit``); a lone
  set past ``limit`` fails with the reason ``timeout: ...`` and the search goes on;
* a child that dies (killed by the kernel, a crash in native code) fails its sets the same way,
  with the exit code in the reason.

Results are identical to in-process evaluation: the same :func:`run_task` runs in the child.
Before the first fork the backtest kernels are run once in the parent on a few synthetic bars
(never the user's strategy, which may hang), so that every child inherits them loaded instead
of loading them from numba's cache again.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from multiprocessing.connection import wait
from typing import Any

from research.optimize.evaluate import EvalContext, EvalTask, SetResult, error_text, run_task

__all__ = ["run_with_timeouts", "timeout_reason"]


def timeout_reason(limit: float) -> str:
    """The reason recorded for a trial stopped after ``limit`` seconds."""
    return (
        f"timeout: the evaluation ran longer than budget.trial_timeout = {limit:g} s and was "
        "stopped"
    )


def _child(conn: Any, ctx: EvalContext, task: EvalTask, threads: int) -> None:
    try:
        import numba

        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    except Exception:  # numba missing or threads fixed by the environment
        pass
    try:
        conn.send(("ok", run_task(ctx, task)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
        conn.send(("error", error_text(exc)))
    finally:
        conn.close()


_WARMED: set[tuple] = set()


def _warm_kernels(ctx: EvalContext) -> None:
    """Load the engine's numba kernels in this process (inherited by forked children)."""
    key = (ctx.execution.fill, ctx.execution.direction, bool(ctx.multi))
    if key in _WARMED or ctx.multi:
        return
    import numpy as np

    from backtest.batch import evaluate_batch

    prices = np.linspace(100.0, 101.0, 8)
    pos = np.array([[0.0], [1.0], [1.0], [0.0], [-1.0], [0.0], [0.5], [0.0]])
    for returns in (False, True):
        evaluate_batch(prices, prices, pos, **ctx.execution.engine_kwargs(), return_returns=returns)
    _WARMED.add(key)


@dataclass
class _Job:
    task: EvalTask
    seconds: float
    proc: Any = None
    conn: Any = None
    deadline: float = 0.0


def _start(ctx: EvalContext, job: _Job, method: str | None, threads: int) -> None:
    context = mp.get_context(method)
    parent, child = context.Pipe(duplex=False)
    job.proc = context.Process(target=_child, args=(child, ctx, job.task, threads), daemon=True)
    job.proc.start()
    child.close()
    job.conn = parent
    job.deadline = time.monotonic() + job.seconds


def _stop(job: _Job) -> None:
    if job.proc.is_alive():
        job.proc.kill()
    job.proc.join()
    job.conn.close()


def _failed(task: EvalTask, reason: str) -> list[SetResult]:
    return [SetResult(n, error=reason) for n in task.numbers]


def _singles(task: EvalTask) -> list[EvalTask]:
    return [replace(task, numbers=(n,), params=(p,)) for n, p in zip(task.numbers, task.params)]


def run_with_timeouts(
    ctx: EvalContext,
    chunks: Sequence[EvalTask],
    *,
    limit: float,
    parallel: int,
    threads: int = 1,
) -> list[tuple[list[SetResult], float]]:
    """Run ``chunks`` in child processes under the per-set ``limit`` (see module docstring).

    Returns one ``(results, seconds)`` per chunk, in order, like :func:`run_task`.

    Raises:
        RuntimeError: the evaluation itself raised (not a strategy error, which
            :func:`run_task` records per set).
    """
    method = "fork" if sys.platform.startswith("linux") else None
    if method == "fork":
        _warm_kernels(ctx)
    pending = [_Job(c, limit) for c in chunks]
    running: list[_Job] = []
    by_number: dict[int, SetResult] = {}
    seconds = 0.0
    try:
        while pending or running:
            while pending and len(running) < max(1, parallel):
                job = pending.pop(0)
                _start(ctx, job, method, threads)
                running.append(job)
            now = time.monotonic()
            timeout = max(0.0, min(j.deadline for j in running) - now)
            ready = set(wait([j.conn for j in running], timeout=timeout))
            still: list[_Job] = []
            for job in running:
                if job.conn in ready:
                    retry, used = _collect(job, by_number)
                    seconds += used
                elif time.monotonic() >= job.deadline:
                    _stop(job)
                    seconds += job.seconds
                    retry = len(job.task.params) > 1
                    if not retry:
                        by_number.update(
                            (r.number, r) for r in _failed(job.task, timeout_reason(limit))
                        )
                else:
                    still.append(job)
                    continue
                if retry:
                    pending[:0] = [_Job(t, limit) for t in _singles(job.task)]
            running = still
    finally:
        for job in running:
            _stop(job)
    share = seconds / max(len(chunks), 1)
    return [([by_number[n] for n in c.numbers], share) for c in chunks]


def _collect(job: _Job, by_number: dict[int, SetResult]) -> tuple[bool, float]:
    """Read a finished child's results; ``(retry one by one?, seconds)``."""
    try:
        status, payload = job.conn.recv()
    except (EOFError, OSError):  # the child died without answering
        job.proc.join()
        code = job.proc.exitcode
        job.conn.close()
        if len(job.task.params) > 1:
            return True, 0.0
        reason = f"the evaluation process died (exit code {code}) before returning"
        by_number.update((r.number, r) for r in _failed(job.task, reason))
        return False, 0.0
    job.proc.join()
    job.conn.close()
    if status == "error":
        raise RuntimeError(f"evaluation failed in a child process: {payload}")
    results, used = payload
    by_number.update((r.number, r) for r in results)
    return False, float(used)
