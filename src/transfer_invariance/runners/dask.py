"""Kedro's documented Dask runner pattern, for running a grid on a ``dask.distributed`` cluster.

Use ``kedro run --pipeline=harm --runner=transfer_invariance.runners.DaskRunner`` with a scheduler's
address in ``--runner-params "client_args.address=tcp://<host>:8786"`` or ``DASK_SCHEDULER_ADDRESS``;
without one, Dask starts a ``LocalCluster`` on this machine for the run (``docs/cluster.md``).

As in Kedro's deployment guide ("Dask"), every node is one Dask task that runs the node with Kedro's
own ``Task`` and a hook manager made on the worker, so node and dataset hooks (our ``TrackingHook``
names nested runs after the node's namespace) run where the node runs. Adapted to Kedro 1.x and to
a real cluster:

- Persisted datasets go through the catalog (the same absolute paths on every machine: a shared data
  folder); in-memory ones (``MemoryDataset``) are Dask futures, moved by Dask from the worker that
  made them to the worker that reads them, and forgotten once every reader has run.
- Nothing is taken from the worker's environment: each task carries the project's package name,
  logging configuration, the MLflow tracking URI, the id of the run's MLflow run (trainings nest
  under it) and the torch threads for its worker, and sets the worker up with
  ``workers.start_worker`` once per process and run (and per thread for MLflow's active run).
- Kedro's ``--only-missing-outputs`` works as with any runner (the filtering happens before any
  task is submitted); a failed node fails the run with its own error, what has not started never
  runs, and the log names the nodes to resume from.
"""

from __future__ import annotations

import operator
import os
import threading
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from distributed import Client, as_completed, get_worker
from kedro.framework.hooks.manager import (
    _create_hook_manager,
    _register_hooks,
    _register_hooks_entry_points,
)
from kedro.runner import AbstractRunner
from kedro.runner.task import Task

from transfer_invariance.core import tracking

if TYPE_CHECKING:
    from distributed import Future
    from kedro.io import CatalogProtocol
    from kedro.pipeline import Pipeline
    from kedro.pipeline.node import Node
    from pluggy import PluginManager

# What this worker process was last set up for; ``start_worker`` runs again only when a task
# brings something else (the next kedro run) or runs in a thread without the run's MLflow run.
_set_up_for: _WorkerSetup | None = None
_set_up_lock = threading.Lock()


class DaskRunner(AbstractRunner):
    """Every node a task on a Dask cluster; in-memory datasets passed between workers by Dask."""

    def __init__(
        self,
        client_args: Mapping[str, Any] | None = None,
        threads: int | None = None,
        is_async: bool = False,
    ) -> None:
        """``client_args``: keyword arguments of ``distributed.Client``: ``address``, the
        scheduler's; without one (and without ``DASK_SCHEDULER_ADDRESS``) a ``LocalCluster`` for
        the run, sized by the others (``n_workers``, ``threads_per_worker``).

        ``threads``: torch CPU threads of each node. By default a machine's cores shared among
        the Dask threads of the workers on it. A sequential run with the same number of threads
        gives identical numbers (CPU kernels round by their thread count)."""
        if threads is not None and (isinstance(threads, bool) or int(threads) < 1):
            raise ValueError(f"DaskRunner: threads = {threads!r}; use an integer >= 1.")
        super().__init__(is_async=is_async)
        self._client_args = dict(client_args or {})
        self._threads = int(threads) if threads is not None else None

    def _get_executor(self, max_workers: int) -> None:
        return None  # the cluster is the executor (see ``_run``)

    def _run(
        self,
        pipeline: Pipeline,
        catalog: CatalogProtocol,
        hook_manager: PluginManager | None = None,
        run_id: str | None = None,
    ) -> None:
        """Connect to the cluster (or start one), run the pipeline there, disconnect."""
        from kedro.framework.project import LOGGING, PACKAGE_NAME

        parent = tracking.parent_run()
        with Client(**self._client_args) as client:
            self._logger.info(
                "Dask cluster: %s (dashboard: %s)", client.scheduler.address, client.dashboard_link
            )
            setup = _WorkerSetup(
                package=PACKAGE_NAME or "transfer_invariance",
                logging_config=dict(LOGGING),
                tracking_uri=_tracking_uri(),
                parent_run=parent[0] if parent else None,
                threads=self._threads,
                threads_by_worker={} if self._threads else share_cores(client.run(_worker_slots)),
            )
            self._run_on(client, pipeline, catalog, run_id, setup)

    def _run_on(
        self,
        client: Client,
        pipeline: Pipeline,
        catalog: CatalogProtocol,
        run_id: str | None,
        setup: _WorkerSetup,
    ) -> None:
        """Submit every node at once, each after the nodes it depends on; wait for all of them."""
        nodes = pipeline.nodes  # in topological order: a node's dependencies come before it
        in_memory = {
            name
            for name in pipeline.all_outputs()
            if getattr(catalog.get(name), "_EPHEMERAL", False)
        }
        dependencies = pipeline.node_dependencies
        run = uuid.uuid4().hex[:8]  # task keys must be unique on the scheduler
        node_futures: dict[Future, Node] = {}
        finished: dict[Node, Future] = {}
        datasets: dict[str, Future] = {}
        for node in nodes:
            future = client.submit(
                _run_node,
                node,
                catalog,  # each task gets its own copy
                {name: datasets[name] for name in node.inputs if name in datasets},
                [finished[n] for n in dependencies[node]],
                sorted(in_memory & set(node.outputs)),
                setup,
                self._is_async,
                run_id,
                key=f"node-{node.name}-{run}",
            )
            node_futures[future] = node
            # small futures: "the node has finished" (orders the nodes after it) and one per
            # in-memory output (a node receives what it reads, not all that a node before it made)
            finished[node] = client.submit(_done, future, key=f"done-{node.name}-{run}")
            for name in in_memory & set(node.outputs):
                datasets[name] = client.submit(
                    operator.getitem, future, name, key=f"data-{name}-{run}"
                )
        # The scheduler keeps what submitted tasks still need; only the pipeline's free outputs
        # are held here, to be fetched.
        free = {name: datasets[name] for name in pipeline.outputs() & datasets.keys()}
        finished.clear()
        datasets.clear()

        load_counts = Counter(name for node in nodes for name in node.inputs)
        done_nodes: set[Node] = set()
        for future in as_completed(list(node_futures)):
            node = node_futures.pop(future)
            if future.status != "finished":
                # the futures go when the client closes, and with them the tasks that have not
                # started (``Client.cancel`` trips over the futures released above)
                node_futures.clear()
                self._suggest_resume_scenario(pipeline, done_nodes, catalog)
                future.result()  # raises the node's error
                raise RuntimeError(f"Dask task of node '{node.name}': {future.status}")
            done_nodes.add(node)
            for name in set(node.outputs) & free.keys():
                catalog.save(name, free.pop(name).result())
            self._logger.info("Completed node: %s", node.name)
            self._logger.info("Completed %d out of %d tasks", len(done_nodes), len(nodes))
            self._release_datasets(node, catalog, load_counts, pipeline)


