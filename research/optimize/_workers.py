"""Where evaluations run: in-process, a local process pool, or a Dask cluster.

Workers only evaluate: the coordinator asks, records and tells, so results never depend on the
number of workers. A batch of parameter sets is split into contiguous chunks, one per worker;
results come back in submission order. The :class:`~research.optimize.evaluate.EvalContext`
(bars, strategy class, costs) is shipped once per worker (process-pool initializer, or
``Client.scatter(broadcast=True)`` on Dask), not once per task.

* ``workers <= 1`` and no scheduler: in the calling process.
* ``workers > 1``: :class:`concurrent.futures.ProcessPoolExecutor` (``fork`` start method on
  Linux, the platform default elsewhere); each worker process limits numba to its share of the
  cores so that processes x threads does not oversubscribe the machine.
* ``scheduler="tcp://host:8786"`` or a ``distributed.Client``: Dask; the strategy class must be
  importable on the workers (a package, or a file on a path they share).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from data_loaders.errors import ConfigError, ParameterError
from research.optimize.evaluate import EvalContext, EvalTask, SetResult, run_task, split_task

__all__ = ["Workers"]

_WORKER_CTX: EvalContext | None = None


def _init_worker(ctx: EvalContext, threads: int) -> None:
    global _WORKER_CTX
    _WORKER_CTX = ctx
    try:
        import numba

        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    except Exception:  # numba missing or threads fixed by the environment: keep its default
        pass


def _run_in_worker(task: EvalTask) -> tuple[list[SetResult], float]:
    if _WORKER_CTX is None:
        raise RuntimeError("worker process was not initialised with an evaluation context")
    return run_task(_WORKER_CTX, task)


class Workers:
    """Run :class:`EvalTask` lists on the configured executor (a context manager).

    Args:
        ctx: the evaluation context shared by every task.
        workers: number of parallel evaluations (``<= 1``: in-process).
        scheduler: None, a Dask scheduler address (``"tcp://host:8786"``) or a
            ``distributed.Client``.
    """

    def __init__(self, ctx: EvalContext, workers: int = 1, scheduler: Any = None) -> None:
        self.ctx = ctx
        self.workers = workers
        self.scheduler = scheduler

    # --- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Workers:
        w = self.workers
        if isinstance(w, bool) or not isinstance(w, int) or w < 1:
            raise ParameterError(f"`workers` must be an int >= 1, got {w!r}")
        self.pool_: ProcessPoolExecutor | None = None
        self.client_: Any = None
        self.own_client_ = False
        self.parallelism_ = 1
        if self.scheduler is not None:
            self._start_dask()
        elif w > 1:
            method = "fork" if sys.platform.startswith("linux") else None
            threads = max(1, (os.cpu_count() or 1) // w)
            self.pool_ = ProcessPoolExecutor(
                max_workers=w,
                mp_context=mp.get_context(method),
                initializer=_init_worker,
                initargs=(self.ctx, threads),
            )
            self.parallelism_ = w
        return self

    def _start_dask(self) -> None:
        try:
            import distributed
        except ImportError:
            raise ConfigError(
                "`scheduler` needs Dask distributed: pip install 'quant-research[distributed]'"
            ) from None
        if isinstance(self.scheduler, distributed.Client):
            self.client_ = self.scheduler
        elif isinstance(self.scheduler, str):
            try:
                self.client_ = distributed.Client(self.scheduler, timeout="10s")
            except OSError as exc:
                raise ConfigError(
                    f"cannot reach the Dask scheduler at {self.scheduler!r}: {exc}"
                ) from None
            self.own_client_ = True
        else:
            raise ParameterError(
                "`scheduler` must be a Dask address like 'tcp://host:8786' or a "
                f"distributed.Client, got {type(self.scheduler).__name__}"
            )
        self.ctx_future_ = self.client_.scatter(self.ctx, broadcast=True, hash=False)
        threads = sum(self.client_.nthreads().values()) or 1
        self.parallelism_ = max(threads, self.workers)

    def __exit__(self, *exc: Any) -> None:
        if self.pool_ is not None:
            self.pool_.shutdown(wait=True, cancel_futures=True)
            self.pool_ = None
        if self.client_ is not None and self.own_client_:
            self.client_.close()
        self.client_ = None

    # --- running -----------------------------------------------------------------------------
    def run(self, tasks: Sequence[EvalTask]) -> tuple[list[list[SetResult]], float]:
        """Run ``tasks``; return their results (in order) and the evaluation seconds summed
        over workers. Each task is split into chunks, one per worker."""
        chunks: list[EvalTask] = []
        owners: list[int] = []
        for i, task in enumerate(tasks):
            for part in split_task(task, self.parallelism_):
                chunks.append(part)
                owners.append(i)
        if self.client_ is not None:
            futures = [
                self.client_.submit(run_task, self.ctx_future_, c, pure=False) for c in chunks
            ]
            outputs = self.client_.gather(futures)
        elif self.pool_ is not None:
            outputs = list(self.pool_.map(_run_in_worker, chunks))
        else:
            outputs = [run_task(self.ctx, c) for c in chunks]
        results: list[list[SetResult]] = [[] for _ in tasks]
        seconds = 0.0
        for owner, (res, sec) in zip(owners, outputs):
            results[owner].extend(res)
            seconds += sec
        return results, seconds
