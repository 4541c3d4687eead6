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

    ``threads``: torch CPU threads per worker. By default as many as the main process uses, so
    every training computes exactly as in a sequential run and the results are identical (CPU
    kernels round differently with a different number of threads, and over a training the
    difference grows to a different model). ``--runner-params=threads=1`` shares the cores
    between the workers instead: faster on a CPU, with results that differ from a sequential run
    as two sequential runs with different thread counts would.
    """

    def __init__(
        self, max_workers: int | None = None, is_async: bool = False, threads: int | None = None
    ) -> None:
        import torch

        if threads is not None and (isinstance(threads, bool) or int(threads) < 1):
            raise ValueError(f"ParallelRunner: threads = {threads!r}; use an integer >= 1.")
        self._threads = int(threads) if threads is not None else torch.get_num_threads()
        share_tensors_by_value()  # before the manager that holds the node outputs starts
        super().__init__(max_workers=max_workers, is_async=is_async)

    def _get_executor(self, max_workers: int) -> Executor:
        from kedro.framework.project import LOGGING, PACKAGE_NAME

        return ProcessPoolExecutor(
            max_workers=max_workers,
            mp_context=get_context("spawn"),
            initializer=start_worker,
            initargs=(PACKAGE_NAME or "transfer_invariance", dict(LOGGING), self._threads),
        )
