"""Full fine-tuning (paper App. C.2): start from the pretrained backbone plus the linear probe as head,
train every weight with Adam, lr 1e-3 decayed linearly to 0 over all steps, keep the best val acc.

Uses ``training.fit``: the same Lightning loop as pretraining. The backbone keeps the normalisation
(mean/std) of its pretraining data.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .tracking import log_metrics
from .training import (
    NormalizedModel,
    TrainConfig,
    check_image_size,
    check_labels,
    cpu_state_dict,
    evaluate,
    fit,
    load_model,
    num_classes_of,
    resolve_device,
    torch_threads,
)


def finetune_config(**overrides: Any) -> TrainConfig:
    """The paper's fine-tuning recipe: Adam, lr 1e-3 linearly to 0 (per step), 50 epochs."""
    return TrainConfig(epochs=50, lr=1e-3, optimizer="adam", lr_schedule="linear_to_zero").replace(
        **overrides
    )


def finetune(
    checkpoint: dict,
    probe_linear_state: dict,
    train: dict,
    val: dict,
    test: dict,
    config: TrainConfig,
    run_id: str | None = None,
    desc: str | None = None,
) -> tuple[dict, dict]:
    """Fine-tune all weights of ``checkpoint``'s model whose head is replaced by the probe.

    ``probe_linear_state``: state_dict of the probe's ``nn.Linear`` (``probe(...)["linear"]``), with
    ``num_classes`` = ``len(train["meta"]["class_names"])`` outputs. ``config`` is used as given
    (see ``finetune_config`` for the paper's recipe). ``desc`` labels the progress line (default
    "finetune <arch> | seed <seed>").

    Returns (checkpoint in ``pretrain``'s format for the target classes, metrics) with metrics =
    {"train_acc", "val_acc", "test_acc", "best_epoch", "history"}; accuracies are evaluated fresh per
    split with the best-val weights. Final accuracies go to ``run_id`` (prefixed "finetune/").
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}")
    size = int(checkpoint["image_size"])
    for name, data in (("train", train), ("val", val), ("test", test)):
        check_image_size(data, size, name, what=f"the checkpoint ({checkpoint.get('arch')})")
    num_classes = num_classes_of(train)
    for name, data in (("train", train), ("val", val), ("test", test)):
        check_labels(data, num_classes, name)
    weight = probe_linear_state.get("weight")
    if weight is None or tuple(weight.shape)[0] != num_classes:
        raise ValueError(
            f"probe_linear_state must hold a linear layer 'weight' with {num_classes} rows "
            f"(the target classes), got {None if weight is None else tuple(weight.shape)}"
        )
    resolve_device(config.device)

    base: NormalizedModel = load_model(checkpoint, device="cpu")
    head = nn.Linear(base.feature_dim, num_classes)
    head.load_state_dict(probe_linear_state)
    base.model.head = head
    net = base.train()
    if desc is None:
        desc = f"finetune {checkpoint['arch']} | seed {config.seed}"
    result = fit(net, train, val, config, run_id=run_id, desc=desc)

    metrics: dict[str, Any] = {}
    with torch_threads(config.num_threads):
        for name, data in (("train", train), ("val", val), ("test", test)):
            metrics[f"{name}_acc"] = evaluate(net, data, device=config.device)["acc"]
    metrics["best_epoch"] = result["best_epoch"]
    metrics["history"] = result["history"]
    log_metrics(
        run_id,
        {f"finetune/final_{k}": metrics[k] for k in ("train_acc", "val_acc", "test_acc")},
    )
    new_checkpoint = {
        **{k: checkpoint[k] for k in ("arch", "width", "image_size", "mean", "std")},
        "num_classes": num_classes,
        "state_dict": cpu_state_dict(net.model),
        "best_val_acc": float(result["best_val_acc"]),
        "best_epoch": int(result["best_epoch"]),
    }
    net.to(torch.device("cpu"))
    return new_checkpoint, metrics
