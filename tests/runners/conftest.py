"""``harm_grid``: the tiny harm grid run with a given runner, from an empty data folder."""

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tiny_grid import GridRun

from tests.experiments.test_harm import TINY


@contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    import torch

    old = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@pytest.fixture
def harm_grid(kedro_project: Callable[..., dict[str, Any]]) -> Callable[..., GridRun]:
    """``harm_grid(runner=None, threads=None)``: the tiny harm grid from an empty data folder
    (``threads``: torch threads of this process during the run)."""
    import mlflow

    def run(runner: Any = None, threads: int | None = None) -> GridRun:
        shutil.rmtree("data")
        Path("data").mkdir()
        mlflow.set_tracking_uri("sqlite:///mlflow.db")
        earlier = {r.info.run_id for r in _runs()}
        with _torch_threads(threads):
            kedro_project("harm", TINY, runner=runner)
        new = [r for r in _runs() if r.info.run_id not in earlier]
        (parent,) = [r for r in new if "mlflow.parentRunId" not in r.data.tags]
        return GridRun(
            table1=pd.read_csv("data/08_reporting/harm/table1.csv"),
            checkpoints=sorted(Path("data/06_models").rglob("seed_*.pt")),
            parent=parent,
            nested=[r for r in new if r is not parent],
        )

    return run


def _runs() -> list[Any]:
    import mlflow

    return mlflow.search_runs(search_all_experiments=True, output_format="list")
