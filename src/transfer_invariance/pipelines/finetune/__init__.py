"""Stage pipeline: finetune."""

from transfer_invariance.pipelines.finetune.pipeline import create_pipeline

__all__ = ["create_pipeline"]
