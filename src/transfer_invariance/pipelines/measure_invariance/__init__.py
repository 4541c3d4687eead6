"""Stage pipeline: measure_invariance."""

from transfer_invariance.pipelines.measure_invariance.pipeline import create_pipeline

__all__ = ["create_pipeline"]
