"""``runners.ParallelRunner``: the grid's nodes in spawned worker processes on this machine."""

import os
from pathlib import Path

import pandas as pd
import pytest
from kedro.runner import ParallelRunner as KedroParallelRunner
from tiny_grid import TRAININGS

from tests.experiments.test_harm import TINY
from transfer_invariance.errors import UserError
from transfer_invariance.runners import ParallelRunner

WORKERS = 2


def test_worker_processes_give_the_sequential_table_and_nest_every_training(harm_grid):
    # one torch thread each (the default on 2 cores): a sequential run with one thread per
    # training gives the same numbers
    expected = harm_grid(threads=1)
    got = harm_grid(ParallelRunner(max_workers=WORKERS, threads=1))

    pd.testing.assert_frame_equal(got.table1, expected.table1, check_exact=True)
    assert len(got.checkpoints) == TRAININGS  # every condition and seed, every grid point
    assert len(got.trainings) == TRAININGS
    assert {r.data.tags["mlflow.parentRunId"] for r in got.nested} == {got.parent.info.run_id}
    assert all(r.info.run_name.startswith("harm.") for r in got.nested)  # node hooks ran there
    pids = {r.data.tags["pid"] for r in got.nested}
    assert str(os.getpid()) not in pids and len(pids) == WORKERS
    assert got.parent.info.status == "FINISHED"


def test_kedros_own_parallel_runner_is_refused_before_any_work(kedro_project):
    """It would hang at the first tensor a node returns: the run stops at once and says what to use."""
    with pytest.raises(UserError, match="transfer_invariance.runners.ParallelRunner"):
        kedro_project("harm", TINY, runner=KedroParallelRunner(max_workers=2))
    assert [p for p in Path("data").rglob("*") if p.is_file()] == []
