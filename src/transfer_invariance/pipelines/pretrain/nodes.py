"""Thin nodes of the pretrain stage."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import torch

from transfer_invariance.core.tracking import log_artifact, log_metrics, nested_run
from transfer_invariance.core.training import default_config_for, evaluate, load_model, pretrain
from transfer_invariance.datasets.incremental import Deferred
from transfer_invariance.pipelines.common import fingerprint, seed_of, train_config


def pretrain_one(splits: dict[str, dict], training: dict[str, Any], label: str, seed: int) -> dict:
    """Pretrain one model in its own nested MLflow run (params, curves, test accuracy, checkpoint)."""
    arch, width = training.get("arch", "resnet18"), float(training.get("width", 1.0))
    config = train_config(training, seed, default_config_for(arch), "training")
    params = {
        "condition": label,
        "arch": arch,
        "width": width,
        **config.to_dict(),
        "n_train": int(splits["train"]["labels"].numel()),
        "dataset": splits["train"]["meta"].get("name", ""),
    }
    tags = {"stage": "pretrain", "condition": label, "seed": str(seed)}
    with nested_run(f"{label} | pretrain | seed {seed}", params, tags) as run_id:
        checkpoint, history = pretrain(splits["train"], splits["val"], arch, width, config, run_id)
        test = evaluate(load_model(checkpoint), splits["test"], device=config.device)
        checkpoint.update(history=history, test_acc=test["acc"], condition=label, seed=seed)
        log_metrics(
            run_id, {"final_test_acc": test["acc"], "best_val_acc": checkpoint["best_val_acc"]}
        )
        if run_id is not None:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "checkpoint.pt"
                torch.save(checkpoint, path)
                log_artifact(run_id, str(path))
    return checkpoint


def pretrain_models(
    data: dict[str, dict], training: dict[str, Any], label: str
) -> dict[str, Deferred]:
    """One pretraining per seed, deferred: the dataset skips those already finished."""
    return {
        key: Deferred(
            fingerprint(
                training,
                splits["train"]["images"],
                splits["train"]["labels"],
                splits["val"]["images"],
            ),
            lambda splits=splits, key=key: pretrain_one(splits, training, label, seed_of(key)),
        )
        for key, splits in data.items()
    }
