"""Stage pipeline: probe."""

from transfer_invariance.pipelines.probe.pipeline import create_pipeline

__all__ = ["create_pipeline"]
