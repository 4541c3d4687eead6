"""pretrain: ``data`` ({seed: {train, val, test}}) + ``params:training`` -> ``checkpoints`` and
``pretrain_metrics`` (one row per seed: own-task accuracy, best epoch).

The study instance is ``pretrain.<model>`` for every entry of ``pretrain.models``, reading the stored
splits of ``generate_data.<dataset>`` and writing ``pretrain.<model>.checkpoints``; experiments
instantiate the template under a namespace per condition.
"""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from transfer_invariance.pipelines.common import SPLITS, seeded
from transfer_invariance.pipelines.pretrain import nodes
from transfer_invariance.pipelines.study import StudyPlan


def template() -> Pipeline:
    """One pretraining per seed of ``data``, and the table of their own-task accuracies."""
    return Pipeline(
        [
            node(
                nodes.pretrain_models,
                ["data", "params:training"],
                "checkpoints",
                name="pretrain_models",
            ),
            node(
                nodes.pretrain_metrics, "checkpoints", "pretrain_metrics", name="pretrain_metrics"
            ),
        ]
    )


def create_pipeline(plan: StudyPlan) -> Pipeline:
    """The study's models: ``pretrain.<model>`` for every entry of ``pretrain.models``."""
    return sum(
        (
            Pipeline(
                seeded(dataset, "data") + template(),
                namespace=f"pretrain.{model}",
                inputs={f"generate_data.{dataset}.{s}" for s in SPLITS},
                parameters={
                    "params:pretrain.seeds": "params:pretrain.seeds",
                    "params:training": f"params:pretrain.models.{model}.training",
                },
            )
            for model, dataset in plan.models.items()
        ),
        Pipeline([]),
    )
