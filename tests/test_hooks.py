"""What the project's hooks guarantee about MLflow: the truth after crashes, failed checks and resumes."""

import subprocess

import mlflow
import pytest

from transfer_invariance.core.tracking import process_tags

SMALL = {"objects": 4, "n_train": 48, "n_val": 16, "n_test": 16}
TINY = {
    "generate_data": {
        name: {"dataset": SMALL, "pairs": {"n": 8}}
        for name in ("rotate_source", "hue_source", "rotate_target", "hue_target")
    },
    "pretrain": {
        "models": {
            m: {"training": {"width": 0.125, "epochs": 1, "batch_size": 32}}
            for m in ("rotate_model", "hue_model")
        }
    },
    "render": {"progress": False},
}


def _runs() -> list:
    """The project's runs (MLflow caches its store by URI: earlier tests' runs may be there too)."""
    mlflow.set_tracking_uri("sqlite:///mlflow.db")
    return mlflow.search_runs(experiment_names=["transfer_invariance"], output_format="list")


def test_runs_left_running_by_a_killed_process_are_marked_killed(kedro_project):
    client = mlflow.MlflowClient(tracking_uri="sqlite:///mlflow.db")
    found = client.get_experiment_by_name("transfer_invariance")
    experiment = found.experiment_id if found else client.create_experiment("transfer_invariance")
    gone = subprocess.Popen(["true"])
    gone.wait()  # a process that no longer exists, as after kill -9
    stale = client.create_run(
        experiment, tags={**process_tags(), "pid": str(gone.pid)}, run_name="stale"
    ).info.run_id
    alive = client.create_run(experiment, tags=process_tags(), run_name="alive")
    kedro_project("generate_data", TINY)
    assert client.get_run(stale).info.status == "KILLED"
    assert client.get_run(alive.info.run_id).info.status == "RUNNING"  # this process: alive


def test_a_run_stopped_by_the_checks_is_failed_with_the_reason(kedro_project):
    with pytest.raises(ValueError, match="harm.seeds"):
        kedro_project("harm", {"harm": {"seeds": [-1]}})
    run = max((r for r in _runs() if r.info.run_name == "harm"), key=lambda r: r.info.start_time)
    assert run.info.status == "FAILED" and "harm.seeds" in run.data.tags["failure"]


def test_a_resumed_run_links_the_trainings_it_reuses(kedro_project):
    kedro_project("generate_data", TINY)
    earlier = {r.info.run_id for r in _runs()}
    kedro_project("pretrain", TINY)
    trained = {
        r.info.run_id
        for r in _runs()
        if r.info.run_id not in earlier and r.data.tags.get("stage") == "pretrain"
    }
    assert len(trained) == 2
    earlier = {r.info.run_id for r in _runs()}
    kedro_project("pretrain", TINY)
    new = [r for r in _runs() if r.info.run_id not in earlier]
    (parent,) = new  # the resumed run trained nothing: no nested run
    reused = {k: v for k, v in parent.data.tags.items() if k.startswith("reused.")}
    assert set(reused.values()) == trained
    assert any(k.endswith("pretrain/rotate_model/checkpoints/seed_0") for k in reused)


def test_every_headline_table_is_a_report_table_of_its_experiment(registered):
    """The tables whose numbers become metrics of the run exist under the names configured."""
    import yaml

    from tests.conftest import REPO

    headline = yaml.safe_load((REPO / "conf/base/parameters.yml").read_text())["headline_tables"]
    pipelines = registered()
    for experiment, tables in headline.items():
        outputs = pipelines[experiment].all_outputs()
        for table in tables:
            assert f"{experiment}.report.{table}_csv" in outputs, (experiment, table)
