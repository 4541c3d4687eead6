"""Project pipelines: the six stages and the experiments (an explicit registry)."""

from __future__ import annotations

from kedro.pipeline import Pipeline

from transfer_invariance.pipelines import generate_data


def register_pipelines() -> dict[str, Pipeline]:
    pipelines = {
        "generate_data": generate_data.create_pipeline(),
    }
    pipelines["__default__"] = pipelines["generate_data"]
    return pipelines
