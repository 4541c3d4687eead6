"""finetune template: ``checkpoints`` + ``probes`` + ``<target>_data`` -> ``finetune_metrics``."""

from __future__ import annotations

from collections.abc import Sequence

from kedro.pipeline import Pipeline, node

from transfer_invariance.pipelines.common import bind
from transfer_invariance.pipelines.finetune import nodes


def create_pipeline(label: str, targets: Sequence[str]) -> Pipeline:
    """Full fine-tuning of the condition's models, starting from their probes."""
    inputs = {
        "checkpoints": "checkpoints",
        "probes": "probes",
        "finetune_params": "params:finetune",
        **{t: f"{t}_data" for t in targets},
    }
    return Pipeline(
        [
            node(
                bind(nodes.finetune_models, label=label),
                inputs,
                "finetune_metrics",
                name="finetune_models",
            )
        ]
    )
