"""The tiny harm grid of the runner tests, and what a run of it leaves behind."""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

# tests/experiments/test_harm.py's TINY: 4 conditions x 2 seeds + 3 grid points x 1 seed
TINY = {
    "harm": {
        "seeds": [0, 1],
        "data": {"n_train": 60, "n_val": 20, "n_test": 30, "n_pairs": 20},
        "training": {"width": 0.125, "epochs": 1, "batch_size": 32},
        "probe": {"epochs": 3},
        "invariance": {"n_random_pairs": 50},
        "relevance": {"rhos": [0.0, 1.0], "betas": [0.5], "seeds": [0]},
    }
}
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
