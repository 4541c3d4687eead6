"""Linear probes on cached representations of a frozen backbone.

The backbone is run once per dataset (``representations``, eval mode so BatchNorm uses its running
statistics, no grad); the probe is a fresh ``nn.Linear`` trained with Adam on the cached features,
with mini-batches as index slices of a seeded per-epoch permutation, all on the device.

Determinism contract (used by the tests): the probe's initial weights are
``init_linear(feature_dim, num_classes, config.seed)`` and epoch ``e`` visits the samples in the order
``training.epoch_permutation(n, config.seed, e)`` cut by ``training.batch_slices(n, batch_size)``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .fingerprint import fingerprint
from .rng import seeded_global_rng
from .tracking import log_history, log_metrics
from .training import (
    EpochProgress,
    TrainConfig,
    batch_slices,
    check_image_size,
    check_labels,
    cpu_state_dict,
    epoch_permutation,
    load_model,
    lr_factor,
    num_classes_of,
    resolve_device,
    torch_threads,
)


def probe_config(**overrides: Any) -> TrainConfig:
    """The paper's probe recipe: Adam, lr 1e-3, 200 epochs, constant lr (plus ``overrides``)."""
    return TrainConfig(epochs=200, lr=1e-3, optimizer="adam", lr_schedule="constant").replace(
        **overrides
    )


@torch.no_grad()
def representations(
    model: nn.Module,
    images_uint8: torch.Tensor,
    batch_size: int = 512,
    device: str | torch.device = "auto",
) -> torch.Tensor:
    """Penultimate representations ``model.features(x)`` of uint8 images [N, 3, H, W] -> float32
    [N, D] on ``device``. ``model`` takes uint8 input (e.g. ``training.NormalizedModel``). Runs in
    eval mode and float32; the model's train/eval mode is restored afterwards (it stays on
    ``device``)."""
    if not isinstance(images_uint8, torch.Tensor) or images_uint8.ndim != 4:
        raise ValueError("images_uint8 must be a tensor [N, 3, H, W]")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    dev = resolve_device(device) if isinstance(device, str) else device
    was_training = model.training
    model.to(dev).eval()
    try:
        out = [
            model.features(images_uint8[s].to(dev, non_blocking=True)).float()
            for s in batch_slices(images_uint8.shape[0], batch_size, drop_singleton=False)
        ]
    finally:
        model.train(was_training)
    return torch.cat(out, 0)


def init_linear(in_features: int, num_classes: int, seed: int) -> nn.Linear:
    """A fresh linear layer whose initial weights depend only on ``seed`` (global RNG untouched)."""
    with seeded_global_rng(seed):
        return nn.Linear(in_features, num_classes)


@torch.no_grad()
def accuracy(linear: nn.Module, feats: torch.Tensor, labels: torch.Tensor) -> float:
    """Accuracy of ``linear`` on ``feats`` (computed fresh for this split)."""
    dev = next(linear.parameters()).device
    pred = linear(feats.to(dev).float()).argmax(1)
    return float((pred == labels.to(dev)).float().mean())