@dataclass(frozen=True, eq=True)
class _WorkerSetup:
    """What a worker needs from the process that started the run (plain values; compared, not
    hashed)."""

    package: str
    logging_config: dict[str, Any]
    tracking_uri: str | None
    parent_run: str | None
    threads: int | None
    threads_by_worker: dict[str, int]

    def apply(self) -> None:
        """Set this worker process up for the run (once), and this thread's active MLflow run."""
        global _set_up_for
        import mlflow

        from transfer_invariance.runners.workers import start_worker

        with _set_up_lock:
            if self.tracking_uri:
                mlflow.set_tracking_uri(self.tracking_uri)
            if self.parent_run:
                os.environ[tracking.PARENT_RUN_ENV] = self.parent_run
            else:
                os.environ.pop(tracking.PARENT_RUN_ENV, None)
            active = mlflow.active_run()
            run_active = self.parent_run is None or (
                active is not None and active.info.run_id == self.parent_run
            )
            if self != _set_up_for or not run_active:
                start_worker(self.package, self.logging_config, self._threads_here())
                _set_up_for = self

    def _threads_here(self) -> int:
        if self.threads:
            return self.threads
        worker = get_worker()
        # a worker that joined after the run started: its own cores among its own threads
        share = _cores() // max(1, worker.state.nthreads)
        return max(1, self.threads_by_worker.get(worker.address, share))


def _run_node(
    node: Node,
    catalog: CatalogProtocol,
    inputs: dict[str, Any],
    after: list[None],
    in_memory_outputs: list[str],
    setup: _WorkerSetup,
    is_async: bool,
    run_id: str | None,
) -> dict[str, Any]:
    """On a worker: run ``node`` with Kedro's ``Task`` and the project's hooks; return its
    in-memory outputs. ``inputs``: its in-memory inputs (Dask has resolved their futures);
    ``after``: the nodes it depends on have finished."""
    setup.apply()
    for name, data in inputs.items():
        catalog.save(name, data)  # into this task's own copy of the catalog
    Task(
        node=node, catalog=catalog, hook_manager=_hook_manager(), is_async=is_async, run_id=run_id
    ).execute()
    return {name: catalog.load(name) for name in in_memory_outputs}


def _done(_: Any) -> None:
    """Marks that a node has finished, without moving its outputs."""
    return None


def _hook_manager() -> PluginManager:
    """The project's and the installed plugins' hooks (a plugin manager cannot be pickled, so
    each task makes one, as in Kedro's Dask guide)."""
    from kedro.framework.project import settings

    manager = _create_hook_manager()
    _register_hooks(manager, settings.HOOKS)
    _register_hooks_entry_points(manager, settings.DISABLE_HOOKS_FOR_PLUGINS)
    return manager


def _cores() -> int:
    return os.cpu_count() or 1


def _worker_slots(dask_worker: Any) -> tuple[str, int, int]:
    """(host, Dask threads, cores) of a worker (run on every worker by ``Client.run``)."""
    import socket

    return socket.gethostname(), dask_worker.state.nthreads, _cores()


def share_cores(slots: Mapping[str, tuple[str, int, int]]) -> dict[str, int]:
    """Torch threads per worker address, from each worker's (host, Dask threads, cores): a
    machine's cores divided among the Dask threads of all its workers (more threads than cores
    slow every training down)."""
    per_host: Counter[str] = Counter()
    for host, nthreads, _ in slots.values():
        per_host[host] += nthreads
    return {
        address: max(1, cores // max(1, per_host[host]))
        for address, (host, _, cores) in slots.items()
    }


def _tracking_uri() -> str | None:
    """This process's MLflow tracking URI, with a relative SQLite or file path made absolute (a
    worker's working folder may be another one; a shared store should be a server)."""
    import mlflow

    uri = str(mlflow.get_tracking_uri() or "")
    if not uri:
        return None
    sqlite = "sqlite:///"
    if uri.startswith(sqlite) and not uri[len(sqlite) :].startswith("/"):
        return sqlite + os.path.abspath(uri[len(sqlite) :])
    if "://" not in uri and not uri.startswith("file:"):
        return os.path.abspath(uri)
    return uri
