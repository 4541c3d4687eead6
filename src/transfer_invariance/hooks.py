"""Project hooks: parameters for the pipeline registry, checks before any work, run names, results.

- ``ProjectSetupHook`` gives the pipeline registry the run's parameters (env and ``--params``
  included), so the study's and the experiments' namespaces follow the configuration and only the
  pipelines Kedro asks for are built, and has user errors reported as one message
  (``errors.install_user_error_report``).
- ``ParameterCheckHook`` runs before the first node: Kedro has already validated the typed blocks
  of the run's pipelines (see ``pipelines.params``); this hook validates the remaining annotated
  ``params:`` inputs of the run's nodes
  (e.g. seed lists), runs the blocks' file checks (``check_resources``: base images, CIFAR archives)
  and checks that every stored input of the run exists, naming the command that makes it.
- ``TrackingHook`` keeps MLflow truthful (runs killed with ``kill -9`` marked KILLED) and readable
  (nested runs named after the node's namespace), and prints where the tables and figures are.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_type_hints

import pandas as pd
from kedro.framework.hooks import hook_impl
from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node
from pydantic import BaseModel, TypeAdapter, ValidationError

from transfer_invariance import run_lock
from transfer_invariance.core import tracking
from transfer_invariance.core.reporting import headline_metrics
from transfer_invariance.errors import (
    MissingInputError,
    ParameterError,
    UserError,
    install_user_error_report,
)

logger = logging.getLogger(__name__)

REPORTING = "data/08_reporting"


class ProjectSetupHook:
    """Hands the run's parameters to the pipeline registry before Kedro builds the pipelines, and
    makes a user error (bad parameter, missing file, full disk) end the run with its message only."""

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        from transfer_invariance.pipeline_registry import use_parameters

        install_user_error_report()
        use_parameters(context.config_loader["parameters"], follow_request=True)


def _param_annotations(node: Node) -> dict[str, Any]:
    """``{params:<name>: annotation}`` for the node's parameter inputs that carry a type hint."""
    try:
        hints = get_type_hints(node.func, include_extras=True)
    except Exception:  # a node function without resolvable hints is simply not checked here
        return {}
    names = list(inspect.signature(node.func).parameters)
    out = {}
    for index, dataset in enumerate(node.inputs):
        if dataset.startswith("params:") and index < len(names) and names[index] in hints:
            out[dataset] = hints[names[index]]
    return out


def _producer(dataset: str, pipelines: Mapping[str, Pipeline]) -> str | None:
    """The pipeline (a stage or an experiment) whose outputs include ``dataset``."""
    first = dataset.split(".")[0]
    candidates = [first] + [n for n in pipelines if n not in (first, "__default__", "study")]
    for name in candidates:
        if name in pipelines and dataset in pipelines[name].all_outputs():
            return name
    return None


def _check_parameter(key: str, value: Any, annotation: Any, parameters: dict[str, Any]) -> None:
    """Validate a value Kedro did not (one that is not a typed block), then its file checks."""
    if not isinstance(value, BaseModel):
        try:
            TypeAdapter(annotation).validate_python(value, strict=True)
        except ValidationError as err:
            raise ParameterError(f"parameter '{key}' = {value!r}: {err}") from None
    check = getattr(value, "check_resources", None)
    if check is not None:
        try:
            check(parameters)
        except FileNotFoundError as err:
            raise MissingInputError(f"parameter '{key}': {err}") from err
        except ValueError as err:
            raise ParameterError(f"parameter '{key}': {err}") from err


def _check_runner(runner: str) -> None:
    """Kedro's own ``ParallelRunner`` hangs with PyTorch (``runners.parallel``): say so at once."""
    if "kedro.runner.parallel_runner.ParallelRunner" in runner:
        raise UserError(
            "Kedro's ParallelRunner hangs with PyTorch (forked workers, shared-memory tensors): use "
            "--runner=transfer_invariance.runners.ParallelRunner, the same runner with spawned "
            "workers set up for this project."
        )


class ParameterCheckHook:
    """Every parameter and every stored input of the run checked before any node starts."""

    @hook_impl
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: Any
    ) -> None:
        try:
            _check_runner(str(run_params.get("runner", "")))
            self._check(pipeline, catalog)
        except UserError as err:  # the run's MLflow run is FAILED, with the reason, not FINISHED
            tracking.fail_active_run(str(err))
            raise

    def _check(self, pipeline: Pipeline, catalog: Any) -> None:
        params = catalog.load("parameters")
        typed = {d: a for node in pipeline.nodes for d, a in _param_annotations(node).items()}
        # shared blocks (base_images, ...) first: the others' checks build on them
        for dataset in sorted(typed, key=lambda d: (d.count("."), d)):
            _check_parameter(
                dataset.removeprefix("params:"), catalog.load(dataset), typed[dataset], params
            )
        missing = [
            name
            for name in sorted(pipeline.inputs())
            if not name.startswith("params:") and name != "parameters" and not catalog.exists(name)
        ]
        if missing:
            from transfer_invariance.pipeline_registry import build_pipelines

            pipelines = build_pipelines()  # every pipeline: Kedro built only those of the run
            lines = []
            for name in missing:
                producer = _producer(name, pipelines)
                how = (
                    f"run `kedro run --pipeline={producer}` first"
                    if producer
                    else "no registered pipeline makes it"
                )
                lines.append(f"  - '{name}' does not exist: {how}")
            raise MissingInputError(
                "This run needs stored artifacts that are not there yet:\n" + "\n".join(lines)
            )


