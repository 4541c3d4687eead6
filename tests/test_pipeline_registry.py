"""A run builds and checks only what it runs: a broken experiment stops only the runs that use it.

Kedro names the pipelines it is about to ask for (``pipelines.set_requested``) before it reads
them; the registry builds those. With no request (``kedro registry list``, kedro viz) every
pipeline is built, and an experiment with broken parameters is left out with one warning line.
"""

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from kedro.framework.project import configure_project, pipelines
from kedro.runner import SequentialRunner

from tests.conftest import REPO
from transfer_invariance import pipeline_registry
from transfer_invariance.errors import MissingInputError, ParameterError

STAGES = {"generate_data", "pretrain", "probe", "finetune", "measure_invariance", "report"}
STUDY = STAGES | {"study", "__default__"}
OTHERS = {"harm", "transfer", "mismatch", "profile"}
# a block no version of the importance experiment accepts, whichever key shapes its grid
BROKEN_IMPORTANCE = {"grid": 3, "reference": 3}


@pytest.fixture(scope="module")
def base_parameters() -> dict[str, Any]:
    from kedro.config import OmegaConfigLoader

    from transfer_invariance import settings

    loader = OmegaConfigLoader(conf_source=str(REPO / "conf"), **settings.CONFIG_LOADER_ARGS)
    return dict(loader["parameters"])


@pytest.fixture
def kedro_asks() -> Iterator[Any]:
    """``ask(requested, parameters)``: Kedro's lazy ``pipelines`` after a run's hook handed the
    registry ``parameters`` and Kedro asked for ``requested`` (None: nothing named)."""
    configure_project("transfer_invariance")

    def ask(requested: list[str] | None, parameters: dict[str, Any]) -> Any:
        pipelines.set_requested(requested)
        pipeline_registry.use_parameters(parameters, follow_request=True)
        return pipelines

    yield ask
    pipelines.set_requested(None)
    pipeline_registry.use_parameters(None)


@pytest.fixture
def without_importance(base_parameters: dict[str, Any]) -> dict[str, Any]:
    """The project's parameters with the importance experiment's block missing."""
    return {k: v for k, v in base_parameters.items() if k != "importance"}


@pytest.mark.parametrize("name", ["generate_data", "harm"])
def test_a_requested_pipeline_is_built_without_the_broken_experiment(
    kedro_asks, without_importance, name
):
    built = kedro_asks([name], without_importance)
    assert set(built) == {name} and built[name].nodes


def test_the_broken_experiment_requested_raises_its_parameter_error(kedro_asks, without_importance):
    built = kedro_asks(["importance"], without_importance)
    with pytest.raises(ParameterError, match="importance"):
        built["importance"]


def test_the_study_brings_its_six_stages_and_no_experiment(kedro_asks, without_importance):
    for name in ("study", "__default__"):
        built = kedro_asks([name], without_importance)
        assert set(built) == STUDY
        assert built["__default__"] is built["study"]
        assert set(built["study"].nodes) == {n for s in STAGES for n in built[s].nodes}


def test_without_a_request_the_broken_experiment_is_left_out_with_one_line(
    kedro_asks, without_importance, caplog
):
    with caplog.at_level(logging.WARNING, logger=pipeline_registry.__name__):
        built = kedro_asks(None, without_importance)
        names = set(built)
    assert names == STUDY | OTHERS
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert "'importance'" in warning and "left out" in warning and "\n" not in warning


def test_without_a_request_a_bug_in_an_experiment_still_raises(
    kedro_asks, base_parameters, monkeypatch
):
    def bug(parameters):
        raise KeyError("a bug, not a parameter")

    monkeypatch.setattr(pipeline_registry.find_experiments()["importance"], "create_pipeline", bug)
    built = kedro_asks(None, base_parameters)
    with pytest.raises(KeyError, match="a bug"):
        set(built)


def test_a_direct_caller_gets_every_pipeline_whatever_kedro_asked_before(
    kedro_asks, base_parameters
):
    kedro_asks(["harm"], base_parameters)["harm"]  # a run of harm, earlier in this process
    pipeline_registry.use_parameters(base_parameters)  # as the tests' `registered` fixture
    assert set(pipeline_registry.register_pipelines()) == STUDY | OTHERS | {"importance"}


class DryRunner(SequentialRunner):
    """Everything of ``kedro run`` up to the first node (building, validation, hooks)."""

    def run(self, pipeline, catalog, hook_manager=None, run_id=None, only_missing_outputs=False):
        return {}


def test_a_run_neither_builds_nor_checks_an_experiment_it_does_not_run(kedro_project):
    # kedro run --pipeline=generate_data --params "importance.grid=3,importance.reference=3"
    kedro_project("generate_data", {"importance": BROKEN_IMPORTANCE}, runner=DryRunner())
    with pytest.raises(ParameterError, match="importance"):
        kedro_project("importance", {"importance": BROKEN_IMPORTANCE}, runner=DryRunner())


def test_a_misspelt_pipeline_still_gets_suggestions(kedro_project):
    with pytest.raises(ValueError, match="(?s)importanc'.*importance"):
        kedro_project("importanc", runner=DryRunner())


def _kedro(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DO_NOT_TRACK": "true", "COLUMNS": "400"}  # rich: no wrapped lines
    env.pop("KEDRO_ENV", None)
    kedro = [sys.executable, "-m", "kedro"]
    return subprocess.run([*kedro, *args], capture_output=True, text=True, env=env, timeout=60)


def test_kedro_registry_list_shows_a_broken_experiment_as_one_line(project_dir):
    import yaml

    (project_dir / "conf/local/parameters_broken.yml").write_text(
        yaml.safe_dump({"importance": BROKEN_IMPORTANCE})
    )
    listed = _kedro("registry", "list")
    assert listed.returncode == 0, listed.stderr
    output = listed.stdout + listed.stderr
    lines = [line for line in output.splitlines() if "left out" in line]
    assert len(lines) == 1 and "'importance'" in lines[0] and "parameter" in lines[0]
    names = {line[2:] for line in listed.stdout.splitlines() if line.startswith("- ")}
    assert names == STUDY | OTHERS


def test_a_missing_input_names_the_pipeline_that_makes_it(kedro_project):
    """Kedro built only probe: the hook's advice still finds producers among all pipelines."""
    with pytest.raises(MissingInputError) as raised:
        kedro_project("probe", {"importance": BROKEN_IMPORTANCE}, runner=DryRunner())
    assert "`kedro run --pipeline=pretrain` first" in str(raised.value)
    assert "`kedro run --pipeline=generate_data` first" in str(raised.value)
