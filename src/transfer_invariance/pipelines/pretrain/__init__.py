"""Stage pipeline: pretrain one model per seed on a dataset."""

from transfer_invariance.pipelines.pretrain.pipeline import create_pipeline, template

__all__ = ["create_pipeline", "template"]
