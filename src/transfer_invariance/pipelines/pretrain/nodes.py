"""Thin nodes of the pretrain stage."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import torch

from transfer_invariance.core.tracking import log_artifact, log_metrics, nested_run
from transfer_invariance.core.training import default_config_for, evaluate, load_model, pretrain
from transfer_invariance.pipelines.common import seed_of, train_config


def check_training(training: dict[str, Any]) -> dict[str, Any]:
    """Validate the training parameters (architecture, epochs...) before any training starts."""
    config = train_config(
        training, 0, default_config_for(training.get("arch", "resnet18")), "training"
    )
    if not training.get("width", 1.0) > 0:
        raise ValueError(f"training.width must be > 0, got {training.get('width')}.")
    return {**training, "config": config.to_dict()}


def pretrain_models(data: dict[str, dict], training: dict[str, Any], label: str) -> dict[str, dict]:
    """Pretrain one model per seed; each is a nested MLflow run with curves and checkpoint."""
    arch, width = training.get("arch", "resnet18"), float(training.get("width", 1.0))
    checkpoints = {}
    for key, splits in data.items():
        config = train_config(training, seed_of(key), default_config_for(arch), "training")
        params = {
            "experiment_condition": label,
            "arch": arch,
            "width": width,
            **config.to_dict(),
            "n_train": int(splits["train"]["labels"].numel()),
            "dataset": splits["train"]["meta"].get("name", ""),
        }
        with nested_run(
            f"{label} | pretrain | {key}",
            params,
            {"stage": "pretrain", "condition": label, "seed": key},
        ) as run_id:
            checkpoint, history = pretrain(
                splits["train"], splits["val"], arch, width, config, run_id
            )
            test = evaluate(load_model(checkpoint), splits["test"], device=config.device)
            checkpoint.update(
                history=history, test_acc=test["acc"], condition=label, seed=seed_of(key)
            )
            log_metrics(
                run_id, {"final_test_acc": test["acc"], "best_val_acc": checkpoint["best_val_acc"]}
            )
            if run_id is not None:
                with tempfile.TemporaryDirectory() as tmp:
                    path = Path(tmp) / "checkpoint.pt"
                    torch.save(checkpoint, path)
                    log_artifact(run_id, str(path))
        checkpoints[key] = checkpoint
    return checkpoints
