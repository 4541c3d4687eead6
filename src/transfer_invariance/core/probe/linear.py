"""Training linear probes on cached features, alone or many as one batched problem.

The probe is a fresh ``nn.Linear`` trained with Adam on the cached features, with mini-batches as
index slices of a seeded per-epoch permutation, all on the device. Probes that share their shape
(feature width, sample counts, recipe up to the seed) train as one batched problem
(``train_linear_probes``): one weight tensor [P, D, C], one step for all P, no host synchronisation
per step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..rng import seeded_global_rng
from ..tracking import log_history
from ..training import (
    EpochProgress,
    TrainConfig,
    batch_slices,
    epoch_permutation,
    lr_factor,
    resolve_device,
    torch_threads,
)

# the per-epoch curves of a probe's history, in the order of the rows of its epoch table
_CURVES = ("train_loss", "train_acc", "val_loss", "val_acc")


def probe_config(**overrides: Any) -> TrainConfig:
    """The paper's probe recipe: Adam, lr 1e-3, 200 epochs, constant lr (plus ``overrides``)."""
    return TrainConfig(epochs=200, lr=1e-3, optimizer="adam", lr_schedule="constant").replace(
        **overrides
    )


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


def _check_features(train_feats, train_labels, val_feats, val_labels, num_classes) -> None:
    if train_feats.ndim != 2 or train_feats.shape[0] != train_labels.shape[0]:
        raise ValueError("train_feats must be [N, D] with N == len(train_labels)")
    if val_feats.ndim != 2 or val_feats.shape[1] != train_feats.shape[1]:
        raise ValueError("val_feats must be [M, D] with the same D as train_feats")
    if val_feats.shape[0] != val_labels.shape[0]:
        raise ValueError("val_feats and val_labels must have the same length")
    for name, lab in (("train_labels", train_labels), ("val_labels", val_labels)):
        if lab.numel() and (int(lab.min()) < 0 or int(lab.max()) >= num_classes):
            raise ValueError(f"{name} must lie in 0..{num_classes - 1} (num_classes={num_classes})")


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
    It is ``train_linear_probes`` with one probe.
    """
    probes = train_linear_probes(
        [ProbeFeatures(train_feats, train_labels, val_feats, val_labels, config, run_id)],
        num_classes,
        desc=desc,
    )
    return probes[0]


@dataclass(frozen=True)
class ProbeFeatures:
    """One probe's cached training and validation features [N, D] / [M, D], labels and recipe."""

    train_feats: torch.Tensor
    train_labels: torch.Tensor
    val_feats: torch.Tensor
    val_labels: torch.Tensor
    config: TrainConfig
    run_id: str | None = None


def batch_key(features: ProbeFeatures) -> tuple:
    """What probes must share to train as one batched problem: feature width, sample counts and
    the recipe up to its seed (classes are checked by the caller)."""
    return (
        int(features.train_feats.shape[1]),
        int(features.train_feats.shape[0]),
        int(features.val_feats.shape[0]),
        features.config.replace(seed=0),
    )


def train_linear_probes(
    probes: Sequence[ProbeFeatures], num_classes: int, desc: str | None = None
) -> list[tuple[nn.Linear, dict]]:
    """Train P linear probes of the same shape as one batched problem; the result of each equals
    that of its own ``train_linear_probe`` up to float rounding.

    One weight tensor [P, D, C] (and bias [P, C]) is trained by one optimiser step for all P; the
    optimisers (Adam, AdamW, SGD with momentum) act element by element and the loss is the sum of
    the probes' own mean losses, so probe p sees exactly its own gradient. Probe p starts from
    ``init_linear(D, C, seed_p)`` and visits its samples in the order ``epoch_permutation(N,
    seed_p, e)``. Running statistics and the best-validation weights stay on the device: the host
    waits once per epoch (for the progress line), never per step. All probes must share
    ``batch_key`` (D, N, M and the recipe but the seed). Returns one (layer, history) per probe,
    in order; each probe's curves go to its own ``run_id``.
    """
    if not probes:
        return []
    for p in probes:
        if not isinstance(p.config, TrainConfig):
            raise ValueError(f"config must be a TrainConfig, got {type(p.config).__name__}")
        _check_features(p.train_feats, p.train_labels, p.val_feats, p.val_labels, num_classes)
    if len({batch_key(p) for p in probes}) > 1:
        raise ValueError(
            "probes trained together must share the feature width, the sample counts and the "
            "recipe up to the seed (batch_key)"
        )
    config = probes[0].config
    label = ("probe" if desc is None else desc) + (
        f" ({len(probes)} probes batched)" if len(probes) > 1 else ""
    )
    with torch_threads(config.num_threads):
        with EpochProgress(config.epochs, label, config.progress) as bar:
            results = _fit_linear(probes, num_classes, config, bar)
    for p, (_, history) in zip(probes, results, strict=True):
        log_history(p.run_id, {k: history[k] for k in _CURVES}, prefix="probe/")
    return results


