"""transfer: ``kedro run --pipeline=transfer`` reproduces Section 5.1 and Appendix D.2 (Table 2,
Figures 16-17): how far invariance learned on one distribution holds on others.

Layout (each bullet a namespace in ``kedro viz``):

- ``transfer``: ``plan_models`` (one model per family and type), and the pair sets every model is
  measured on, made once: ``transfer.pairs.<source>.<type>`` for the synthetic sources
  ``objects``, ``other_objects``, ``patterns`` (per seed) and ``other_patterns`` (shared), and for
  each real-world data set (``scenes`` by default, ``cifar10`` and ``cifar100`` under
  ``--env paper``), two whole-image augmentation draws of the same image.
- ``transfer.images.<type>``, ``transfer.random.<type>`` (``<type>`` = each of
  ``transfer.grid.types`` and ``none``): one namespace per model. Each renders its pretraining
  data, then runs the stage templates pretrain -> measure_invariance on every type's pairs of
  every kind of data (in-distribution, mild OOD, strong OOD, real-world; ``SOURCE_OF_KIND``
  says which source is which kind for the family). An interrupted run resumes per model and seed.
- ``transfer.report``: Table 2, the heatmaps of Figures 16-17 per kind of data and family, and
  the findings checked against the numbers.

``transfer.grid`` (the types and the real-world data sets) is read from the parameters of the
run's environment when the pipelines are registered, so it shapes the DAG; every other transfer
parameter changes only values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kedro.pipeline import Pipeline, node

from transfer_invariance.experiments.grid import blocks, read_grid
from transfer_invariance.experiments.transfer import data, report
from transfer_invariance.experiments.transfer.params import (
    FAMILIES,
    KINDS,
    SOURCE_OF_KIND,
    GridParams,
)
from transfer_invariance.pipelines import measure_invariance, pretrain
from transfer_invariance.pipelines.report.pipeline import collect, under_namespace

SHARED_PARAMS = blocks("transfer", "data", "seeds", "grid", "base_images", "render")


def pair_set_name(kind: str, transformation: str) -> str:
    """A model's name for a pair set: ``<kind>__<type>`` (e.g. ``mild_ood__v_flip``)."""
    return f"{kind}__{transformation}"


def kinds(grid: GridParams) -> tuple[str, ...]:
    """The kinds of data every model is measured on: the synthetic ones, then the real-world sets."""
    return (*KINDS, *grid.real_world)


def _model(family: str, transformation: str, grid: GridParams) -> Pipeline:
    """``transfer.<family>.<transformation>``: data -> pretrain -> sensitivity on every pair set."""
    sources = {**SOURCE_OF_KIND[family], **{r: r for r in grid.real_world}}
    pair_sets = {
        pair_set_name(k, t): f"transfer.pairs.{sources[k]}.{t}"
        for k in kinds(grid)
        for t in grid.types
    }
    namespace = f"transfer.{family}.{transformation}"
    return Pipeline(
        Pipeline(
            [
                node(
                    data.make_model_data,
                    [
                        "model",
                        "params:data",
                        "params:seeds",
                        "params:base_images",
                        "params:render",
                    ],
                    "data",
                    name="make_data",
                )
            ]
        )
        + pretrain.template()
        + measure_invariance.template(list(pair_sets)),
        namespace=namespace,
        inputs={"model": f"{namespace}.model", **{f"{p}_pairs": d for p, d in pair_sets.items()}},
        parameters={
            **{k: v for k, v in SHARED_PARAMS.items() if k != "params:grid"},
            **blocks("transfer", "training", "invariance"),
        },
    )


def _shared(grid: GridParams) -> Pipeline:
    """The plan and every pair set, made once in namespace ``transfer``."""
    models = (f"{f}.{t}" for f in FAMILIES for t in grid.models())
    synthetic = {
        data.pair_key(source, t): f"pairs.{source}.{t}"
        for source in data.SYNTHETIC
        for t in grid.types
    }
    nodes = [
        node(
            data.plan_models, "params:grid", {m: f"{m}.model" for m in models}, name="plan_models"
        ),
        node(
            data.make_synthetic_pairs,
            ["params:grid", "params:data", "params:seeds", "params:base_images", "params:render"],
            synthetic,
            name="make_synthetic_pairs",
        ),
        node(
            data.load_real_world,
            ["params:grid", "params:data"],
            {r: f"{r}_images" for r in grid.real_world},
            name="load_real_world",
        ),
    ]
    nodes += [
        node(
            data.make_real_world_pairs,
            [f"{r}_images", "params:grid", "params:render"],
            {t: f"pairs.{r}.{t}" for t in grid.types},
            name=f"make_pairs_{r}",
        )
        for r in grid.real_world
    ]
    return Pipeline(nodes, namespace="transfer", parameters=SHARED_PARAMS)


def create_pipeline(parameters: Mapping[str, Any]) -> Pipeline:
    """The transfer experiment for the types and real-world sets of ``parameters['transfer']['grid']``."""
    grid = read_grid(parameters, "transfer", GridParams)
    models = sum((_model(f, t, grid) for f in FAMILIES for t in grid.models()), Pipeline([]))
    each = {f"{f}_{t}": f"transfer.{f}.{t}" for f in FAMILIES for t in grid.models()}
    reporting = (
        collect({m: f"{ns}.sensitivity" for m, ns in each.items()}, "sensitivity")
        + collect({m: f"{ns}.pretrain_metrics" for m, ns in each.items()}, "pretrain_metrics")
        + Pipeline(
            [
                node(
                    report.pretraining_accuracy,
                    "pretrain_metrics",
                    "pretraining_csv",
                    name="pretraining_accuracy",
                ),
                node(
                    report.table2,
                    [
                        "sensitivity",
                        "pretraining_csv",
                        "params:grid",
                        "params:training",
                        "params:data",
                        "params:invariance",
                    ],
                    ["table2_csv", "table2_md", "table2_figure", "sensitivity_csv"],
                    name="table2",
                ),
                node(
                    report.heatmaps,
                    ["sensitivity", "params:grid"],
                    {
                        report.heatmap_name(f, k): f"{report.heatmap_name(f, k)}_figure"
                        for f in FAMILIES
                        for k in kinds(grid)
                    },
                    name="heatmaps",
                ),
            ]
        )
    )
    tables = under_namespace(
        reporting,
        "transfer.report",
        parameters=blocks("transfer", "grid", "training", "data", "invariance"),
    )
    return _shared(grid) + models + tables
