"""Project pipelines: the stage pipelines and the experiments (an explicit registry).

Stage templates (pretrain, probe, finetune, measure_invariance, report) need a dataset to act on, so
they are run through the experiments that instantiate them; ``generate_data`` runs on its own too.
"""

from __future__ import annotations

from kedro.pipeline import Pipeline

from transfer_invariance.experiments import demo, harm
from transfer_invariance.pipelines import generate_data


def register_pipelines() -> dict[str, Pipeline]:
    pipelines = {
        "generate_data": generate_data.create_pipeline(),
        "demo": demo.create_pipeline(),
        "harm": harm.create_pipeline(),
    }
    pipelines["__default__"] = pipelines["harm"]
    return pipelines
