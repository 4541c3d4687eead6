"""``runners.ParallelRunner``: the grid's nodes in spawned worker processes on this machine."""

import os

import pandas as pd
from tiny_grid import TRAININGS

from transfer_invariance.runners import ParallelRunner

WORKERS = 2


def test_worker_processes_give_the_sequential_table_and_nest_every_training(harm_grid):
    # one torch thread each: the fast setting on a CPU (the default, the main process's thread
    # count, gives a default sequential run's numbers in the same way)
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
