"""pretrain template: ``data`` ({seed: {train, val, test}}) + ``params:training`` -> ``checkpoints``.

Experiments instantiate it under a namespace per condition (``Pipeline(..., namespace=...)``).
"""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from transfer_invariance.pipelines.common import bind
from transfer_invariance.pipelines.pretrain import nodes


def create_pipeline(label: str) -> Pipeline:
    """One pretraining per seed; ``label`` names the condition in MLflow."""
    return Pipeline(
        [
            node(
                bind(nodes.pretrain_models, label=label),
                ["data", "params:training"],
                "checkpoints",
                name="pretrain_models",
            )
        ]
    )
