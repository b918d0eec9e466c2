"""Where independent pieces of work run: here, in local processes, or on a Dask cluster.

One seam for scenario cases and bootstrap refits: :func:`open_executor` gives a
:class:`concurrent.futures.Executor` (a local process pool, or the executor of a
``distributed.Client`` connected to an existing scheduler), or None to run in this process;
:func:`run_pieces` runs a function over the pieces on it and returns the results in order,
whatever order they finish in. Pieces carry their own seeds, so where they run does not change
what they return. A Dask worker lost mid-run has its pieces recomputed by the scheduler.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from contextlib import contextmanager

from budgetopt.optimizer.errors import InputError, SchedulerError
from budgetopt.optimizer.settings import SCHEDULER_TIMEOUT

__all__ = ["open_executor", "run_pieces", "local_workers"]


def local_workers(workers: int | None, pieces: int) -> int:
    """Processes to use here: as asked, else one per core, never more than the pieces."""
    return max(1, min(workers or os.cpu_count() or 1, pieces))


@contextmanager
def open_executor(scheduler: str | None = None, workers: int = 1
                  ) -> Iterator[Executor | None]:
    """An executor for independent pieces (None: run them in this process).

    Args:
        scheduler: address of a running Dask scheduler (``tcp://host:8786``); needs the
            ``dask`` extra. The cluster's workers must have budgetopt installed.
        workers: local processes when there is no scheduler; 1 runs in this process.
    """
    if scheduler:
        with _dask_client(scheduler) as client:
            yield client.get_executor()
    elif workers > 1:
        # "spawn": a forked child would inherit HiGHS's solver threads in an unusable state
        with ProcessPoolExecutor(max_workers=workers,
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            yield pool
    else:
        yield None


@contextmanager
def _dask_client(scheduler: str):
    try:
        from distributed import Client
    except ImportError:
        raise InputError(f"--scheduler {scheduler} needs Dask's distributed: "
                         f"pip install 'budgetopt[dask]'.") from None
    try:
        client = Client(scheduler, timeout=SCHEDULER_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise SchedulerError(f"cannot reach the Dask scheduler at {scheduler} ({reason}); "
                             f"check the address and that `dask scheduler` runs there, or "
                             f"leave out --scheduler to run here.") from None
    with client:
        yield client


def run_pieces(executor: Executor | None, function: Callable, pieces: Sequence,
               progress: Callable[[int, int], None] | None = None) -> list:
    """``[function(piece) for piece in pieces]``, on ``executor`` when there is one;
    ``progress(done, total)`` after each piece completes."""
    total = len(pieces)
    results: list = [None] * total
    if executor is None:
        for number, piece in enumerate(pieces):
            results[number] = function(piece)
            if progress:
                progress(number + 1, total)
        return results
    futures = {executor.submit(function, piece): number for number, piece in enumerate(pieces)}
    try:
        for done, future in enumerate(as_completed(futures), start=1):
            results[futures[future]] = future.result()
            if progress:
                progress(done, total)
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    return results
