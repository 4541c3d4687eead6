"""importance: ``kedro run --pipeline=importance`` reproduces Section 4.1 (Figures 2 and 3) and
Appendix C.2 (fine-tuning).

Layout (each bullet a namespace in ``kedro viz``):

- ``importance``: the plan (``plan_points``: one configuration per pretraining namespace,
  ``plan_probes``: the probe-sample values), the target task of every seed (``make_target_data``)
  and the table of what each seed drew (``design_table``).
- ``importance.<invariance>.<point>`` for ``invariance`` in ``same`` / ``different`` and ``point``
  in ``reference``, ``samples_<n>``, ``arch_<name>``, ``classes_<relationship>``: the reference
  configuration with one factor changed (the reference itself is trained once and shared by every
  factor). Each composes its data -> pretrain -> probe on the target (reference probe samples).
- ``importance.<invariance>.probe_<n>``: the target (probe) samples factor: the reference models
  probed on ``n`` target samples.
- ``importance.<invariance>.finetune``: Appendix C.2, the reference models fine-tuned fully (from a
  probe) on small target sets, when the grid says ``finetune: true`` (recipe:
  ``importance.finetune``).
- ``importance.<dataset>`` and ``importance.<dataset>.<invariance>.<point>`` etc.: Appendix C.1,
  the same design on each real-world dataset of ``importance.grid.real_world`` (CIFAR-10,
  CIFAR-100, or the embedded scene stand-in; data and fine-tuning recipe in
  ``importance.real_world.<dataset>``) with the transformations as augmentations. Empty by default
  (offline); ``--env paper`` runs CIFAR-10 and CIFAR-100.
- ``importance.report``: Figures 2 and 3, the fine-tuning figure, the tables and the findings
  (``<dataset>_``-prefixed files for the real-world datasets).

Which namespaces exist is read from ``importance.grid`` (``experiments.grid.read_grid``) of the
run's environment when the pipelines are registered (``pipeline_registry``), and the blocks it binds
namespaces to are checked there (``params.check_bound_blocks``); every other parameter changes
values only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kedro.pipeline import Pipeline, node

from transfer_invariance.experiments.grid import blocks, read_grid
from transfer_invariance.experiments.importance import data, report, report_finetune
from transfer_invariance.experiments.importance.params import (
    INVARIANCES,
    FactorGridParams,
    GridParams,
    check_bound_blocks,
)
from transfer_invariance.pipelines import finetune, pretrain, probe
from transfer_invariance.pipelines.report.pipeline import under_namespace

SHARED_PARAMS = blocks("importance", "grid", "seeds", "base_images", "render")


def _prefix(dataset: str | None) -> str:
    """The namespace part of a grid: ``""`` for Transforms-2D, ``"<dataset>."`` for real data."""
    return f"{dataset}." if dataset else ""


def _values(dataset: str | None, block: str) -> str:
    """The parameter ``block`` (``data``, ``finetune``) of a grid's dataset."""
    return (
        f"params:importance.real_world.{dataset}.{block}"
        if dataset
        else f"params:importance.{block}"
    )


def _grid(dataset: str | None) -> str:
    """The parameter of a grid: ``importance.grid`` or ``importance.grid.real_world.<dataset>``."""
    return f"params:importance.grid.real_world.{dataset}" if dataset else "params:importance.grid"


def _shared(steps: Pipeline) -> dict[str, str]:
    """The shared parameters ``steps`` reads."""
    return {k: v for k, v in SHARED_PARAMS.items() if k in steps.inputs()}


def _point(dataset: str | None, invariance: str, name: str, arch: str) -> Pipeline:
    """``importance.[<dataset>.]<invariance>.<name>``: data -> pretrain -> probe on the target."""
    prefix = _prefix(dataset)
    if dataset:
        make = node(
            data.make_real_world_pretraining,
            ["source", "params:data", "point", "params:seeds", "params:render"],
            "data",
            name="make_pretraining_data",
        )
        inputs = {"source": f"importance.{prefix}source"}
    else:
        make = node(
            data.make_pretraining_data,
            ["params:data", "params:base_images", "point", "params:seeds", "params:render"],
            "data",
            name="make_pretraining_data",
        )
        inputs = {}
    steps = Pipeline(
        [
            make,
            node(
                data.probe_subset,
                ["target", "params:probe_samples"],
                "target_data",
                name="probe_subset",
            ),
        ]
    )
    return Pipeline(
        steps + pretrain.template() + probe.template(["target"]),
        namespace=f"importance.{prefix}{invariance}.{name}",
        inputs={**inputs, "target": f"importance.{prefix}target"},
        parameters={
            **_shared(steps),
            "params:data": _values(dataset, "data"),
            "params:probe_samples": f"{_grid(dataset)}.reference.probe_samples",
            "params:training": f"params:importance.training.{arch}",
            "params:probe": "params:importance.probe",
        },
    )


def _probe_samples(dataset: str | None, invariance: str, n: int) -> Pipeline:
    """``importance.[<dataset>.]<invariance>.probe_<n>``: the reference models probed on ``n``
    target samples."""
    prefix = _prefix(dataset)
    return Pipeline(
        Pipeline([node(data.probe_subset, ["target", "n"], "target_data", name="probe_subset")])
        + probe.template(["target"]),
        namespace=f"importance.{prefix}{invariance}.probe_{n}",
        inputs={
            "target": f"importance.{prefix}target",
            "n": f"importance.{prefix}probe_{n}.n",
            "checkpoints": f"importance.{prefix}{invariance}.reference.checkpoints",
        },
        parameters={"params:probe": "params:importance.probe"},
    )


