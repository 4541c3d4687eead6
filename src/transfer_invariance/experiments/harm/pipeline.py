"""harm: ``kedro run --pipeline=harm`` reproduces Section 4.2 (Table 1) and Appendix C.3.

harm.c_data, harm.objects -> one namespace per pretraining condition (C/C, C+O/C, C+O/O, O/O):
data -> pretrain -> probe on all four datasets -> sensitivity to C and to O (shared pair sets)
-> harm.report (Table 1). harm.relevance: the rho / beta sweep -> Figure 14.
Parameters: ``conf/base/parameters_harm.yml`` (default size) and ``conf/paper/`` (paper size).
"""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from transfer_invariance.experiments.harm import nodes
from transfer_invariance.hooks import register_check
from transfer_invariance.pipelines import measure_invariance, pretrain, probe, report

PAIRS = ("vary_c", "vary_o")

register_check("data", nodes.check_data)
register_check("relevance", nodes.check_relevance)


def _condition(cond: str) -> Pipeline:
    ns = f"harm.{cond}"
    data = Pipeline(
        [
            node(
                nodes.make_condition_data,
                [
                    "harm.c_data",
                    "harm.objects",
                    "params:harm.data",
                    "params:condition",
                    "params:harm.seeds",
                ],
                "data",
                name="compose_data",
            )
        ],
        namespace=ns,
        inputs={"harm.c_data", "harm.objects"},
        parameters={"params:harm.data", "params:harm.seeds"},
    )
    targets = {f"{t}_data": f"harm.{t}.data" for t in nodes.CONDITIONS}
    stages = (
        Pipeline(
            pretrain.create_pipeline(ns),
            namespace=ns,
            parameters={"params:training": "params:harm.training"},
        )
        + Pipeline(
            probe.create_pipeline(ns, nodes.CONDITIONS),
            namespace=ns,
            inputs=targets,
            parameters={"params:probe": "params:harm.probe"},
        )
        + Pipeline(
            measure_invariance.create_pipeline(ns, PAIRS),
            namespace=ns,
            inputs={f"{p}_pairs": f"harm.pairs_{p}" for p in PAIRS},
            parameters={"params:invariance": "params:harm.invariance"},
        )
    )
    return data + stages


def create_pipeline(**kwargs) -> Pipeline:
    shared = Pipeline(
        [
            node(nodes.build_c_data, "params:harm.data", "c_data", name="build_c_data"),
            node(nodes.load_objects, "params:harm.data", "objects", name="load_objects"),
            node(
                nodes.make_pair_sets,
                ["c_data", "objects", "params:harm.data"],
                ["pairs_vary_c", "pairs_vary_o"],
                name="make_pair_sets",
            ),
        ],
        namespace="harm",
        parameters={"params:harm.data"},
    )
    conditions = sum((_condition(c) for c in nodes.CONDITIONS), Pipeline([]))
    tables = Pipeline(
        report.create_pipeline(
            [], [f"harm.{c}.probe_metrics" for c in nodes.CONDITIONS], name="probe_metrics"
        )
        + report.create_pipeline(
            [], [f"harm.{c}.sensitivity" for c in nodes.CONDITIONS], name="sensitivity_metrics"
        )
        + Pipeline(
            [
                node(
                    nodes.table1,
                    ["probe_metrics", "sensitivity_metrics"],
                    ["table1_csv", "table1_md", "table1_figure"],
                    name="table1",
                )
            ]
        ),
        namespace="harm.report",
        inputs={
            f"harm.{c}.{m}" for c in nodes.CONDITIONS for m in ("probe_metrics", "sensitivity")
        },
    )
    sweep_params = ["params:harm.data", "params:harm.relevance"]
    relevance = Pipeline(
        [
            node(
                nodes.pretrain_sweep,
                ["harm.c_data", "harm.objects", *sweep_params, "params:harm.training"],
                "checkpoints",
                name="pretrain_sweep",
            ),
            node(
                nodes.probe_sweep,
                ["checkpoints", "harm.c_data", "harm.objects", *sweep_params, "params:harm.probe"],
                "probe_metrics",
                name="probe_sweep",
            ),
            node(
                nodes.plot_relevance,
                "probe_metrics",
                ["harm.report.relevance_figure", "harm.report.relevance_md"],
                name="plot_relevance",
            ),
        ],
        namespace="harm.relevance",
        inputs={"harm.c_data", "harm.objects"},
        outputs={"harm.report.relevance_figure", "harm.report.relevance_md"},
        parameters={*sweep_params, "params:harm.training", "params:harm.probe"},
    )
    return shared + conditions + tables + relevance
