from pathlib import Path

import pandas as pd

TINY = {
    "demo": {
        "pretrain_data": {"dataset": {"objects": 4, "n_train": 64, "n_val": 16, "n_test": 16}},
        "target_same": {
            "dataset": {"objects": 4, "n_train": 48, "n_val": 16, "n_test": 16},
            "pairs": {"n": 16},
        },
        "target_different": {
            "dataset": {"objects": 4, "n_train": 48, "n_val": 16, "n_test": 16},
            "pairs": {"n": 16},
        },
        "training": {"width": 0.125, "epochs": 2, "batch_size": 32},
        "probe": {"epochs": 3},
        "finetune": {"epochs": 1, "batch_size": 16, "n_samples": [20]},
        "invariance": {"n_random_pairs": 50},
    },
    "render": {"progress": False},
}


def test_demo_runs_all_six_stages_and_tracks_nested_runs(kedro_project):
    kedro_project("demo", TINY)
    for name in ("transfer", "sensitivity", "finetune"):
        assert Path(f"data/08_reporting/demo/{name}.png").stat().st_size > 1000
        assert Path(f"data/08_reporting/demo/{name}.md").read_text().startswith("###")
    transfer = pd.read_csv("data/08_reporting/demo/transfer.csv")
    assert set(transfer["target"]) == {"same", "different"}
    assert Path("data/06_models/demo/model/checkpoints/index.json").exists()

    import mlflow

    mlflow.set_tracking_uri("sqlite:///mlflow.db")
    runs = mlflow.search_runs(experiment_names=["transfer_invariance"], output_format="list")
    names = {r.info.run_name for r in runs}
    assert "demo.model | pretrain | seed 0" in names
    assert {
        "demo.model | probe on same | seed_0",
        "demo.model | probe on different | seed_0",
    } <= names
    assert any("finetune" in n for n in names)
    parent = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parent) == 1
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent[0].info.run_id]
    assert len(children) == len(runs) - 1
    pretrain_run = next(r for r in runs if r.info.run_name == "demo.model | pretrain | seed 0")
    client = mlflow.MlflowClient()
    assert len(client.get_metric_history(pretrain_run.info.run_id, "val_acc")) == 2  # one per epoch
    assert pretrain_run.data.params["arch"] == "resnet18"
    assert [a.path for a in client.list_artifacts(pretrain_run.info.run_id)] == ["checkpoint.pt"]