@torch.no_grad()
def _loss_acc(linear: nn.Module, feats: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    logits = linear(feats)
    return float(F.cross_entropy(logits, labels)), float(
        (logits.argmax(1) == labels).float().mean()
    )


def train_linear_probe(
    train_feats: torch.Tensor,
    train_labels: torch.Tensor,
    val_feats: torch.Tensor,
    val_labels: torch.Tensor,
    num_classes: int,
    config: TrainConfig,
    run_id: str | None = None,
    desc: str | None = None,
) -> tuple[nn.Linear, dict]:
    """Train a new linear layer on cached features; return (layer with the best-val-acc weights,
    history {"train_loss", "train_acc", "val_loss", "val_acc", "best_epoch", "best_val_acc"}).

    Train loss/acc are running averages over the epoch's batches (as in ``training.fit``); the per-
    epoch curves are logged to MLflow run ``run_id`` (prefixed "probe/") when it is given. With
    ``config.progress``, one progress line labelled ``desc`` (default "probe") shows the epochs.
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}")
    if train_feats.ndim != 2 or train_feats.shape[0] != train_labels.shape[0]:
        raise ValueError("train_feats must be [N, D] with N == len(train_labels)")
    if val_feats.ndim != 2 or val_feats.shape[1] != train_feats.shape[1]:
        raise ValueError("val_feats must be [M, D] with the same D as train_feats")
    if val_feats.shape[0] != val_labels.shape[0]:
        raise ValueError("val_feats and val_labels must have the same length")
    for name, lab in (("train_labels", train_labels), ("val_labels", val_labels)):
        if lab.numel() and (int(lab.min()) < 0 or int(lab.max()) >= num_classes):
            raise ValueError(f"{name} must lie in 0..{num_classes - 1} (num_classes={num_classes})")

    with torch_threads(config.num_threads):
        with EpochProgress(
            config.epochs, "probe" if desc is None else desc, config.progress
        ) as bar:
            return _fit_linear(
                train_feats, train_labels, val_feats, val_labels, num_classes, config, run_id, bar
            )


def _fit_linear(train_feats, train_labels, val_feats, val_labels, num_classes, config, run_id, bar):
    dev = resolve_device(config.device)
    xt = train_feats.to(dev).float()
    yt = train_labels.to(dev).long()
    xv = val_feats.to(dev).float()
    yv = val_labels.to(dev).long()
    n = xt.shape[0]
    linear = init_linear(xt.shape[1], num_classes, config.seed).to(dev)
    if config.optimizer == "sgd":
        opt = torch.optim.SGD(
            linear.parameters(), lr=config.lr, momentum=0.9, weight_decay=config.weight_decay
        )
    else:
        opt_cls = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
        opt = opt_cls(linear.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    slices = batch_slices(n, config.batch_size, drop_singleton=False)
    total = config.epochs * len(slices)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: lr_factor(config, step, total, len(slices))
    )
    history: dict[str, list[float]] = {
        k: [] for k in ("train_loss", "train_acc", "val_loss", "val_acc")
    }
    best_acc, best_epoch, best_state = -1.0, -1, None
    for epoch in range(config.epochs):
        order = epoch_permutation(n, config.seed, epoch).to(dev)
        stats = torch.zeros(3, device=dev)
        for s in slices:
            idx = order[s]
            logits = linear(xt.index_select(0, idx))
            y = yt.index_select(0, idx)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            with torch.no_grad():
                stats += torch.stack(
                    [
                        loss.detach() * y.shape[0],
                        (logits.argmax(1) == y).sum().float(),
                        torch.tensor(float(y.shape[0]), device=dev),
                    ]
                )
        tl, tc, tn = stats.tolist()
        vl, va = _loss_acc(linear, xv, yv)
        history["train_loss"].append(tl / tn)
        history["train_acc"].append(tc / tn)
        history["val_loss"].append(vl)
        history["val_acc"].append(va)
        if va > best_acc:
            best_acc, best_epoch = va, epoch
            best_state = cpu_state_dict(linear)
        bar.epoch_end({"val_acc": va, "train_loss": tl / tn})
    linear.load_state_dict(best_state)
    log_history(run_id, history, prefix="probe/")
    return linear, {**history, "best_epoch": best_epoch, "best_val_acc": best_acc}


def probe(
    checkpoint: dict,
    train: dict,
    val: dict,
    test: dict,
    config: TrainConfig,
    run_id: str | None = None,
    cache: dict[str, torch.Tensor] | None = None,
    desc: str | None = None,
) -> dict:
    """Linear probe of a pretrained checkpoint on a target task (tensor sets train/val/test).

    ``cache`` (one dict per checkpoint) keeps representations by image content, so targets that
    share images (e.g. the same inputs with other labels) run the backbone once.

    Returns {"linear": CPU state_dict, "history": ..., "train_acc", "val_acc", "test_acc",
    "best_epoch", "num_classes"}; accuracies are those of the best-val probe, fresh per split.
    Final accuracies are logged to ``run_id`` (prefixed "probe/") when given. ``desc`` labels the
    progress line of the probe's training (default "probe").
    """
    size = int(checkpoint["image_size"])
    for name, data in (("train", train), ("val", val), ("test", test)):
        check_image_size(data, size, name, what=f"the checkpoint ({checkpoint.get('arch')})")
    num_classes = num_classes_of(train)
    for name, data in (("train", train), ("val", val), ("test", test)):
        check_labels(data, num_classes, name)
    with torch_threads(config.num_threads):
        return _probe(checkpoint, train, val, test, config, num_classes, run_id, cache, desc)


def _probe(checkpoint, train, val, test, config, num_classes, run_id, cache, desc) -> dict:
    dev = resolve_device(config.device)
    model = load_model(checkpoint, device=dev)
    bs = max(512, config.batch_size)

    def feats_of(images: torch.Tensor) -> torch.Tensor:
        if cache is None:
            return representations(model, images, bs, dev)
        key = fingerprint(images)
        if key not in cache:
            cache[key] = representations(model, images, bs, dev)
        return cache[key]

    feats = {
        name: feats_of(data["images"])
        for name, data in (("train", train), ("val", val), ("test", test))
    }
    labels = {
        name: data["labels"].to(dev).long()
        for name, data in (("train", train), ("val", val), ("test", test))
    }
    linear, history = train_linear_probe(
        feats["train"],
        labels["train"],
        feats["val"],
        labels["val"],
        num_classes,
        config,
        run_id,
        desc=desc,
    )
    result = {
        "linear": cpu_state_dict(linear),
        "history": history,
        "train_acc": accuracy(linear, feats["train"], labels["train"]),
        "val_acc": accuracy(linear, feats["val"], labels["val"]),
        "test_acc": accuracy(linear, feats["test"], labels["test"]),
        "best_epoch": history["best_epoch"],
        "num_classes": num_classes,
    }
    log_metrics(
        run_id,
        {f"probe/final_{k}": result[k] for k in ("train_acc", "val_acc", "test_acc")},
    )
    return result
