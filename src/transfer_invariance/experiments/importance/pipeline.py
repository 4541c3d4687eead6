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
  probe) on small target sets.
- ``importance.<dataset>`` and ``importance.<dataset>.<invariance>.<point>`` etc.: Appendix C.1,
  the same design on each real-world dataset of ``importance.real_world`` (CIFAR-10, CIFAR-100, or
  the embedded scene stand-in) with the transformations as augmentations. Empty by default
  (offline); ``--env paper`` runs CIFAR-10 and CIFAR-100.
- ``importance.report``: Figures 2 and 3, the fine-tuning figure, the tables and the findings
  (``<dataset>_``-prefixed files for the real-world datasets).

Which namespaces exist is read from ``importance.reference`` and ``importance.factors`` of the run's
environment when the pipelines are registered (``pipeline_registry``); every other parameter
changes values only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from kedro.pipeline import Pipeline, node

from transfer_invariance.errors import ParameterError
from transfer_invariance.experiments.importance import data, report
from transfer_invariance.experiments.importance.params import INVARIANCES, parse_importance
from transfer_invariance.pipelines import finetune, pretrain, probe
from transfer_invariance.pipelines.report.pipeline import under_namespace

SHARED_PARAMS = {
    "params:seeds": "params:importance.seeds",
    "params:base_images": "params:base_images",
}


def _block(prefix: str) -> str:
    """The parameter block of a grid: ``importance`` or ``importance.real_world.<dataset>``."""
    return f"importance.real_world.{prefix[:-1]}" if prefix else "importance"


def _point(prefix: str, invariance: str, name: str, arch: str) -> Pipeline:
    """``importance.[<dataset>.]<invariance>.<name>``: data -> pretrain -> probe on the target."""
    if prefix:
        make = node(
            data.make_real_world_pretraining,
            ["source", "params:data", "point", "params:seeds"],
            "data",
            name="make_pretraining_data",
        )
        inputs = {"source": f"importance.{prefix}source"}
    else:
        make = node(
            data.make_pretraining_data,
            ["params:data", "params:base_images", "point", "params:seeds"],
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
            **{k: v for k, v in SHARED_PARAMS.items() if k in steps.inputs()},
            "params:data": f"params:{_block(prefix)}.data",
            "params:probe_samples": f"params:{_block(prefix)}.reference.probe_samples",
            "params:training": f"params:importance.training.{arch}",
            "params:probe": "params:importance.probe",
        },
    )


def _probe_samples(prefix: str, invariance: str, n: int) -> Pipeline:
    """``importance.[<dataset>.]<invariance>.probe_<n>``: the reference models probed on ``n``
    target samples."""
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


def _finetune(prefix: str, invariance: str) -> Pipeline:
    """``importance.[<dataset>.]<invariance>.finetune``: the reference models fine-tuned fully on
    small target sets (Appendix C.2)."""
    return Pipeline(
        finetune.template(["target"]),
        namespace=f"importance.{prefix}{invariance}.finetune",
        inputs={
            "target_data": f"importance.{prefix}target",
            "checkpoints": f"importance.{prefix}{invariance}.reference.checkpoints",
        },
        parameters={"params:finetune": f"params:{_block(prefix)}.finetune"},
    )


