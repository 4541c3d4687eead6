"""Supervised training of the classifiers with Lightning: one loop serves pretraining and fine-tuning.

Modules: ``config`` (``TrainConfig``, default recipes, lr schedules), ``data`` (devices, seeded
batching on the device, tensor-set checks), ``model`` (``NormalizedModel``, checkpoints),
``module`` (the Lightning module), ``loop`` (``fit``, ``pretrain``, ``evaluate``) and ``progress``
(one progress line per training, Lightning kept quiet).

Performance: the uint8 data moves once to the device and is batched by seeded index slices (see
``data``); normalisation happens on the device inside ``NormalizedModel`` (see ``model`` for the
uint8 images convention); bf16 autocast on CUDA only.

``lightning`` is imported inside functions only (it costs seconds at import time).
"""

from .config import (
    LR_SCHEDULES,
    NORMALISATIONS,
    OPTIMIZERS,
    TrainConfig,
    default_config_for,
    lr_factor,
)
from .data import (
    batch_slices,
    check_image_size,
    check_labels,
    check_tensor_set,
    epoch_permutation,
    num_classes_of,
    resolve_device,
)
from .loop import autocast, evaluate, fit, pretrain, torch_threads
from .model import NormalizedModel, channel_stats, cpu_state_dict, load_model, normalize_images
from .progress import EpochProgress

__all__ = [
    "LR_SCHEDULES",
    "NORMALISATIONS",
    "OPTIMIZERS",
    "EpochProgress",
    "NormalizedModel",
    "TrainConfig",
    "autocast",
    "batch_slices",
    "channel_stats",
    "check_image_size",
    "check_labels",
    "check_tensor_set",
    "cpu_state_dict",
    "default_config_for",
    "epoch_permutation",
    "evaluate",
    "fit",
    "load_model",
    "lr_factor",
    "normalize_images",
    "num_classes_of",
    "pretrain",
    "resolve_device",
    "torch_threads",
]
