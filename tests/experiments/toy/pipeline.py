"""toy: ``kedro run --pipeline=toy``.

Layout (each bullet a namespace in ``kedro viz``):

- ``toy``: ``plan_models`` (each model's transformations) and the pair sets of every type.
- ``toy.<type>``, ``toy.none``: one namespace per model: its data -> pretrain -> measure_invariance.
- ``toy.report``: the sensitivity table and the finding.

``toy.grid`` (the types) shapes the DAG; every other block changes values only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kedro.pipeline import Pipeline, node

from transfer_invariance.experiments.grid import read_grid
from transfer_invariance.pipelines import measure_invariance, pretrain
from transfer_invariance.pipelines.report.pipeline import collect, under_namespace

from . import data, report
from .params import GridParams

SHARED_PARAMS = {
    "params:data": "params:toy.data",
    "params:seeds": "params:toy.seeds",
    "params:base_images": "params:base_images",
    "params:render": "params:render",
}


def _model(name: str, types: list[str]) -> Pipeline:
    """``toy.<name>``: its pretraining data -> pretrain -> sensitivity to every type."""
    make_data = node(
        data.make_model_data,
        ["transforms", "params:data", "params:seeds", "params:base_images", "params:render"],
        "data",
        name="make_model_data",
    )
    return Pipeline(
        Pipeline([make_data]) + pretrain.template() + measure_invariance.template(types),
        namespace=f"toy.{name}",
        inputs={
            "transforms": f"toy.{name}.transforms",
            **{f"{t}_pairs": f"toy.pairs_{t}" for t in types},
        },
        parameters={
            **SHARED_PARAMS,
            "params:training": "params:toy.training",
            "params:invariance": "params:toy.invariance",
        },
    )


def create_pipeline(parameters: Mapping[str, Any]) -> Pipeline:
    """The toy experiment for the types of ``parameters['toy']['grid']``."""
    grid = read_grid(parameters, "toy", GridParams)
    shared = Pipeline(
        [
            node(
                data.plan_models,
                "params:grid",
                {m: f"{m}.transforms" for m in grid.models()},
                name="plan_models",
            ),
            node(
                data.make_pairs,
                [
                    "params:grid",
                    "params:data",
                    "params:pairs",
                    "params:base_images",
                    "params:render",
                ],
                {t: f"pairs_{t}" for t in grid.types},
                name="make_pairs",
            ),
        ],
        namespace="toy",
        parameters={
            "params:grid": "params:toy.grid",
            "params:data": "params:toy.data",
            "params:pairs": "params:toy.pairs",
            "params:base_images": "params:base_images",
            "params:render": "params:render",
        },
    )
    models = sum((_model(m, grid.types) for m in grid.models()), Pipeline([]))
    reporting = (
        collect({m: f"toy.{m}.sensitivity" for m in grid.models()}, "sensitivity")
        + collect({m: f"toy.{m}.pretrain_metrics" for m in grid.models()}, "pretrain_metrics")
        + Pipeline(
            [
                node(
                    report.sensitivity_table,
                    ["sensitivity", "pretrain_metrics", "params:grid"],
                    ["table_csv", "table_md"],
                    name="sensitivity_table",
                )
            ]
        )
    )
    tables = under_namespace(reporting, "toy.report", parameters={"params:grid": "params:toy.grid"})
    return shared + models + tables
