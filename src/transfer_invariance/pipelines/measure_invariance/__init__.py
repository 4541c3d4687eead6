"""Stage pipeline: measure_invariance (sensitivity of representations to a transformation)."""

from transfer_invariance.pipelines.measure_invariance.pipeline import create_pipeline, template

__all__ = ["create_pipeline", "template"]
