"""finetune: ``checkpoints`` + one ``<target>_data`` per target -> ``finetune_metrics``.

The study instance is ``finetune.<model>`` for every entry of ``finetune.models``: full fine-tuning
of ``pretrain.<model>.checkpoints`` on small target sets, each starting from a linear probe trained
on the same small set (not the probe stage's probes, which saw the whole training split).
"""

from __future__ import annotations

from collections.abc import Sequence

from kedro.pipeline import Pipeline

from transfer_invariance.pipelines.common import model_template, on_targets, target_data
from transfer_invariance.pipelines.finetune import nodes
from transfer_invariance.pipelines.study import StudyPlan


def template(targets: Sequence[str]) -> Pipeline:
    """Fine-tune the models of ``checkpoints`` on small subsets of every target."""
    settings = ("finetune_params", "params:finetune")
    return model_template(nodes.finetune_models, settings, "finetune_metrics", target_data(targets))


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
