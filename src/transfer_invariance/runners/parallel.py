"""Kedro's ``ParallelRunner`` with worker processes that can train this project's models.

Use ``kedro run --pipeline=harm --runner=transfer_invariance.runners.ParallelRunner``. Kedro's own
``ParallelRunner`` hangs here (the reasons are in ``runners.workers``): it forks its workers, and a
worker forked from a process whose OpenMP thread pool has run hangs at its first parallel torch
kernel (GNU OpenMP is not fork-safe). This runner starts them with ``spawn`` and sets each one up
with ``workers.start_worker`` (project, hooks, logging, tensors by value, a share of the cores).
Everything else is Kedro's: the same scheduling, shared-memory datasets and node hooks.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor, ProcessPoolExecutor
from multiprocessing import get_context

from kedro.runner import ParallelRunner as KedroParallelRunner

from transfer_invariance.runners.workers import share_tensors_by_value, start_worker


class ParallelRunner(KedroParallelRunner):
    """Independent nodes (the grid points of an experiment) in spawned worker processes."""

    def __init__(self, max_workers: int | None = None, is_async: bool = False) -> None:
        share_tensors_by_value()  # before the manager that holds the node outputs starts
        super().__init__(max_workers=max_workers, is_async=is_async)

    def _get_executor(self, max_workers: int) -> Executor:
        from kedro.framework.project import LOGGING, PACKAGE_NAME

        threads = max(1, (os.cpu_count() or 1) // max_workers)
        return ProcessPoolExecutor(
            max_workers=max_workers,
            mp_context=get_context("spawn"),
            initializer=start_worker,
            initargs=(PACKAGE_NAME or "transfer_invariance", dict(LOGGING), threads),
        )
