"""Stage pipeline: render Transforms-2D datasets and invariance pair sets."""

from transfer_invariance.pipelines.generate_data.pipeline import (
    create_pipeline,
    dataset_pipeline,
    template,
)

__all__ = ["create_pipeline", "dataset_pipeline", "template"]
