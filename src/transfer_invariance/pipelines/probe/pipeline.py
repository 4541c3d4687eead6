"""probe: ``checkpoints`` + one ``<target>_data`` per target -> ``probe_metrics``, ``probes``.

The study instance is ``probe.<model>`` for every entry of ``probe.models``: the model's
``pretrain.<model>.checkpoints`` probed on the stored splits of each target dataset.
"""

from __future__ import annotations

from collections.abc import Sequence

from kedro.pipeline import Pipeline

from transfer_invariance.pipelines.common import model_template, on_targets, target_data
from transfer_invariance.pipelines.probe import nodes
from transfer_invariance.pipelines.study import StudyPlan


def template(targets: Sequence[str]) -> Pipeline:
    """Probe the models of ``checkpoints`` on every target dataset (inputs ``<target>_data``)."""
    outputs = ["probe_metrics", "probes"]
    return model_template(
        nodes.probe_models, ("probe_params", "params:probe"), outputs, target_data(targets)
    )


def create_pipeline(plan: StudyPlan) -> Pipeline:
    """``probe.<model>`` for every model of ``probe.models``."""
    return sum(
        (
            on_targets(
                "probe",
                model,
                targets,
                template(targets),
                {"checkpoints": f"pretrain.{model}.checkpoints"},
            )
            for model, targets in plan.probe.items()
        ),
        Pipeline([]),
    )
