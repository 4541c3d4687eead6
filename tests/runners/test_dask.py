"""``runners.DaskRunner`` on a ``LocalCluster`` standing in for a cluster: worker processes that
share nothing with the test's process but the installed project and the project folder."""

import math
import operator
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from distributed import LocalCluster
from kedro.io import DataCatalog
from kedro.pipeline import Pipeline, node
from tiny_grid import TRAININGS, worker_threads

from transfer_invariance.runners import DaskRunner
from transfer_invariance.runners.dask import share_cores

WORKERS = 2


@pytest.fixture(scope="module")
def worker_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("worker_home")


@pytest.fixture(scope="module")
def cluster(worker_home: Path) -> Iterator[LocalCluster]:
    """Two single-threaded worker processes started in another folder, with another MLflow store
    in their environment and no run to nest under: what a worker needs comes with each task."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(worker_home)
        patch.setenv("MLFLOW_TRACKING_URI", "sqlite:///not_this_one.db")
        patch.delenv("TRANSFER_INVARIANCE_PARENT_RUN", raising=False)
        cluster = LocalCluster(
            n_workers=WORKERS, threads_per_worker=1, processes=True, dashboard_address=None
        )
    with cluster:
        yield cluster


def test_the_grid_on_a_cluster_gives_the_sequential_table_and_nests_every_training(
    harm_grid, cluster, worker_home
):
    expected = harm_grid(threads=worker_threads(WORKERS))
    got = harm_grid(DaskRunner(client_args={"address": cluster.scheduler_address}))

    pd.testing.assert_frame_equal(got.table1, expected.table1, check_exact=True)
    assert len(got.checkpoints) == TRAININGS  # every condition and seed, every grid point
    assert len(got.trainings) == TRAININGS
    # every nested run (trainings, probes, sensitivities) under the one run of this kedro run,
    # named after its node's namespace (the project's hooks ran on the workers), made there
    assert {r.data.tags["mlflow.parentRunId"] for r in got.nested} == {got.parent.info.run_id}
    assert all(r.info.run_name.startswith("harm.") for r in got.nested)
    pids = {r.data.tags["pid"] for r in got.nested}
    assert str(os.getpid()) not in pids and len(pids) == WORKERS
    assert not list(worker_home.rglob("*.db"))  # the store the workers' environment named
    assert got.parent.info.status == "FINISHED"


def test_in_memory_outputs_go_from_worker_to_worker_and_free_ones_come_back(cluster):
    catalog = DataCatalog()
    catalog["x"] = 3
    pipeline = Pipeline(
        [
            node(operator.neg, "x", "y", name="negate"),  # y: in memory, used by both below
            node(operator.mul, ["y", "x"], "z", name="multiply"),
            node(operator.add, ["y", "z"], "w", name="add"),
        ]
    )
    outputs = DaskRunner(client_args={"address": cluster.scheduler_address}).run(pipeline, catalog)
    assert outputs["w"].load() == -3 + -9


def test_a_failing_node_fails_the_run_with_its_own_error(cluster):
    catalog = DataCatalog()
    catalog["x"] = 3
    pipeline = Pipeline(
        [
            node(operator.neg, "x", "y", name="negate"),
            node(math.sqrt, "y", "root", name="root"),
            node(operator.neg, "root", "after", name="after"),
        ]
    )
    runner = DaskRunner(client_args={"address": cluster.scheduler_address})
    with pytest.raises(ValueError, match="math domain error"):
        runner.run(pipeline, catalog)


def test_a_machines_cores_are_shared_among_the_dask_threads_on_it():
    slots = {
        "tcp://a:1": ("gpu-1", 1, 16),
        "tcp://a:2": ("gpu-1", 1, 16),
        "tcp://b:1": ("gpu-2", 4, 16),
        "tcp://c:1": ("small", 4, 2),
    }
    assert share_cores(slots) == {"tcp://a:1": 8, "tcp://a:2": 8, "tcp://b:1": 4, "tcp://c:1": 1}


def test_importing_the_runners_does_not_import_dask():
    code = (
        "import sys, transfer_invariance.runners as r; "
        "assert 'distributed' not in sys.modules and 'dask' not in sys.modules; "
        "r.DaskRunner; assert 'distributed' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