def _finetune(dataset: str | None, invariance: str) -> Pipeline:
    """``importance.[<dataset>.]<invariance>.finetune``: the reference models fine-tuned fully on
    small target sets (Appendix C.2)."""
    prefix = _prefix(dataset)
    return Pipeline(
        finetune.template(["target"]),
        namespace=f"importance.{prefix}{invariance}.finetune",
        inputs={
            "target_data": f"importance.{prefix}target",
            "checkpoints": f"importance.{prefix}{invariance}.reference.checkpoints",
        },
        parameters={"params:finetune": _values(dataset, "finetune")},
    )


def _real_world_data(dataset: str) -> Pipeline:
    """``importance.<dataset>``: the dataset's splits, every seed's target and design."""
    return Pipeline(
        [
            node(data.load_real_world, "params:data", "source", name="load_real_world"),
            node(
                data.make_real_world_target,
                ["source", "params:data", "params:seeds", "params:render"],
                "target",
                name="make_target_data",
            ),
            node(
                data.real_world_design,
                ["source", "params:data", "params:seeds"],
                "design_csv",
                name="design_table",
            ),
        ],
        namespace=f"importance.{dataset}",
        outputs={"design_csv": f"importance.report.{dataset}_design_csv"},
        parameters={
            "params:data": _values(dataset, "data"),
            "params:seeds": "params:importance.seeds",
            "params:render": "params:render",
        },
    )


def _report(dataset: str | None, grid: FactorGridParams) -> Pipeline:
    """The report of one grid, in ``importance.report`` (files prefixed ``<dataset>_``)."""
    prefix, tag = _prefix(dataset), f"{dataset}_" if dataset else ""
    points = list(grid.points())
    probe_inputs = {
        f"{inv}__{p}": f"importance.{prefix}{inv}.{p}.probe_metrics"
        for inv in INVARIANCES
        for p in [*points, *(f"probe_{n}" for n in grid.probe_points())]
    }
    pretrain_inputs = {
        f"{inv}__{p}": f"importance.{prefix}{inv}.{p}.pretrain_metrics"
        for inv in INVARIANCES
        for p in points
    }
    selector = ["params:data"] if dataset else []  # the real-world dataset whose grid it is
    recipes = {
        f"params:training.{a}": f"params:importance.training.{a}" for a in grid.values("arch")
    }
    steps = [
        node(report.probe_results, probe_inputs, f"{tag}probe_results", name=f"{tag}probe_results"),
        node(
            report.pretraining_results,
            pretrain_inputs,
            f"{tag}pretraining_results",
            name=f"{tag}pretraining_results",
        ),
        node(
            report.real_world_factor_metrics if dataset else report.factor_metrics,
            ["params:grid", *selector, f"{tag}probe_results", f"{tag}pretraining_results"],
            f"{tag}factors_csv",
            name=f"{tag}factor_metrics",
        ),
        node(
            report.real_world_tables if dataset else report.importance_tables,
            [
                f"{tag}factors_csv",
                f"{tag}design_csv",
                "params:grid",
                "params:data",
                "params:probe",
                *recipes,
            ],
            [f"{tag}figure2_figure", f"{tag}figure3_figure", f"{tag}spread_csv", f"{tag}tables_md"],
            name=f"{tag}importance_tables",
        ),
    ]
    if grid.finetune:
        steps.append(
            node(
                report_finetune.finetune_report,
                {inv: f"importance.{prefix}{inv}.finetune.finetune_metrics" for inv in INVARIANCES},
                [f"{tag}finetune_csv", f"{tag}finetune_figure", f"{tag}finetune_md"],
                name=f"{tag}finetune_report",
            )
        )
    return under_namespace(
        Pipeline(steps),
        "importance.report",
        parameters={
            "params:grid": "params:importance.grid",
            "params:data": _values(dataset, "data"),
            "params:probe": "params:importance.probe",
            **recipes,
        },
    )


def create_pipeline(parameters: Mapping[str, Any]) -> Pipeline:
    """The importance experiment for the grids of ``parameters['importance']['grid']``."""
    grid = read_grid(parameters, "importance", GridParams)
    check_bound_blocks(parameters["importance"], grid)
    grids = {None: grid, **grid.real_world}
    shared = Pipeline(
        [
            node(
                data.plan_points,
                "params:grid",
                {
                    f"{_prefix(d)}{inv}.{p}": f"{_prefix(d)}{inv}.{p}.point"
                    for d, sub in grids.items()
                    for inv in INVARIANCES
                    for p in sub.points()
                },
                name="plan_points",
            ),
            node(
                data.probe_sizes,
                "params:grid",
                {
                    f"{_prefix(d)}probe_{n}": f"{_prefix(d)}probe_{n}.n"
                    for d, sub in grids.items()
                    for n in sub.probe_points()
                },
                name="plan_probes",
            ),
            node(
                data.make_target_data,
                ["params:data", "params:base_images", "params:seeds", "params:render"],
                "target",
                name="make_target_data",
            ),
            node(
                data.design_table,
                ["params:data", "params:seeds", "params:base_images"],
                "design_csv",
                name="design_table",
            ),
        ],
        namespace="importance",
        outputs={"design_csv": "importance.report.design_csv"},
        parameters={**SHARED_PARAMS, "params:data": "params:importance.data"},
    )
    pipe = Pipeline([])
    for dataset, sub in grids.items():
        if dataset:
            pipe += _real_world_data(dataset)
        for inv in INVARIANCES:
            for name, point in sub.points().items():
                pipe += _point(dataset, inv, name, point.arch)
            for n in sub.probe_points():
                pipe += _probe_samples(dataset, inv, n)
            if sub.finetune:
                pipe += _finetune(dataset, inv)
        pipe += _report(dataset, sub)
    return shared + pipe
