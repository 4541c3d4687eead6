"""Test-wide settings: no telemetry / network from MLflow and Kedro."""

import os

os.environ["DO_NOT_TRACK"] = "true"
os.environ.setdefault("MLFLOW_ENABLE_TELEMETRY", "false")
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")

import shutil  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def project_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throw-away copy of the project's configuration in tmp_path (the current folder)."""
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(REPO / "conf", tmp_path / "conf", ignore=shutil.ignore_patterns("local"))
    (tmp_path / "conf" / "local").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "src").mkdir()  # the package itself is installed; Kedro only checks the folder
    monkeypatch.chdir(tmp_path)
    _fresh_mlflow_stores()
    return tmp_path


def _fresh_mlflow_stores() -> None:
    """MLflow caches its store and database engine by URI: "sqlite:///mlflow.db" would keep
    pointing at the database of the first test's folder. Each test's project gets its own."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
    from mlflow.tracking._tracking_service.registry import TrackingStoreRegistry

    TrackingStoreRegistry._get_store_with_resolved_uri.cache_clear()
    for engine in SqlAlchemyStore._engine_map.values():
        engine.dispose()
    SqlAlchemyStore._engine_map.clear()


@pytest.fixture
def kedro_project(project_dir: Path) -> Iterator[Callable[..., dict[str, Any]]]:
    """Runs the project in ``project_dir``: ``run(pipeline, params)`` is ``kedro run
    --pipeline=<pipeline>`` with runtime parameter overrides, so tests never write into the
    repository's data/ or mlflow.db.
    """
    tmp_path = project_dir

    def run(
        pipeline: str, params: dict[str, Any] | None = None, env: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        from kedro.framework.project import configure_project
        from kedro.framework.session import KedroSession
        from kedro.framework.startup import bootstrap_project

        bootstrap_project(tmp_path)
        configure_project("transfer_invariance")
        with KedroSession.create(
            project_path=tmp_path, env=env, runtime_params=params or {}
        ) as session:
            return session.run(pipeline_names=[pipeline], **kwargs)

    yield run
    import mlflow

    while mlflow.active_run() is not None:  # a failed run leaves kedro-mlflow's run open
        mlflow.end_run()


@pytest.fixture
def registered() -> Iterator[Callable[..., dict[str, Any]]]:
    """``build(env=None)``: the project's registered pipelines for the repository's conf/."""
    from kedro.config import OmegaConfigLoader

    from transfer_invariance import pipeline_registry, settings

    def build(env: str | None = None) -> dict[str, Any]:
        loader = OmegaConfigLoader(
            conf_source=str(REPO / "conf"), env=env, **settings.CONFIG_LOADER_ARGS
        )
        pipeline_registry.use_parameters(loader["parameters"])
        return pipeline_registry.register_pipelines()

    yield build
    pipeline_registry.use_parameters(None)
