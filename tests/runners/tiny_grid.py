"""The tiny harm grid of the runner tests, and what a run of it leaves behind."""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

# in tests.experiments.test_harm.TINY: 4 conditions x 2 seeds + 3 grid points x 1 seed
TRAININGS = 4 * 2 + 3


def worker_threads(workers: int) -> int:
    """Torch threads of each of ``workers`` worker processes on this machine (both runners share
    the cores out so): a sequential run with as many threads gives the same numbers bit for bit."""
    return max(1, (os.cpu_count() or 1) // workers)


@dataclass
class GridRun:
    """What one run of the tiny harm grid left behind."""

    table1: pd.DataFrame
    checkpoints: list[Path]
    parent: Any  # the kedro run's MLflow run
    nested: list[Any]  # every other MLflow run the kedro run made

    @property
    def trainings(self) -> list[Any]:
        return [r for r in self.nested if r.data.tags.get("stage") == "pretrain"]
