import mlflow
import pytest
import torch
from mlflow.tracking import MlflowClient

from transfer_invariance.core.probe import train_linear_probe
from transfer_invariance.core.tracking import flatten, log_artifact, log_metrics, nested_run
from transfer_invariance.core.training import TrainConfig, pretrain


def make_data(n: int, seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (n,), generator=g)
    images = (torch.rand(n, 3, 16, 16, generator=g) * 60).to(torch.uint8)
    images[labels == 1, 0] += 150
    return {
        "images": images,
        "labels": labels,
        "latents": {},
        "meta": {"class_names": ["dark", "red"], "image_size": 16, "name": "t"},
    }


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One temporary sqlite store for the module (creating its tables takes seconds)."""
    tmp_path = tmp_path_factory.mktemp("mlflow")
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    # explicit artifact location: the sqlite store's default artifact root is ./mlruns (the cwd)
    MlflowClient().create_experiment("test", artifact_location=(tmp_path / "artifacts").as_uri())
    mlflow.set_experiment("test")
    yield tmp_path
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(previous)


def test_no_active_run_is_a_no_op():
    assert mlflow.active_run() is None
    with nested_run("pretrain", {"a": 1}) as run_id:
        assert run_id is None
    log_metrics(None, {"x": 1.0})
    log_artifact(None, "/does/not/exist")


def test_flatten():
    assert flatten({"a": {"b": 1, "c": [1, 2]}, "d": None}) == {
        "a.b": "1",
        "a.c": "[1, 2]",
        "d": "None",
    }


def test_nested_pretrain_run_has_params_and_epoch_curves(store):
    cfg = TrainConfig(epochs=3, batch_size=16, progress=False, device="cpu", num_threads=1)
    client = MlflowClient()
    with mlflow.start_run(run_name="parent") as parent:
        with nested_run(
            "pretrain", {"arch": "resnet18", "config": cfg.to_dict()}, tags={"stage": "pretrain"}
        ) as run_id:
            assert run_id is not None and run_id != parent.info.run_id
            ckpt, hist = pretrain(
                make_data(48, 0), make_data(24, 1), "resnet18", 0.125, cfg, run_id=run_id
            )
            log_metrics(run_id, {"best_val_acc": ckpt["best_val_acc"]})
            path = store / "note.txt"
            path.write_text("hello")
            log_artifact(run_id, str(path))
        # the parent stays the active run: nothing in training touched the global active run
        assert mlflow.active_run().info.run_id == parent.info.run_id

    run = client.get_run(run_id)
    assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert run.data.tags["stage"] == "pretrain"
    assert run.info.run_name == "pretrain"
    assert run.info.status == "FINISHED"
    assert run.data.params["arch"] == "resnet18"
    assert run.data.params["config.epochs"] == "3"
    assert run.data.metrics["best_val_acc"] == pytest.approx(ckpt["best_val_acc"])
    for key in ("train_loss", "train_acc", "val_loss", "val_acc"):
        curve = sorted(client.get_metric_history(run_id, key), key=lambda m: m.step)
        assert [m.step for m in curve] == [0, 1, 2]
        assert [m.value for m in curve] == pytest.approx(hist[key])
    assert [a.path for a in client.list_artifacts(run_id)] == ["note.txt"]
    assert client.get_run(parent.info.run_id).info.status == "FINISHED"


def test_nested_probe_run_and_failure_status(store):
    g = torch.Generator().manual_seed(0)
    feats, labels = torch.randn(40, 5, generator=g), torch.randint(0, 3, (40,), generator=g)
    cfg = TrainConfig(epochs=4, batch_size=8, progress=False, device="cpu", num_threads=1)
    client = MlflowClient()
    with mlflow.start_run():
        with nested_run("probe", {"epochs": 4}) as run_id:
            train_linear_probe(feats, labels, feats, labels, 3, cfg, run_id=run_id)
        with pytest.raises(RuntimeError), nested_run("broken", {}) as failed_id:
            raise RuntimeError("boom")
    assert len(client.get_metric_history(run_id, "probe/val_acc")) == 4
    assert client.get_run(failed_id).info.status == "FAILED"
