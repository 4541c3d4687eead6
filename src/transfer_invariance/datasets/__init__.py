"""Kedro dataset classes of the project."""

from transfer_invariance.datasets.incremental import Deferred, IncrementalDataset
from transfer_invariance.datasets.tensor_set import TensorSetDataset

__all__ = ["Deferred", "IncrementalDataset", "TensorSetDataset"]
