"""Tiny MLflow helpers that work with explicit run ids and no-op without a run to log to.

The core library never depends on MLflow's global "active run" inside training: ``nested_run``
finds the parent once (``parent_run``: the active run, or the run named by ``$PARENT_RUN_ENV``,
which is how worker processes and threads of a parallel Kedro runner find it), creates a child run
through ``MlflowClient`` and yields the child's id; every other helper takes that id explicitly and
does nothing when it is ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_MAX_PARAM_LEN = 6000  # MLflow >= 2 limit for param values
_BATCH = 100  # MLflow's max params per log_batch; metrics are chunked at 1000

_scope: ContextVar[str] = ContextVar("tracking_scope", default="")
PARENT_RUN_ENV = "TRANSFER_INVARIANCE_PARENT_RUN"


def parent_run() -> tuple[str, str] | None:
    """(run id, experiment id) of the run that trainings nest under, or None without tracking."""
    import os

    import mlflow

    active = mlflow.active_run()
    if active is not None:
        return active.info.run_id, active.info.experiment_id
    run_id = os.environ.get(PARENT_RUN_ENV)
    if not run_id:
        return None
    return run_id, _client().get_run(run_id).info.experiment_id


def set_scope(scope: str) -> None:
    """Name what is running now (e.g. a Kedro node's namespace, ``harm.co_c``) for run names."""
    _scope.set(scope)


def scope() -> str:
    """The name set by ``set_scope`` in this thread ("" when none)."""
    return _scope.get()


def run_name(what: str) -> str:
    """``"<scope> | <what>"``, e.g. ``"harm.co_c | pretrain | seed 1"`` (just ``what`` without a scope)."""
    return f"{scope()} | {what}" if scope() else what


def flatten(params: Mapping[str, Any], prefix: str = "", sep: str = ".") -> dict[str, str]:
    """Flatten nested dicts to ``{"a.b": "value"}`` with stringified values."""
    out: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{sep}{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            out.update(flatten(value, name, sep))
        else:
            out[name] = str(value)[:_MAX_PARAM_LEN]
    return out


def _client():
    from mlflow.tracking import MlflowClient

    return MlflowClient()


@contextmanager
def nested_run(
    name: str, params: Mapping[str, Any], tags: Mapping[str, str] | None = None
) -> Iterator[str | None]:
    """Start a child run of ``parent_run()``; yield its id (``None`` without a parent run).

    The child is terminated FINISHED on normal exit and FAILED when the body raises.
    """
    parent = parent_run()
    if parent is None:
        yield None
        return
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

    client = _client()
    all_tags = {MLFLOW_PARENT_RUN_ID: parent[0], MLFLOW_RUN_NAME: name, **process_tags()}
    all_tags.update({str(k): str(v) for k, v in (tags or {}).items()})
    run = client.create_run(parent[1], tags=all_tags, run_name=name)
    run_id = run.info.run_id
    log_params(run_id, params)
    status = "FINISHED"
    try:
        yield run_id
    except BaseException:
        status = "FAILED"
        raise
    finally:
        client.set_terminated(run_id, status)


def log_params(run_id: str | None, params: Mapping[str, Any]) -> None:
    """Log (nested) parameters flattened to ``a.b.c`` keys (no-op when ``run_id`` is None)."""
    if run_id is None:
        return
    from mlflow.entities import Param

    flat = [Param(k, v) for k, v in flatten(params).items()]
    for i in range(0, len(flat), _BATCH):
        _client().log_batch(run_id, params=flat[i : i + _BATCH])


def log_metrics(run_id: str | None, metrics: Mapping[str, float], step: int | None = None) -> None:
    """Log scalar metrics to run ``run_id`` (no-op when ``run_id`` is None; NaN/inf skipped)."""
    if run_id is None or not metrics:
        return
    import time

    from mlflow.entities import Metric

    ts = int(time.time() * 1000)
    items = [
        Metric(str(k), float(v), ts, int(step or 0))
        for k, v in metrics.items()
        if v is not None and math.isfinite(float(v))
    ]
    client = _client()
    for i in range(0, len(items), 1000):
        client.log_batch(run_id, metrics=items[i : i + 1000])


def log_history(run_id: str | None, history: Mapping[str, list[float]], prefix: str = "") -> None:
    """Log per-epoch curves ``{"name": [v_epoch0, v_epoch1, ...]}`` with step = epoch, in batches."""
    if run_id is None:
        return
    import time

    from mlflow.entities import Metric

    ts = int(time.time() * 1000)
    items = [
        Metric(f"{prefix}{k}", float(v), ts, step)
        for k, values in history.items()
        for step, v in enumerate(values)
        if math.isfinite(float(v))
    ]
    client = _client()
    for i in range(0, len(items), 1000):
        client.log_batch(run_id, metrics=items[i : i + 1000])


def log_artifact(run_id: str | None, path: str, artifact_path: str | None = None) -> None:
    """Upload a local file or folder as an artifact of ``run_id``; no-op on None."""
    if run_id is None:
        return
    import os

    client = _client()
    if os.path.isdir(path):
        client.log_artifacts(run_id, path, artifact_path)
    else:
        client.log_artifact(run_id, path, artifact_path)


def process_tags() -> dict[str, str]:
    """Which process a run belongs to: lets a later run tell whether it can still be running."""
    import os
    import socket

    return {"host": socket.gethostname(), "pid": str(os.getpid())}


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def mark_abandoned_runs() -> list[str]:
    """Mark KILLED the RUNNING runs of the active run's experiment whose process (on this host)
    no longer exists, e.g. after ``kill -9``; returns their names."""
    import mlflow

    active = mlflow.active_run()
    if active is None:
        return []
    here = process_tags()["host"]
    client = _client()
    runs = client.search_runs(
        [active.info.experiment_id],
        filter_string=f"attributes.status = 'RUNNING' and tags.host = '{here}'",
        max_results=1000,
    )
    marked = []
    for run in runs:
        pid = run.data.tags.get("pid", "")
        if run.info.run_id == active.info.run_id or not pid.isdigit() or _alive(int(pid)):
            continue
        client.set_terminated(run.info.run_id, "KILLED")
        marked.append(run.info.run_name or run.info.run_id)
    return marked


def record_reused(name: str, fingerprint: str) -> str | None:
    """Link a reused training from the active run: tag ``reused.<name>`` = the id of the finished
    run that made it (found by its ``fingerprint`` tag); returns that id (None without tracking)."""
    parent = parent_run()
    if parent is None:
        return None
    client = _client()
    found = client.search_runs(
        [parent[1]],
        filter_string=f"tags.fingerprint = '{fingerprint}' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    run_id = found[0].info.run_id if found else "unknown (trained before tracking)"
    client.set_tag(parent[0], f"reused.{name}", run_id)
    return run_id if found else None


def fail_active_run(reason: str) -> None:
    """End the active run as FAILED with ``reason`` as its ``failure`` tag (no-op without one)."""
    import mlflow

    if mlflow.active_run() is not None:
        mlflow.set_tag("failure", reason[:_MAX_PARAM_LEN])
        mlflow.end_run("FAILED")


def end_active_runs(status: str = "FINISHED") -> None:
    """End every run still active in this thread with ``status``."""
    import mlflow

    while mlflow.active_run() is not None:
        mlflow.end_run(status)