def _optimizer(params: list[torch.Tensor], config: TrainConfig, dev: torch.device):
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=0.9, weight_decay=config.weight_decay)
    opt_cls = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    fused = {"fused": True} if dev.type == "cuda" else {}
    return opt_cls(params, lr=config.lr, weight_decay=config.weight_decay, **fused)


def _loss_acc_batched(weight, bias, feats, labels) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-probe mean cross-entropy and accuracy [P] of the batched layer on [P, M, D] features."""
    logits = torch.baddbmm(bias.unsqueeze(1), feats, weight)
    p, m, c = logits.shape
    loss = F.cross_entropy(logits.reshape(p * m, c), labels.reshape(-1), reduction="none")
    return loss.view(p, m).mean(1), (logits.argmax(2) == labels).float().mean(1)


def _fit_linear(probes, num_classes, config, bar) -> list[tuple[nn.Linear, dict]]:
    dev = resolve_device(config.device)
    xt = torch.stack([p.train_feats.to(dev).float() for p in probes])  # [P, N, D]
    yt = torch.stack([p.train_labels.to(dev).long() for p in probes])  # [P, N]
    xv = torch.stack([p.val_feats.to(dev).float() for p in probes])
    yv = torch.stack([p.val_labels.to(dev).long() for p in probes])
    n_probes, n, dim = xt.shape
    seeds = [p.config.seed for p in probes]
    inits = [init_linear(dim, num_classes, s) for s in seeds]
    weight = torch.stack([lin.weight.detach().t() for lin in inits]).to(dev).requires_grad_()
    bias = torch.stack([lin.bias.detach() for lin in inits]).to(dev).requires_grad_()
    opt = _optimizer([weight, bias], config, dev)
    slices = batch_slices(n, config.batch_size, drop_singleton=False)
    total = config.epochs * len(slices)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: lr_factor(config, step, total, len(slices))
    )
    offsets = torch.arange(n_probes, device=dev).unsqueeze(1) * n
    flat_x, flat_y = xt.view(n_probes * n, dim), yt.view(-1)
    best_acc = torch.full((n_probes,), -1.0, device=dev)
    best_epoch = torch.full((n_probes,), -1, device=dev, dtype=torch.long)
    best_w, best_b = weight.detach().clone(), bias.detach().clone()
    curves: list[torch.Tensor] = []  # per epoch: [4, P] train loss/acc, val loss/acc
    for epoch in range(config.epochs):
        order = torch.stack([epoch_permutation(n, s, epoch) for s in seeds]).to(dev)
        rows = order + offsets  # probe p's epoch order as rows of the [P * N, D] view
        stats = torch.zeros(2, n_probes, device=dev)  # summed loss x batch, correct
        for s in slices:
            idx = rows[:, s].reshape(-1)
            x = flat_x.index_select(0, idx).view(n_probes, -1, dim)
            y = flat_y.index_select(0, idx).view(n_probes, -1)
            logits = torch.baddbmm(bias.unsqueeze(1), x, weight)  # [P, B, C]
            per_sample = F.cross_entropy(
                logits.reshape(-1, num_classes), y.reshape(-1), reduction="none"
            ).view(n_probes, -1)
            per_probe = per_sample.mean(1)
            opt.zero_grad(set_to_none=True)
            per_probe.sum().backward()
            opt.step()
            sched.step()
            with torch.no_grad():
                stats[0] += per_probe.detach() * (s.stop - s.start)
                stats[1] += (logits.argmax(2) == y).sum(1)
        with torch.no_grad():
            vl, va = _loss_acc_batched(weight, bias, xv, yv)
            better = va > best_acc  # the first epoch wins ties
            best_acc = torch.where(better, va, best_acc)
            best_epoch = torch.where(better, epoch, best_epoch)
            best_w = torch.where(better.view(-1, 1, 1), weight, best_w)
            best_b = torch.where(better.view(-1, 1), bias, best_b)
            curves.append(torch.stack([stats[0] / n, stats[1] / n, vl, va]))
        if config.progress:  # one wait per epoch, for the progress line (mean over the probes)
            mean = curves[-1].mean(1).tolist()
            bar.epoch_end({"val_acc": mean[3], "train_loss": mean[0]})
    table = torch.stack(curves).cpu()  # [epochs, 4, P]: the one wait for the host
    best_epoch_cpu, best_acc_cpu = best_epoch.tolist(), best_acc.tolist()
    results = []
    for i in range(n_probes):
        linear = nn.Linear(dim, num_classes).to(dev)
        with torch.no_grad():
            linear.weight.copy_(best_w[i].t())
            linear.bias.copy_(best_b[i])
        history = {k: table[:, j, i].tolist() for j, k in enumerate(_CURVES)}
        history.update(best_epoch=best_epoch_cpu[i], best_val_acc=best_acc_cpu[i])
        results.append((linear, history))
    return results
