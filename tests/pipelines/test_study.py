"""The user's study: stage pipelines built from the parameter files, run together or one by one."""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from transfer_invariance.pipelines.study import StudyError, StudyPlan

TRAINING = {"width": 0.125, "epochs": 1, "batch_size": 32}
SMALL = {"objects": 4, "n_train": 48, "n_val": 16, "n_test": 16}
TINY = {
    "generate_data": {
        "rotate_source": {"dataset": SMALL},
        "hue_source": {"dataset": SMALL},
        "rotate_target": {"dataset": SMALL, "pairs": {"n": 16}},
        "hue_target": {"dataset": SMALL, "pairs": {"n": 16}},
    },
    "pretrain": {
        "models": {"rotate_model": {"training": TRAINING}, "hue_model": {"training": TRAINING}}
    },
    "probe": {"settings": {"epochs": 3}},
    "finetune": {"settings": {"epochs": 1, "batch_size": 16, "n_samples": [20]}},
    "measure_invariance": {"settings": {"n_random_pairs": 50}},
    "render": {"progress": False},
}
STAGES = ("generate_data", "pretrain", "probe", "finetune", "measure_invariance", "report")
REPORT = Path("data/08_reporting/study")


def _plan(**changes):
    params = {
        "generate_data": {"a": {"dataset": {}}, "b": {"dataset": {}, "pairs": {"n": 4}}},
        "pretrain": {"models": {"m": {"data": "a"}}},
        "probe": {"models": {"m": ["b"]}},
        "finetune": {"models": {"m": ["b"]}},
        "measure_invariance": {"models": {"m": ["b"]}},
        "report": {"tables": {"t": {"metrics": "probe"}}},
    }
    for path, value in changes.items():
        stage, *rest = path.split("__")
        node = params[stage]
        for key in rest[:-1]:
            node = node[key]
        node[rest[-1]] = value
    return StudyPlan.from_parameters(params)


def test_plan_reads_names_and_their_links():
    plan = _plan()
    assert plan.datasets == {"a": False, "b": True} and plan.models == {"m": "a"}
    assert plan.probe == plan.finetune == plan.invariance == {"m": ["b"]}
    assert plan.tables == {"t": "probe"}


@pytest.mark.parametrize(
    "change, match",
    [
        (
            {"pretrain__models__m": {"data": "zz"}},
            r"pretrain.models.m.data' = 'zz' is not a dataset",
        ),
        ({"probe__models__x": ["b"]}, r"'x' is not a model of pretrain.models"),
        ({"probe__models__m": ["zz"]}, r"'zz' is not a dataset of generate_data"),
        ({"measure_invariance__models__m": ["a"]}, r"dataset 'a' has no pairs"),
        ({"report__tables__t": {"metrics": "pretrain"}}, r"report.tables.t.metrics"),
        ({"generate_data__bad-name": {"dataset": {}}}, r"Python identifiers"),
    ],
)
def test_plan_rejects_names_that_point_nowhere(change, match):
    with pytest.raises(StudyError, match=match):
        _plan(**change)


def test_every_dataset_and_model_is_a_namespace_of_its_stage(registered):
    pipelines = registered()
    assert set(STAGES) | {
        "study",
        "harm",
        "importance",
        "transfer",
        "mismatch",
        "profile",
        "__default__",
    } == set(pipelines)
    names = {n.name for n in pipelines["study"].nodes}
    assert {
        "generate_data.rotate_source.render_dataset",
        "generate_data.hue_target.render_pairs",
        "pretrain.rotate_model.pretrain_models",
        "pretrain.hue_model.key_hue_source_by_seed",
        "probe.rotate_model.probe_models",
        "finetune.hue_model.finetune_models",
        "measure_invariance.rotate_model.measure_sensitivity",
        "report.tabulate_transfer",
    } <= names
    assert pipelines["pretrain"].inputs() >= {
        "generate_data.rotate_source.train",
        "params:pretrain.models.rotate_model.training",
    }
    assert "pretrain.rotate_model.checkpoints" in pipelines["probe"].inputs()
    assert (
        pipelines["study"].nodes
        == sum((pipelines[s] for s in STAGES), pipelines["study"].__class__([])).nodes
    )


def test_stage_by_stage_gives_the_same_report_as_the_whole_study(kedro_project):
    kedro_project("study", TINY)
    whole = {p.name: p.read_bytes() for p in REPORT.iterdir() if p.suffix in (".csv", ".md")}
    assert set(whole) == {
        f"{t}.{x}" for t in ("transfer", "sensitivity", "finetune") for x in ("csv", "md")
    }
    transfer = pd.read_csv(REPORT / "transfer.csv")
    assert set(transfer["model"]) == {"rotate_model", "hue_model"}
    assert set(transfer["target"]) == {"rotate_target", "hue_target"}
    own_task = pd.read_csv("data/07_model_output/pretrain/rotate_model/pretrain_metrics.csv")
    assert list(own_task["seed"]) == [0]  # conf/base: pretrain.seeds
    assert own_task["test_acc"].between(0, 1).all() and set(own_task["arch"]) == {"resnet18"}

    for folder in Path("data").iterdir():
        shutil.rmtree(folder)
    for stage in STAGES:
        kedro_project(stage, TINY)
    assert {p.name: p.read_bytes() for p in REPORT.iterdir() if p.name in whole} == whole


def test_a_stage_started_before_its_inputs_names_them_and_the_command(kedro_project):
    with pytest.raises(FileNotFoundError) as err:
        kedro_project("probe", TINY)
    message = str(err.value)
    assert "'pretrain.rotate_model.checkpoints' does not exist" in message
    assert "kedro run --pipeline=pretrain" in message
    assert "kedro run --pipeline=generate_data" in message
    assert [p for p in Path("data").rglob("*") if p.is_file()] == []


def test_nested_mlflow_runs_are_named_after_the_namespace(kedro_project):
    kedro_project("generate_data", TINY)
    kedro_project("pretrain", TINY)
    import mlflow

    mlflow.set_tracking_uri("sqlite:///mlflow.db")
    runs = mlflow.search_runs(experiment_names=["transfer_invariance"], output_format="list")
    names = {r.info.run_name for r in runs}
    assert {
        "pretrain.rotate_model | pretrain | seed 0",
        "pretrain.hue_model | pretrain | seed 0",
    } <= names
    run = next(r for r in runs if r.info.run_name == "pretrain.rotate_model | pretrain | seed 0")
    assert run.data.params["arch"] == "resnet18" and run.data.metrics["duration_s"] > 0
    client = mlflow.MlflowClient()
    assert len(client.get_metric_history(run.info.run_id, "val_acc")) == 1  # one per epoch
    assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["checkpoint.pt"]
    parents = {r.info.run_id for r in runs if "mlflow.parentRunId" not in r.data.tags}
    assert run.data.tags["mlflow.parentRunId"] in parents
