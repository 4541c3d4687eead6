"""mismatch: ``kedro run --pipeline=mismatch`` reproduces Section 5.2 and Appendix D.3 (Figure 4).

Layout (each bullet a namespace in ``kedro viz``):

- ``mismatch``: ``plan_sets`` draws each seed's order of ``n_types`` types and writes the specs of
  every nested set's pretraining set and target (``mismatch.t<k>.sets``); the targets
  D(O_target, T_j) are rendered once (``mismatch.target_t<j>``), and the order of each seed is
  listed (``types.csv``).
- ``mismatch.t1`` .. ``mismatch.t<n>``: one namespace per nested set T_k. Each renders its
  pretraining set D(O, T_k), then runs the stage templates pretrain -> probe on every target.
  An interrupted run resumes per set and seed.
- ``mismatch.report``: the n x n accuracy table, Figure 4 and the findings checked in words.

How many nested sets exist is ``mismatch.grid.n_types``, read from the parameters of the run's
environment when the pipelines are registered (see ``pipeline_registry``); every other parameter
changes only values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kedro.pipeline import Pipeline, node

from transfer_invariance.experiments.grid import blocks, read_grid
from transfer_invariance.experiments.mismatch import data, report
from transfer_invariance.experiments.mismatch.params import GridParams
from transfer_invariance.pipelines import pretrain, probe
from transfer_invariance.pipelines.report.pipeline import collect, under_namespace


def _nested_set(name: str, targets: list[str]) -> Pipeline:
    """The nested set ``mismatch.<name>``: pretraining data -> pretrain -> probe on every target."""
    return Pipeline(
        Pipeline(
            [
                node(
                    data.make_pretraining_data,
                    ["sets", "params:render"],
                    "data",
                    name="make_pretraining_data",
                )
            ]
        )
        + pretrain.template()
        + probe.template(targets),
        namespace=f"mismatch.{name}",
        inputs={f"{t}_data": f"mismatch.target_{t}" for t in targets},
        parameters=blocks("mismatch", "render", "training", "probe"),
    )


def create_pipeline(parameters: Mapping[str, Any]) -> Pipeline:
    """The mismatch experiment for ``parameters['mismatch']['grid']`` (one namespace per set)."""
    names = read_grid(parameters, "mismatch", GridParams).set_names()
    shared = Pipeline(
        [
            node(
                data.plan_sets,
                ["params:grid", "params:data", "params:seeds", "params:base_images"],
                {n: f"{n}.sets" for n in names},
                name="plan_sets",
            ),
            node(data.types_table, ["params:grid", "params:seeds"], "types_csv", name="types"),
        ]
        + [
            node(
                data.make_target_data,
                [f"{n}.sets", "params:render"],
                f"target_{n}",
                name=f"make_target_{n}",
            )
            for n in names
        ],
        namespace="mismatch",
        outputs={"types_csv": "mismatch.report.types_csv"},
        parameters=blocks("mismatch", "grid", "data", "seeds", "base_images", "render"),
    )
    nested = sum((_nested_set(n, names) for n in names), Pipeline([]))
    reporting = (
        collect({n: f"mismatch.{n}.probe_metrics" for n in names}, "probe_metrics")
        + collect({n: f"mismatch.{n}.pretrain_metrics" for n in names}, "pretrain_metrics")
        + Pipeline(
            [
                node(
                    report.accuracy_table,
                    [
                        "probe_metrics",
                        "pretrain_metrics",
                        "types_csv",
                        "params:training",
                        "params:data",
                        "params:probe",
                    ],
                    ["table_csv", "table_md", "table_figure", "figure4_figure"],
                    name="accuracy_table",
                )
            ]
        )
    )
    tables = under_namespace(
        reporting, "mismatch.report", parameters=blocks("mismatch", "training", "data", "probe")
    )
    return shared + nested + tables