def _real_world_data(dataset: str) -> Pipeline:
    """``importance.<dataset>``: the dataset's splits, every seed's target and design."""
    return Pipeline(
        [
            node(data.load_real_world, "params:data", "source", name="load_real_world"),
            node(
                data.make_real_world_target,
                ["source", "params:data", "params:seeds"],
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
            "params:data": f"params:importance.real_world.{dataset}.data",
            "params:seeds": "params:importance.seeds",
        },
    )


def _for_grid(func: Callable[..., Any], prefix: str) -> Callable[..., Any]:
    """``func`` with ``prefix=prefix`` bound, keeping its name and type hints (Kedro reads both)."""

    @functools.wraps(func)
    def bound(*args: Any) -> Any:
        return func(*args, prefix=prefix)

    return bound


def _report(prefix: str, points: list[str], probes: list[int], finetuned: bool) -> Pipeline:
    """The report of one grid, in ``importance.report`` (files prefixed ``<dataset>_``)."""
    tag = prefix.replace(".", "_")
    probe_inputs = {
        f"{inv}__{p}": f"importance.{prefix}{inv}.{p}.probe_metrics"
        for inv in INVARIANCES
        for p in [*points, *(f"probe_{n}" for n in probes)]
    }
    checkpoint_inputs = {
        f"{inv}__{p}": f"importance.{prefix}{inv}.{p}.checkpoints"
        for inv in INVARIANCES
        for p in points
    }
    finetune_inputs = {
        inv: f"importance.{prefix}{inv}.finetune.finetune_metrics" for inv in INVARIANCES
    }
    steps = [
        node(report.probe_results, probe_inputs, f"{tag}probe_results", name=f"{tag}probe_results"),
        node(
            report.pretraining_results,
            checkpoint_inputs,
            f"{tag}pretraining_results",
            name=f"{tag}pretraining_results",
        ),
        node(
            _for_grid(report.factor_metrics, prefix),
            ["params:importance", f"{tag}probe_results", f"{tag}pretraining_results"],
            f"{tag}factors_csv",
            name=f"{tag}factor_metrics",
        ),
        node(
            _for_grid(report.importance_tables, prefix),
            [f"{tag}factors_csv", f"{tag}design_csv", "params:importance"],
            [f"{tag}figure2_figure", f"{tag}figure3_figure", f"{tag}spread_csv", f"{tag}tables_md"],
            name=f"{tag}importance_tables",
        ),
    ]
    if finetuned:
        steps.append(
            node(
                report.finetune_report,
                finetune_inputs,
                [f"{tag}finetune_csv", f"{tag}finetune_figure", f"{tag}finetune_md"],
                name=f"{tag}finetune_report",
            )
        )
    return under_namespace(
        Pipeline(steps),
        "importance.report",
        parameters={"params:importance": "params:importance"},
    )


def create_pipeline(parameters: Mapping[str, Any]) -> Pipeline:
    """The importance experiment for the grids of ``parameters['importance']``."""
    if "importance" not in parameters:
        raise ParameterError(
            "parameter 'importance' is missing: conf/base/parameters_importance.yml defines it."
        )
    importance = parse_importance(parameters["importance"])
    grids = importance.grids()
    shared = Pipeline(
        [
            node(
                data.plan_points,
                "params:importance",
                {
                    f"{prefix}{inv}.{p}": f"{prefix}{inv}.{p}.point"
                    for prefix, grid in grids.items()
                    for inv in INVARIANCES
                    for p in grid.points()
                },
                name="plan_points",
            ),
            node(
                data.probe_sizes,
                "params:importance",
                {
                    f"{prefix}probe_{n}": f"{prefix}probe_{n}.n"
                    for prefix, grid in grids.items()
                    for n in grid.probe_points()
                },
                name="plan_probes",
            ),
            node(
                data.make_target_data,
                ["params:data", "params:base_images", "params:seeds"],
                "target",
                name="make_target_data",
            ),
            node(
                data.design_table,
                ["params:importance", "params:base_images"],
                "design_csv",
                name="design_table",
            ),
        ],
        namespace="importance",
        outputs={"design_csv": "importance.report.design_csv"},
        parameters={
            **SHARED_PARAMS,
            "params:data": "params:importance.data",
            "params:importance": "params:importance",
        },
    )
    grid = Pipeline([])
    for prefix, block in grids.items():
        if prefix:
            grid += _real_world_data(prefix[:-1])
        for inv in INVARIANCES:
            for name, point in block.points().items():
                grid += _point(prefix, inv, name, point.arch)
            for n in block.probe_points():
                grid += _probe_samples(prefix, inv, n)
            if block.finetune is not None:
                grid += _finetune(prefix, inv)
        grid += _report(
            prefix, list(block.points()), block.probe_points(), block.finetune is not None
        )
    return shared + grid
