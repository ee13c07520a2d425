"""Where evaluations run: in-process, a local process pool, or a Dask cluster.

Workers only evaluate: the coordinator asks, records and tells, so results never depend on the
number of workers. A batch of parameter sets is split into contiguous chunks, one per worker;
results come back in submission order. The :class:`~research.optimize.evaluate.EvalContext`
(bars, strategy class, costs) is shipped once per worker (process-pool initializer, or
``Client.scatter(broadcast=True)`` on Dask), not once per task.

Within :func:`shared_pool` (a run's search stage), the local process pools of all the searches
are one pool, started at the first search that needs it and shut down on leaving: a run of many
small searches (``per_symbol``: one per symbol x strategy x optimizer) does not start and stop
processes per search. Each search's context is then pickled once to a file the workers read at
their first chunk of that search; a worker holds one context at a time (the previous search's is
dropped before the next is loaded), so memory stays bounded however many searches a run has.

* ``workers <= 1`` and no scheduler: in the calling process.
* ``workers > 1``: :class:`concurrent.futures.ProcessPoolExecutor` (``fork`` start method on
  Linux, the platform default elsewhere); each worker process limits numba to its share of the
  cores so that processes x threads does not oversubscribe the machine.
* ``scheduler="tcp://host:8786"`` or a ``distributed.Client``: Dask; the strategy class must be
  importable on the workers (a package, or a file on a path they share).
* ``trial_timeout`` (seconds per parameter set): locally, every chunk runs in a child process
  that is killed past its time (:mod:`research.optimize._timeouts`), with one worker too; the
  sets past the limit fail with the reason and the search goes on. On Dask, chunks not done in
  time are cancelled and their sets fail the same way (a Dask worker thread stuck in user code
  is not stopped: restart the cluster's workers).
"""

from __future__ import annotations

import io
import itertools
import multiprocessing as mp
import os
import pickle
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from data_loaders.errors import ConfigError, ParameterError
from research.optimize._timeouts import run_with_timeouts, timeout_reason
from research.optimize.evaluate import EvalContext, EvalTask, SetResult, run_task, split_task

__all__ = ["Workers", "shared_pool"]

_WORKER_CTX: EvalContext | None = None
_WORKER_KEY: str | None = None  # which shipped context _WORKER_CTX is (shared pools)


def _init_worker(ctx: EvalContext | None, threads: int) -> None:
    global _WORKER_CTX
    _WORKER_CTX = ctx
    try:
        import numba

        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    except Exception:  # numba missing or threads fixed by the environment: keep its default
        pass


def _run_in_worker(
    task: EvalTask, key: str | None = None, path: str | None = None
) -> tuple[list[SetResult], float]:
    global _WORKER_CTX, _WORKER_KEY
    if key is not None and key != _WORKER_KEY:
        _WORKER_CTX = _WORKER_KEY = None  # the previous search's context goes first
        with open(path, "rb") as fh:  # type: ignore[arg-type]
            _WORKER_CTX = pickle.load(fh)
        _WORKER_KEY = key
    if _WORKER_CTX is None:
        raise RuntimeError("worker process was not initialised with an evaluation context")
    return run_task(_WORKER_CTX, task)


