"""measure_invariance: ``checkpoints`` + one ``<name>_pairs`` per pair set -> ``sensitivity``.

Pair sets are rendered once (generate_data) and shared by every model measured on them. The study
instance is ``measure_invariance.<model>`` for every entry of ``measure_invariance.models``.
"""

from __future__ import annotations

from collections.abc import Sequence

from kedro.pipeline import Pipeline

from transfer_invariance.pipelines.common import model_template
from transfer_invariance.pipelines.measure_invariance import nodes
from transfer_invariance.pipelines.study import StudyPlan


def template(pair_sets: Sequence[str]) -> Pipeline:
    """Measure the models of ``checkpoints`` on every pair set (inputs ``<name>_pairs``)."""
    pairs = {p: f"{p}_pairs" for p in pair_sets}
    return model_template(
        nodes.measure_sensitivity, ("invariance", "params:invariance"), "sensitivity", pairs
    )


def create_pipeline(plan: StudyPlan) -> Pipeline:
    """``measure_invariance.<model>`` for every model of ``measure_invariance.models``."""
    return sum(
        (
            Pipeline(
                template(datasets),
                namespace=f"measure_invariance.{model}",
                inputs={
                    "checkpoints": f"pretrain.{model}.checkpoints",
                    **{f"{d}_pairs": f"generate_data.{d}.pairs" for d in datasets},
                },
                parameters={"params:invariance": "params:measure_invariance.settings"},
            )
            for model, datasets in plan.invariance.items()
        ),
        Pipeline([]),
    )
