"""Thin nodes of the pretrain stage."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from transfer_invariance.core.fingerprint import fingerprint
from transfer_invariance.core.tracking import log_artifact, log_metrics, nested_run, scope
from transfer_invariance.core.training import evaluate, load_model, pretrain, resolve_device
from transfer_invariance.datasets.checkpoints import Deferred
from transfer_invariance.pipelines.common import seed_of
from transfer_invariance.pipelines.params import TrainingParams

logger = logging.getLogger(__name__)


def pretrain_one(
    splits: dict[str, dict], training: TrainingParams, seed: int, label: str, data_fingerprint: str
) -> dict:
    """Pretrain one model in its own nested MLflow run (params, curves, duration, checkpoint)."""
    config = training.config(seed)
    name = f"{label} | pretrain | seed {seed}" if label else f"pretrain | seed {seed}"
    params = {
        "condition": label,
        "arch": training.arch,
        "width": training.width,
        **config.to_dict(),
        "device": str(resolve_device(config.device)),  # the device used, not "auto"
        "n_train": int(splits["train"]["labels"].numel()),
        "dataset": splits["train"]["meta"].get("name", ""),
    }
    tags = {
        "stage": "pretrain",
        "condition": label,
        "seed": str(seed),
        "fingerprint": data_fingerprint,
    }
    start = time.perf_counter()
    with nested_run(name, params, tags) as run_id:
        checkpoint, history = pretrain(
            splits["train"], splits["val"], training.arch, training.width, config, run_id, desc=name
        )
        test = evaluate(load_model(checkpoint), splits["test"], device=config.device)
        checkpoint.update(history=history, test_acc=test["acc"], condition=label, seed=seed)
        seconds = time.perf_counter() - start
        log_metrics(
            run_id,
            {
                "final_test_acc": test["acc"],
                "best_val_acc": checkpoint["best_val_acc"],
                "duration_s": seconds,
            },
        )
        if run_id is not None:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "checkpoint.pt"
                torch.save(checkpoint, path)
                log_artifact(run_id, str(path))
    logger.info(
        "%s: trained in %.1f s (best val acc %.3f, test acc %.3f)",
        name,
        seconds,
        checkpoint["best_val_acc"],
        test["acc"],
    )
    return checkpoint


def pretrain_models(data: dict[str, dict], training: TrainingParams) -> dict[str, Deferred]:
    """One pretraining per seed, returned deferred: the checkpoints dataset runs only the
    trainings it does not already hold (so the time is spent while the output is saved)."""
    label = scope()
    out = {}
    for key, splits in data.items():
        augment = splits["train"].get("meta", {}).get("augment")
        fp = fingerprint(
            training.as_dict(),
            splits["train"]["images"],
            splits["train"]["labels"],
            splits["val"]["images"],
            *([augment] if augment else []),  # per-epoch augmentation (real images)
        )
        out[key] = Deferred(
            fp,
            lambda splits=splits, key=key, fp=fp: pretrain_one(
                splits, training, seed_of(key), label, fp
            ),
        )
    return out


def pretrain_metrics(checkpoints: dict[str, dict]) -> pd.DataFrame:
    """Each seed's pretraining as one row: architecture, width, classes, best epoch, best
    validation accuracy and test accuracy on its own task (the table reports read, as they read
    the probe stage's ``probe_metrics``)."""
    rows = [
        {
            "seed": seed_of(key),
            "arch": checkpoint["arch"],
            "width": float(checkpoint["width"]),
            "num_classes": int(checkpoint["num_classes"]),
            "best_epoch": int(checkpoint["best_epoch"]),
            "best_val_acc": float(checkpoint["best_val_acc"]),
            "test_acc": float(checkpoint["test_acc"]),
        }
        for key, checkpoint in checkpoints.items()
    ]
    return pd.DataFrame(rows).sort_values("seed", ignore_index=True)
