"""Probe jobs: a checkpoint's linear probe on a target task, run one by one or many at once.

``probe_many`` checks every job, computes each checkpoint's representations once per image set and
trains the probes that share their shape together (``linear.train_linear_probes``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..fingerprint import fingerprint
from ..tracking import log_metrics
from ..training import (
    TrainConfig,
    check_image_size,
    check_labels,
    cpu_state_dict,
    load_model,
    num_classes_of,
    resolve_device,
    torch_threads,
)
from .features import representations
from .linear import ProbeFeatures, accuracy, batch_key, train_linear_probes


@dataclass(frozen=True)
class ProbeJob:
    """One linear probe to run: a checkpoint, its target's splits (tensor sets), the recipe, the
    MLflow run to log to, and optionally ``cache``, a dict shared by the jobs of one checkpoint
    that keeps its representations by image content (targets with the same images, e.g. C+O
    with C or O labels, then run the backbone once)."""

    checkpoint: dict
    train: dict
    val: dict
    test: dict
    config: TrainConfig
    run_id: str | None = None
    cache: dict | None = None


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
    job = ProbeJob(checkpoint, train, val, test, config, run_id, cache)
    return probe_many([job], desc=desc)[0]


def probe_many(
    jobs: Sequence[ProbeJob], max_batched: int = 64, desc: str | None = None
) -> list[dict]:
    """Run every job's linear probe; return one ``probe``-style result per job, in order.

    Every split of every job is checked before any work. Each checkpoint's backbone runs once per
    image set (``representations``), then jobs that share their shape (``batch_key`` and the
    number of classes) train together, at most ``max_batched`` at a time, as one batched problem
    (``train_linear_probes``): the result of each equals its separate probe's up to float rounding.
    ``desc`` labels the progress lines (default "probe").
    """
    if max_batched < 1:
        raise ValueError(f"max_batched must be >= 1, got {max_batched}")
    classes = [_check_job(job) for job in jobs]
    features = _job_features(jobs)
    groups: dict[tuple, list[int]] = {}
    for i, job in enumerate(jobs):
        probe_set = ProbeFeatures(
            features[i]["train"],
            features[i]["train_labels"],
            features[i]["val"],
            features[i]["val_labels"],
            job.config,
            job.run_id,
        )
        groups.setdefault((batch_key(probe_set), classes[i]), []).append(i)
        features[i]["probe"] = probe_set
    results: list[dict | None] = [None] * len(jobs)
    for (_, num_classes), members in groups.items():
        for start in range(0, len(members), max_batched):
            chunk = members[start : start + max_batched]
            trained = train_linear_probes(
                [features[i]["probe"] for i in chunk], num_classes, desc=desc
            )
            for i, (linear, history) in zip(chunk, trained, strict=True):
                results[i] = _probe_result(linear, history, features[i], num_classes)
                log_metrics(
                    jobs[i].run_id,
                    {
                        f"probe/final_{k}": results[i][k]
                        for k in ("train_acc", "val_acc", "test_acc")
                    },
                )
    return results  # type: ignore[return-value]


def _check_job(job: ProbeJob) -> int:
    """The job's number of classes, after checking its splits against its checkpoint."""
    size = int(job.checkpoint["image_size"])
    splits = (("train", job.train), ("val", job.val), ("test", job.test))
    for name, data in splits:
        check_image_size(data, size, name, what=f"the checkpoint ({job.checkpoint.get('arch')})")
    num_classes = num_classes_of(job.train)
    for name, data in splits:
        check_labels(data, num_classes, name)
    return num_classes


def _job_features(jobs: Sequence[ProbeJob]) -> list[dict[str, torch.Tensor]]:
    """Representations and labels of every job's splits; one backbone per checkpoint, run once
    per image set of that checkpoint (``ProbeJob.cache``, else one cache per checkpoint)."""
    own_caches: dict[int, dict] = {}
    models: dict[int, nn.Module] = {}
    out = []
    for job in jobs:
        dev = resolve_device(job.config.device)
        cache = (
            job.cache if job.cache is not None else own_caches.setdefault(id(job.checkpoint), {})
        )
        bs = max(512, job.config.batch_size)
        feats: dict[str, torch.Tensor] = {}
        with torch_threads(job.config.num_threads):
            for name in ("train", "val", "test"):
                images = getattr(job, name)["images"]
                key = fingerprint(images)
                if key not in cache:
                    if id(job.checkpoint) not in models:
                        models[id(job.checkpoint)] = load_model(job.checkpoint, device=dev)
                    cache[key] = representations(models[id(job.checkpoint)], images, bs, dev)
                feats[name] = cache[key]
                feats[f"{name}_labels"] = getattr(job, name)["labels"].to(dev).long()
        out.append(feats)
    return out


def _probe_result(linear: nn.Linear, history: dict, feats: dict, num_classes: int) -> dict:
    return {
        "linear": cpu_state_dict(linear),
        "history": history,
        **{
            f"{name}_acc": accuracy(linear, feats[name], feats[f"{name}_labels"])
            for name in ("train", "val", "test")
        },
        "best_epoch": history["best_epoch"],
        "num_classes": num_classes,
    }
