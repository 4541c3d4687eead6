"""Stage pipeline: render Transforms-2D datasets and invariance pair sets."""

from transfer_invariance.pipelines.generate_data.pipeline import (
    create_dataset_pipeline,
    create_pipeline,
)

__all__ = ["create_dataset_pipeline", "create_pipeline"]