class TrackingHook:
    """Keeps MLflow truthful and readable, also under parallel runners.

    The run is tagged with its process; runs left RUNNING by a process that no longer exists
    (``kill -9``) are marked KILLED; the run's id goes into the environment, so trainings in
    worker threads nest under it (``tracking.parent_run``); nested runs
    are named after the running node's namespace; the tables and figures of ``data/08_reporting``
    are logged as artifacts of the run by its id once the run is over (and the numbers of the
    tables named in the ``headline_tables`` parameter as its metrics), and the log ends with where
    they are. (kedro-mlflow's artifact datasets cannot be pickled for ``ParallelRunner``.)
    """

    def __init__(self) -> None:
        self._run_id: str | None = None

    @hook_impl
    def before_pipeline_run(self, pipeline: Pipeline, catalog: Any) -> None:
        import mlflow

        active = mlflow.active_run()
        self._run_id = active.info.run_id if active is not None else None
        if active is None:
            return
        mlflow.set_tags(tracking.process_tags())
        # kedro-mlflow logs a typed block as one string ("harm.training: epochs=3 ..."); its
        # fields one by one (harm.training.epochs = 3) can be searched and compared across runs
        typed = {
            dataset.removeprefix("params:"): catalog.load(dataset)
            for node in pipeline.nodes
            for dataset, annotation in _param_annotations(node).items()
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
        }
        fields = {
            name: value.model_dump(mode="json") if isinstance(value, BaseModel) else value
            for name, value in typed.items()
        }
        tracking.log_params(
            self._run_id, {k: v for k, v in fields.items() if isinstance(v, Mapping)}
        )
        os.environ[tracking.PARENT_RUN_ENV] = active.info.run_id
        for name in tracking.mark_abandoned_runs():
            logger.warning(
                "MLflow run '%s' was left RUNNING by a process that no longer exists: marked KILLED",
                name,
            )

    @hook_impl
    def before_node_run(self, node: Node) -> None:
        tracking.set_scope(node.namespace or "")

    @hook_impl
    def after_node_run(self, node: Node) -> None:
        tracking.set_scope("")

    @hook_impl
    def after_pipeline_run(self, pipeline: Pipeline, catalog: Any) -> None:
        headline = catalog.load("parameters").get("headline_tables") or {}
        folders: dict[str, list[str]] = {}
        for name in sorted(pipeline.all_outputs()):
            path = _reporting_path(catalog, name)
            if path is not None and path.exists():
                tracking.log_artifact(self._run_id, str(path), path.parent.name)
                if path.suffix == ".csv" and path.stem in headline.get(path.parent.name, []):
                    table = pd.read_csv(path)
                    prefix = f"{path.parent.name}/{path.stem}"
                    tracking.log_metrics(self._run_id, headline_metrics(table, prefix))
                shown = str(path)[str(path).index(REPORTING) :]
                folder, _, file = shown.rpartition("/")
                folders.setdefault(folder, []).append(file)
        for folder, files in sorted(folders.items()):
            logger.info("Tables and figures: %s/ (%s)", folder, ", ".join(sorted(files)))
        self._finish()

    @hook_impl
    def on_pipeline_error(self) -> None:
        self._finish("FAILED")

    def _finish(self, status: str = "FINISHED") -> None:
        os.environ.pop(tracking.PARENT_RUN_ENV, None)
        # kedro-mlflow leaves the run open when Kedro runs in-process (a notebook, a test):
        # a later run would then nest inside it
        tracking.end_active_runs(status)


def _reporting_path(catalog: Any, name: str) -> Path | None:
    """The file a dataset writes under data/08_reporting, if it does."""
    try:
        description = catalog.get(name)._describe()
    except Exception:
        return None
    path = description.get("filepath") if isinstance(description, Mapping) else None
    if path is None or REPORTING not in str(path):
        return None
    return Path(str(path))


class RunLockHook:
    """One run per project folder at a time (``run_lock``), taken before the first node."""

    def __init__(self) -> None:
        self._lock: Path | None = None

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any]) -> None:
        project = Path(run_params.get("project_path") or Path.cwd())
        try:
            self._lock = run_lock.acquire(project)
        except UserError as err:  # the run's MLflow run is FAILED, with the reason
            tracking.fail_active_run(str(err))
            raise

    @hook_impl
    def after_pipeline_run(self) -> None:
        run_lock.release(self._lock)

    @hook_impl
    def on_pipeline_error(self) -> None:
        run_lock.release(self._lock)