def _process_pool(workers: int, ctx: EvalContext | None) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes (``fork`` on Linux) holding ``ctx`` from the start, each
    limiting numba to its share of the cores."""
    method = "fork" if sys.platform.startswith("linux") else None
    threads = max(1, (os.cpu_count() or 1) // workers)
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=mp.get_context(method),
        initializer=_init_worker,
        initargs=(ctx, threads),
    )


class _ContextPickler(pickle.Pickler):
    """Pickles a class made at run time whose own namespace holds ``__class_reduce__`` (e.g. a
    strategy with a spec's space overrides) as that ``(function, args)`` rebuild."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, type) and "__class_reduce__" in vars(obj):
            return obj.__class_reduce__
        return NotImplemented


class _SharedPool:
    """One process pool for the searches inside :func:`shared_pool`, started at first use;
    contexts are shipped through pickle files in a folder of its own (see the module
    docstring)."""

    _keys = itertools.count()

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None
        self.folder: str | None = None

    def executor(self) -> ProcessPoolExecutor:
        if self.pool is None:
            self.pool = _process_pool(self.workers, None)
        return self.pool

    def ship(self, ctx: EvalContext) -> tuple[str, str] | None:
        """Pickle ``ctx`` for the workers: its key and file, or None when it does not pickle
        (e.g. a lambda objective: the search then gets a pool of its own, forked with it)."""
        buffer = io.BytesIO()
        try:
            _ContextPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(ctx)
        except (pickle.PicklingError, AttributeError, TypeError):
            return None
        data = buffer.getvalue()
        if self.folder is None:
            self.folder = tempfile.mkdtemp(prefix="research-contexts-")
        key = f"{os.getpid()}-{next(self._keys)}"
        path = os.path.join(self.folder, f"{key}.pkl")
        with open(path, "wb") as fh:
            fh.write(data)
        return key, path

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


_SHARED: _SharedPool | None = None


@contextmanager
def shared_pool(workers: int) -> Iterator[None]:
    """Inside: the searches run with ``workers`` local processes (``workers > 1``, no
    scheduler, no ``trial_timeout``) share one process pool, shut down on leaving. Nested
    calls keep the outer pool; the results are the same as with a pool per search."""
    global _SHARED
    if _SHARED is not None or isinstance(workers, bool) or not isinstance(workers, int):
        yield
        return
    _SHARED = _SharedPool(workers)
    try:
        yield
    finally:
        shared, _SHARED = _SHARED, None
        shared.close()


class Workers:
    """Run :class:`EvalTask` lists on the configured executor (a context manager).

    Args:
        ctx: the evaluation context shared by every task.
        workers: number of parallel evaluations (``<= 1``: in-process).
        scheduler: None, a Dask scheduler address (``"tcp://host:8786"``) or a
            ``distributed.Client``.
        trial_timeout: seconds one parameter set may take (None: no limit).
    """

    def __init__(
        self,
        ctx: EvalContext,
        workers: int = 1,
        scheduler: Any = None,
        trial_timeout: float | None = None,
    ) -> None:
        self.ctx = ctx
        self.workers = workers
        self.scheduler = scheduler
        self.trial_timeout = trial_timeout

    # --- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Workers:
        w = self.workers
        if isinstance(w, bool) or not isinstance(w, int) or w < 1:
            raise ParameterError(f"`workers` must be an int >= 1, got {w!r}")
        self.pool_: ProcessPoolExecutor | None = None
        self.shipped_: tuple[str, str] | None = None  # (key, file) in a shared pool
        self.client_: Any = None
        self.own_client_ = False
        self.parallelism_ = 1
        limit = self.trial_timeout
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int | float) or not limit > 0
        ):
            raise ParameterError(f"`trial_timeout` must be a number of seconds > 0, got {limit!r}")
        if self.scheduler is not None:
            self._start_dask()
        elif limit is not None:
            self.parallelism_ = w  # child processes started per chunk, `w` at a time
        elif w > 1:
            self.shipped_ = _SHARED.ship(self.ctx) if _SHARED and _SHARED.workers == w else None
            self.pool_ = _SHARED.executor() if self.shipped_ else _process_pool(w, self.ctx)
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
        if self.shipped_ is not None:
            Path(self.shipped_[1]).unlink(missing_ok=True)  # the shared pool stays up
        elif self.pool_ is not None:
            self.pool_.shutdown(wait=True, cancel_futures=True)
        self.pool_ = self.shipped_ = None
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
            outputs = self._run_dask(chunks)
        elif self.trial_timeout is not None:
            threads = max(1, (os.cpu_count() or 1) // self.parallelism_)
            outputs = run_with_timeouts(
                self.ctx,
                chunks,
                limit=float(self.trial_timeout),
                parallel=self.parallelism_,
                threads=threads,
            )
        elif self.pool_ is not None:
            key, path = self.shipped_ or (None, None)
            n = len(chunks)
            outputs = list(self.pool_.map(_run_in_worker, chunks, [key] * n, [path] * n))
        else:
            outputs = [run_task(self.ctx, c) for c in chunks]
        results: list[list[SetResult]] = [[] for _ in tasks]
        seconds = 0.0
        for owner, (res, sec) in zip(owners, outputs):
            results[owner].extend(res)
            seconds += sec
        return results, seconds

    def _run_dask(self, chunks: Sequence[EvalTask]) -> list[tuple[list[SetResult], float]]:
        futures = [self.client_.submit(run_task, self.ctx_future_, c, pure=False) for c in chunks]
        if self.trial_timeout is None:
            return self.client_.gather(futures)
        import distributed

        longest = max((len(c.params) for c in chunks), default=1)
        try:
            distributed.wait(futures, timeout=float(self.trial_timeout) * longest)
        except Exception as exc:  # distributed's TimeoutError differs between versions
            if "Timeout" not in type(exc).__name__:
                raise
        outputs = []
        for fut, chunk in zip(futures, chunks):
            if fut.done():
                outputs.append(fut.result())
            else:
                fut.cancel()
                reason = timeout_reason(float(self.trial_timeout))
                outputs.append(([SetResult(n, error=reason) for n in chunk.numbers], 0.0))
        return outputs
