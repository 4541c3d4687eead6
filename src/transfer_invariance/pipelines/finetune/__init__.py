"""Stage pipeline: finetune (full fine-tuning from the probe)."""

from transfer_invariance.pipelines.finetune.pipeline import create_pipeline, template

__all__ = ["create_pipeline", "template"]
