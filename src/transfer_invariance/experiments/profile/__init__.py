"""The invariance profile of any model (this project's checkpoints or a torchvision architecture
with a local state dict): its sensitivity to every transformation type on several kinds of data."""

from transfer_invariance.experiments.profile.pipeline import create_pipeline

__all__ = ["create_pipeline"]
