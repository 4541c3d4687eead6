"""Stage pipeline: report."""

from transfer_invariance.pipelines.report.pipeline import create_pipeline

__all__ = ["create_pipeline"]
