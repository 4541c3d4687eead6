"""finetune: ``checkpoints`` + one ``<target>_data`` per target -> ``finetune_metrics``.

The study instance is ``finetune.<model>`` for every entry of ``finetune.models``: full fine-tuning
of ``pretrain.<model>.checkpoints`` on small target sets, each starting from a linear probe trained
on the same small set (not the probe stage's probes, which saw the whole training split).
"""

from __future__ import annotations

from collections.abc import Sequence

from kedro.pipeline import Pipeline, node

from transfer_invariance.pipelines.common import on_targets
from transfer_invariance.pipelines.finetune import nodes
from transfer_invariance.pipelines.study import StudyPlan


def template(targets: Sequence[str]) -> Pipeline:
    """Fine-tune the models of ``checkpoints`` on small subsets of every target."""
    inputs = {
        "checkpoints": "checkpoints",
        "finetune_params": "params:finetune",
        **{t: f"{t}_data" for t in targets},
    }
    return Pipeline(
        [node(nodes.finetune_models, inputs, "finetune_metrics", name="finetune_models")]
    )


def create_pipeline(plan: StudyPlan) -> Pipeline:
    """``finetune.<model>`` for every model of ``finetune.models``."""
    return sum(
        (
            on_targets(
                "finetune",
                model,
                targets,
                template(targets),
                {"checkpoints": f"pretrain.{model}.checkpoints"},
            )
            for model, targets in plan.finetune.items()
        ),
        Pipeline([]),
    )
