"""The demo experiment: all six stages on one tiny Transforms-2D task."""

from transfer_invariance.experiments.demo.pipeline import create_pipeline

__all__ = ["create_pipeline"]
