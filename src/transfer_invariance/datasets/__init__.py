"""Kedro dataset classes of the project."""

from transfer_invariance.datasets.checkpoints import CheckpointsDataset, Deferred
from transfer_invariance.datasets.tensor_set import TensorSetDataset

__all__ = ["CheckpointsDataset", "Deferred", "TensorSetDataset"]
