"""The training loop (``fit``), pretraining from scratch (``pretrain``) and evaluation.

Conversion to float and per-channel normalisation happen on the device inside ``NormalizedModel``;
inputs are channels_last and bf16 autocast is used on CUDA only. ``lightning`` is imported inside functions
only (it costs seconds at import time).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..models import MODELS, build_model
from ..rng import seeded_global_rng
from .config import FIXED_MEAN_STD, TrainConfig
from .data import (
    EpochAugmentation,
    batch_slices,
    check_image_size,
    check_labels,
    check_tensor_set,
    device_loader,
    num_classes_of,
    resolve_device,
)
from .model import NormalizedModel, channel_stats, cpu_state_dict, memory_format
from .module import make_module
from .progress import EpochProgress, quiet_lightning


@contextlib.contextmanager
def torch_threads(num_threads: int | None) -> Iterator[None]:
    """Run the body with ``torch.set_num_threads(num_threads)`` (no-op for None); restore after."""
    if num_threads is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def autocast(device: torch.device, bf16: bool | None = None) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA, nothing elsewhere (``bf16`` True/False forces it on/off)."""
    if device.type == "cuda" if bf16 is None else bf16:
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def evaluate(
    model: nn.Module, data: dict, batch_size: int = 1024, device: str | torch.device = "auto"
) -> dict[str, float]:
    """Loss and accuracy of ``model`` (uint8-input, e.g. ``NormalizedModel``) on a tensor set,
    computed fresh for this split. The model is put in eval mode; its mode is restored afterwards."""
    dev = resolve_device(device)
    was_training = model.training
    model.to(dev).eval()
    loss_sum, correct = 0.0, 0
    images, labels = data["images"], data["labels"]
    try:
        for s in batch_slices(images.shape[0], batch_size, drop_singleton=False):
            x = images[s].to(dev, non_blocking=True)
            y = labels[s].to(dev, dtype=torch.long, non_blocking=True)
            with autocast(dev):
                logits = model(x).float()
            loss_sum += float(F.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(1) == y).sum())
    finally:
        model.train(was_training)
    n = images.shape[0]
    return {"loss": loss_sum / n, "acc": correct / n}


def fit(
    net: NormalizedModel,
    train: dict,
    val: dict,
    config: TrainConfig,
    run_id: str | None = None,
    desc: str | None = None,
) -> dict[str, Any]:
    """Train every parameter of ``net`` with cross-entropy; the one loop of pretrain and finetune.

    A training set with ``meta["augment"]`` is augmented afresh every epoch (``EpochAugmentation``).
    Validates every epoch, keeps (a CPU deep copy of) the state of ``net.model`` with the best
    validation accuracy (first epoch wins ties) and loads it back into ``net`` at the end.
    With ``run_id``, Lightning's ``MLFlowLogger`` bound to that run logs train/val loss/acc and lr
    per epoch (step = epoch). With ``config.progress``, one progress line labelled ``desc``
    (default "train | seed <seed>") shows the epochs, validation accuracy and training loss;
    Lightning itself prints nothing. Returns ``{"history", "best_epoch", "best_val_acc"}``.
    """
    import lightning as L

    device = resolve_device(config.device)
    label = desc if desc is not None else f"train | seed {config.seed}"
    with torch_threads(config.num_threads):
        net.to(device).to(memory_format=memory_format(device))
        train_loader = device_loader(
            train, config.batch_size, config.seed, True, device, EpochAugmentation.of(train)
        )
        val_loader = device_loader(val, max(config.batch_size, 512), config.seed, False, device)
        logger: Any = False
        if run_id is not None:
            import mlflow
            from lightning.pytorch.loggers import MLFlowLogger

            logger = MLFlowLogger(run_id=run_id, tracking_uri=mlflow.get_tracking_uri())
        if device.type == "cuda":
            accel, devices = "gpu", [device.index or 0]
        else:
            accel, devices = device.type, 1
        with quiet_lightning(), EpochProgress(config.epochs, label, config.progress) as bar:
            module = make_module(net, config, len(train_loader), on_epoch_end=bar.epoch_end)
            trainer = L.Trainer(
                max_epochs=config.epochs,
                accelerator=accel,
                devices=devices,
                precision="bf16-mixed" if device.type == "cuda" else "32-true",
                benchmark=device.type == "cuda",  # cudnn picks the fastest kernels per shape
                logger=logger,
                enable_checkpointing=False,
                enable_model_summary=False,
                enable_progress_bar=False,
                num_sanity_val_steps=0,
                use_distributed_sampler=False,
                log_every_n_steps=1,
                default_root_dir=None,
            )
            trainer.fit(module, train_dataloaders=train_loader, val_dataloaders=val_loader)
        if module.best_state is None:  # pragma: no cover - interrupted before the first epoch end
            raise RuntimeError("training stopped before the first epoch finished")
        net.model.load_state_dict(module.best_state)
        return {
            "history": module.history,
            "best_epoch": module.best_epoch,
            "best_val_acc": module.best_val_acc,
        }


def pretrain(
    train: dict,
    val: dict,
    model_name: str,
    width: float,
    config: TrainConfig,
    run_id: str | None = None,
    desc: str | None = None,
) -> tuple[dict, dict]:
    """Pretrain ``model_name`` (width multiplier ``width``) on tensor set ``train``.

    The model's image size is the data's; ``num_classes`` is ``len(train["meta"]["class_names"])``
    (or ``max(label) + 1`` without meta). ``desc`` labels the progress line (default
    "pretrain <model_name> | seed <seed>"). Returns ``(checkpoint, history)`` with
    checkpoint = {"arch", "width", "num_classes", "image_size", "state_dict" (CPU, best val acc),
    "mean", "std" (by ``config.normalisation``), "normalisation", "best_val_acc", "best_epoch"}
    and history = {"train_loss", "train_acc", "val_loss", "val_acc"} (one value per epoch).
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}")
    if model_name not in MODELS:
        raise ValueError(f"unknown model name {model_name!r}; known names: {sorted(MODELS)}")
    if not width > 0:
        raise ValueError(f"width must be > 0, got {width}")
    image_size = check_tensor_set(train, "train")
    check_image_size(val, image_size, "val", what="the training set (train)")
    if "meta" in train and "class_names" in train["meta"]:
        num_classes = num_classes_of(train)
    else:
        num_classes = int(train["labels"].max()) + 1
    check_labels(train, num_classes, "train")
    check_labels(val, num_classes, "val")
    resolve_device(config.device)

    with seeded_global_rng(config.seed):
        model = build_model(model_name, num_classes, width, image_size)
    device = resolve_device(config.device)
    if config.normalisation == "fixed":
        mean, std = [FIXED_MEAN_STD] * 3, [FIXED_MEAN_STD] * 3
    else:
        with torch_threads(config.num_threads):
            mean, std = channel_stats(train["images"].to(device))
    net = NormalizedModel(model, mean, std)
    if desc is None:
        desc = f"pretrain {model_name} | seed {config.seed}"
    result = fit(net, train, val, config, run_id=run_id, desc=desc)
    checkpoint = {
        "arch": model_name,
        "width": float(width),
        "num_classes": num_classes,
        "image_size": image_size,
        "state_dict": cpu_state_dict(net.model),
        "mean": mean,
        "std": std,
        "normalisation": config.normalisation,
        "best_val_acc": float(result["best_val_acc"]),
        "best_epoch": int(result["best_epoch"]),
    }
    return checkpoint, result["history"]
