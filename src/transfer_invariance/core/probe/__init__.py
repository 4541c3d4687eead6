"""Linear probes on cached representations of a frozen backbone.

The backbone is run once per dataset (``representations``, eval mode so BatchNorm uses its running
statistics, no grad); the probe is a fresh ``nn.Linear`` trained with Adam on the cached features,
with mini-batches as index slices of a seeded per-epoch permutation, all on the device.

Probes that share their shape (feature width, sample counts, recipe up to the seed) train as one
batched problem (``train_linear_probes``, ``probe_many``): one weight tensor [P, D, C], one step for
all P, no host synchronisation per step.

Determinism contract (used by the tests): the probe's initial weights are
``init_linear(feature_dim, num_classes, config.seed)`` and epoch ``e`` visits the samples in the order
``training.epoch_permutation(n, config.seed, e)`` cut by ``training.batch_slices(n, batch_size)``,
whether it trains alone or batched with others.
"""

from __future__ import annotations

from .features import CUDA_BATCH, representations
from .jobs import ProbeJob, probe, probe_many
from .linear import (
    ProbeFeatures,
    accuracy,
    batch_key,
    init_linear,
    probe_config,
    train_linear_probe,
    train_linear_probes,
)

__all__ = [
    "CUDA_BATCH",
    "ProbeFeatures",
    "ProbeJob",
    "accuracy",
    "batch_key",
    "init_linear",
    "probe",
    "probe_config",
    "probe_many",
    "representations",
    "train_linear_probe",
    "train_linear_probes",
]
