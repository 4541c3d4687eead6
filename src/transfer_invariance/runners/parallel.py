"""Kedro's ``ParallelRunner`` with worker processes that can train this project's models.

Use ``kedro run --pipeline=harm --runner=transfer_invariance.runners.ParallelRunner``. Kedro's own
``ParallelRunner`` hangs here (the reasons are in ``runners.workers``): it forks its workers, and a
worker forked from a process whose OpenMP thread pool has run hangs at its first parallel torch
kernel (GNU OpenMP is not fork-safe). This runner starts them with ``spawn`` and sets each one up
with ``workers.start_worker`` (project, hooks, logging, tensors by value, CPU threads).
Everything else is Kedro's: the same scheduling, shared-memory datasets and node hooks.
"""

from __future__ import annotations

from concurrent.futures import Executor, ProcessPoolExecutor
from multiprocessing import get_context

from kedro.runner import ParallelRunner as KedroParallelRunner

from transfer_invariance.runners.workers import share_tensors_by_value, start_worker


class ParallelRunner(KedroParallelRunner):
    """Independent nodes (the grid points of an experiment) in spawned worker processes.

    ``threads``: torch CPU threads per worker; by default the main process's threads shared
    between the workers (2 cores, 2 workers: 1 each), since more threads than cores slow every
    training down. A training's numbers depend on its thread count (CPU kernels round
    differently), so a run is identical to a sequential run whose trainings use as many threads:
    on 2 cores, ``OMP_NUM_THREADS=1 kedro run ...`` sequentially. ``--runner-params=threads=2``
    reproduces a default sequential run there, at the cost of 4 threads on 2 cores.
    """

    def __init__(
        self, max_workers: int | None = None, is_async: bool = False, threads: int | None = None
    ) -> None:
        if threads is not None and (isinstance(threads, bool) or int(threads) < 1):
            raise ValueError(f"ParallelRunner: threads = {threads!r}; use an integer >= 1.")
        self._threads = int(threads) if threads is not None else None
        share_tensors_by_value()  # before the manager that holds the node outputs starts
        super().__init__(max_workers=max_workers, is_async=is_async)

    def _get_executor(self, max_workers: int) -> Executor:
        import torch
        from kedro.framework.project import LOGGING, PACKAGE_NAME

        threads = self._threads or max(1, torch.get_num_threads() // max_workers)
        self._logger.info("%d worker processes, %d torch thread(s) each", max_workers, threads)
        return ProcessPoolExecutor(
            max_workers=max_workers,
            mp_context=get_context("spawn"),
            initializer=start_worker,
            initargs=(PACKAGE_NAME or "transfer_invariance", dict(LOGGING), threads),
        )
