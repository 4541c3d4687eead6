"""What a worker process needs before it runs this project's nodes (any runner, any engine).

- The project configured: Kedro's settings, hooks (run names, tracking) and logging, as in the
  process that started the run. A worker started with ``spawn`` (or on another machine) has none.
- Tensors that cross process boundaries by value. Importing torch registers reducers on
  ``multiprocessing``'s ``ForkingPickler`` that move a tensor's storage into shared memory (by
  file descriptor or file name); when Kedro's ``ParallelRunner`` hands a node's output to its
  manager that call never returned (seen with both of torch's sharing strategies). Pickled by
  value (the bytes ``torch.save`` writes), a tensor costs one copy and never hangs.
- A set number of torch CPU threads: the same as a sequential run for identical results, or a
  share of the cores for speed (see ``runners.ParallelRunner``).
- The run's MLflow run active, as in the main process: the trainings nest under it and what
  kedro-mlflow logs for a node goes to it (with no active run, mlflow would start a new one).
- mlflow's notice about type hints of ``predict`` (printed on import, nothing a user can act on)
  dropped, as the project's settings drop it in the main process.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import warnings
from multiprocessing.reduction import ForkingPickler
from typing import Any

import torch

from transfer_invariance.core import tracking


def _tensor_from_bytes(data: bytes) -> torch.Tensor:
    return torch.load(io.BytesIO(data), weights_only=True)


def _tensor_by_value(tensor: torch.Tensor) -> tuple:
    buffer = io.BytesIO()
    torch.save(tensor.detach().cpu(), buffer)
    return _tensor_from_bytes, (buffer.getvalue(),)


def share_tensors_by_value() -> None:
    """Make ``ForkingPickler`` (manager proxies, process pools) pickle tensors by value."""
    import torch.multiprocessing  # noqa: F401  (registers torch's reducers; ours replace them)

    for cls in (torch.Tensor, torch.nn.Parameter):
        ForkingPickler.register(cls, _tensor_by_value)


def start_worker(package: str, logging_config: dict[str, Any] | None, threads: int) -> None:
    """Set up a fresh worker process to run the project's nodes with ``threads`` CPU threads."""
    warnings.filterwarnings(
        "ignore", category=UserWarning, module="mlflow.pyfunc.utils.data_validation"
    )
    from kedro.framework.project import configure_logging, configure_project

    configure_project(package)
    if logging_config:
        configure_logging(logging_config)
    share_tensors_by_value()
    torch.set_num_threads(max(1, threads))
    parent = os.environ.get(tracking.PARENT_RUN_ENV)
    if parent:
        import mlflow

        active = mlflow.active_run()
        if active is None or active.info.run_id != parent:
            mlflow.start_run(run_id=parent, nested=active is not None)
    # Kedro 1.7 sets up a spawned worker again before each node, passing its LOGGING object to
    # itself (``LOGGING.configure(LOGGING)``), which ends in a RecursionError. It does so only when
    # the worker's start method is "spawn" or "forkserver"; this worker is set up already.
    multiprocessing.set_start_method("fork", force=True)
