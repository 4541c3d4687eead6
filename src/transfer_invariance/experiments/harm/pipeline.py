"""harm: ``kedro run --pipeline=harm`` reproduces Section 4.2 (Table 1) and Appendix C.3 (Figure 14).

Layout (each bullet a namespace in ``kedro viz``):

- ``harm``: C (``build_c_data``), all base objects, each seed's draw of O (``objects_per_seed``)
  and the two pair sets (vary C, vary O) per seed, made once.
- ``harm.c_c``, ``harm.co_c``, ``harm.co_o``, ``harm.o_o``: the four pretraining conditions of
  Table 1. Each composes its data, then runs the stage templates pretrain -> probe (on all four
  conditions' data) -> measure_invariance (both pair sets).
- ``harm.relevance``: ``plan_relevance`` turns ``harm.grid`` (the rho and beta grids) into one
  condition per grid point, and the shared C.3 probe targets are made once per seed.
- ``harm.relevance.<point>`` (e.g. ``rho_0_85_c``): one namespace per grid point, compose ->
  pretrain -> probe on the C and O targets. An interrupted sweep resumes per point and seed.
- ``harm.report``: Table 1 (with the findings checked in words) and Figure 14.

Which grid points exist is read from the parameters of the run's environment when the pipelines
are registered (see ``pipeline_registry``): ``conf/base`` has a reduced grid, ``--env paper``
(``conf/paper/parameters_harm.yml``) the paper's 9 rho x 5 beta values for both label sources.
Changing ``harm.grid`` therefore changes the DAG; every other harm parameter changes only values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kedro.pipeline import Pipeline, node

from transfer_invariance.experiments.grid import blocks, read_grid
from transfer_invariance.experiments.harm import data, report
from transfer_invariance.experiments.harm.params import CONDITIONS, GridParams
from transfer_invariance.pipelines import measure_invariance, pretrain, probe
from transfer_invariance.pipelines.report.pipeline import collect, under_namespace

PAIRS = ("vary_c", "vary_o")
SHARED = {"harm.c_data", "harm.objects"}


def _compose(condition: str, seeds: str) -> Pipeline:
    """``data`` of a condition, from the shared C and O and the condition (a param or a dataset)."""
    return Pipeline(
        [
            node(
                data.make_condition_data,
                ["c_data", "objects", "params:data", condition, "params:seeds"],
                "data",
                name="compose_data",
            )
        ],
        inputs={"c_data": "harm.c_data", "objects": "harm.objects"},
        parameters={"params:data": "params:harm.data", "params:seeds": seeds},
    )


def _condition(name: str) -> Pipeline:
    """A Table 1 condition ``harm.<name>``: data -> pretrain -> probe on all four -> sensitivity."""
    targets = {f"{t}_data": f"harm.{t}.data" for t in CONDITIONS}
    return Pipeline(
        _compose("params:condition", "params:harm.seeds")
        + pretrain.template()
        + probe.template(CONDITIONS)
        + measure_invariance.template(PAIRS),
        namespace=f"harm.{name}",
        inputs={
            **targets,
            **{f"{p}_pairs": f"harm.pairs_{p}" for p in PAIRS},
            **{s: s for s in SHARED},
        },
        parameters={
            "params:harm.data": "params:harm.data",
            "params:harm.seeds": "params:harm.seeds",
            **blocks("harm", "training", "probe", "invariance"),
        },
    )


def _point(name: str) -> Pipeline:
    """A C.3 grid point ``harm.relevance.<name>``: data -> pretrain -> probe for C and for O."""
    return Pipeline(
        _compose("condition", "params:harm.grid.seeds")
        + pretrain.template()
        + probe.template(("c", "o")),
        namespace=f"harm.relevance.{name}",
        inputs={
            "condition": f"harm.relevance.{name}.condition",
            "c_data": "harm.relevance.c_targets",
            "o_data": "harm.relevance.o_targets",
            **{s: s for s in SHARED},
        },
        parameters={
            "params:harm.data": "params:harm.data",
            "params:harm.grid.seeds": "params:harm.grid.seeds",
            **blocks("harm", "training", "probe"),
        },
    )


def create_pipeline(parameters: Mapping[str, Any]) -> Pipeline:
    """The harm experiment for the C.3 grid of ``parameters['harm']['grid']``."""
    points = read_grid(parameters, "harm", GridParams).points()
    shared = Pipeline(
        [
            node(data.build_c_data, "params:data", "c_data", name="build_c_data"),
            node(data.load_objects, "params:base_images", "objects", name="load_objects"),
            node(
                data.make_pair_sets,
                ["c_data", "objects", "params:data", "params:seeds"],
                ["pairs_vary_c", "pairs_vary_o"],
                name="make_pair_sets",
            ),
            node(
                data.objects_table,
                ["objects", "params:data", "params:seeds"],
                "objects_csv",
                name="objects_per_seed",
            ),
        ],
        namespace="harm",
        outputs={"objects_csv": "harm.report.objects_csv"},
        parameters=blocks("harm", "data", "base_images", "seeds"),
    )
    conditions = sum((_condition(c) for c in CONDITIONS), Pipeline([]))
    plan = Pipeline(
        [
            node(
                data.plan_relevance,
                "params:relevance",
                {p: f"{p}.condition" for p in points},
                name="plan_relevance",
            ),
            node(
                data.make_relevance_targets,
                ["c_data", "objects", "params:data", "params:relevance.seeds"],
                ["c_targets", "o_targets"],
                name="make_targets",
            ),
        ],
        namespace="harm.relevance",
        inputs={"c_data": "harm.c_data", "objects": "harm.objects"},
        parameters={
            "params:data": "params:harm.data",
            "params:relevance": "params:harm.grid",
            "params:relevance.seeds": "params:harm.grid.seeds",
        },
    )
    grid = sum((_point(p) for p in points), Pipeline([]))
    reporting = (
        collect({c: f"harm.{c}.probe_metrics" for c in CONDITIONS}, "probe_metrics")
        + collect({c: f"harm.{c}.sensitivity" for c in CONDITIONS}, "sensitivity")
        + collect({c: f"harm.{c}.pretrain_metrics" for c in CONDITIONS}, "pretrain_metrics")
        + Pipeline(
            [
                node(
                    report.table1,
                    [
                        "probe_metrics",
                        "sensitivity",
                        "pretrain_metrics",
                        "objects_csv",
                        "params:training",
                        "params:data",
                        "params:probe",
                        "params:invariance",
                    ],
                    ["table1_csv", "table1_md", "table1_figure"],
                    name="table1",
                ),
                node(
                    report.relevance_metrics,
                    {"relevance": "params:relevance", **{p: f"{p}_probe_metrics" for p in points}},
                    "relevance_metrics",
                    name="relevance_metrics",
                ),
                node(
                    report.plot_relevance,
                    "relevance_metrics",
                    ["relevance_figure", "relevance_md"],
                    name="plot_relevance",
                ),
            ],
            inputs={f"{p}_probe_metrics": f"harm.relevance.{p}.probe_metrics" for p in points},
        )
    )
    tables = under_namespace(
        reporting,
        "harm.report",
        parameters={
            "params:relevance": "params:harm.grid",
            **blocks("harm", "training", "data", "probe", "invariance"),
        },
    )
    return shared + conditions + plan + grid + tables
