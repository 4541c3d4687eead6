"""probe: ``checkpoints`` + one ``<target>_data`` per target -> ``probe_metrics``, ``probes``.

The study instance is ``probe.<model>`` for every entry of ``probe.models``: the model's
``pretrain.<model>.checkpoints`` probed on the stored splits of each target dataset.
"""

from __future__ import annotations

from collections.abc import Sequence

from kedro.pipeline import Pipeline, node

from transfer_invariance.pipelines.common import SPLITS, seeded
from transfer_invariance.pipelines.probe import nodes
from transfer_invariance.pipelines.study import StudyPlan


def template(targets: Sequence[str]) -> Pipeline:
    """Probe the models of ``checkpoints`` on every target dataset (inputs ``<target>_data``)."""
    inputs = {
        "checkpoints": "checkpoints",
        "probe_params": "params:probe",
        **{t: f"{t}_data" for t in targets},
    }
    return Pipeline(
        [node(nodes.probe_models, inputs, ["probe_metrics", "probes"], name="probe_models")]
    )


def create_pipeline(plan: StudyPlan) -> Pipeline:
    """``probe.<model>`` for every model of ``probe.models``."""
    return sum(
        (
            Pipeline(
                sum((seeded(t, f"{t}_data") for t in targets), Pipeline([])) + template(targets),
                namespace=f"probe.{model}",
                inputs={
                    "checkpoints": f"pretrain.{model}.checkpoints",
                    **{
                        f"generate_data.{t}.{s}": f"generate_data.{t}.{s}"
                        for t in targets
                        for s in SPLITS
                    },
                },
                parameters={
                    "params:pretrain.seeds": "params:pretrain.seeds",
                    "params:probe": "params:probe.settings",
                },
            )
            for model, targets in plan.probe.items()
        ),
        Pipeline([]),
    )
