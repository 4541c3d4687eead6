"""demo: pretrain with one transformation, transfer to targets with the same and a different one.

generate_data (pretraining set, two target sets with pairs) -> pretrain -> probe (same, different)
-> finetune -> measure_invariance (pairs of each target transformation) -> report.
Parameters: ``conf/base/parameters_demo.yml``.
"""

from __future__ import annotations

from kedro.pipeline import Pipeline

from transfer_invariance.pipelines import finetune, measure_invariance, pretrain, probe, report
from transfer_invariance.pipelines.generate_data import create_dataset_pipeline

TARGETS = ("same", "different")
MODEL = "demo.model"
REPORTS = {
    "transfer": "probe_metrics",
    "sensitivity": "sensitivity",
    "finetune": "finetune_metrics",
}


def create_pipeline(**kwargs) -> Pipeline:
    data = create_dataset_pipeline("demo.pretrain_data", seeds_param="params:demo.seeds")
    for t in TARGETS:
        data += create_dataset_pipeline(
            f"demo.target_{t}", pairs=True, seeds_param="params:demo.seeds"
        )
    targets = {f"{t}_data": f"demo.target_{t}.data" for t in TARGETS}
    pairs = {f"{t}_pairs": f"demo.target_{t}.pairs" for t in TARGETS}
    model = (
        Pipeline(
            pretrain.create_pipeline(MODEL),
            namespace=MODEL,
            inputs={"data": "demo.pretrain_data.data"},
            parameters={"params:training": "params:demo.training"},
        )
        + Pipeline(
            probe.create_pipeline(MODEL, TARGETS),
            namespace=MODEL,
            inputs=targets,
            parameters={"params:probe": "params:demo.probe"},
        )
        + Pipeline(
            finetune.create_pipeline(MODEL, TARGETS),
            namespace=MODEL,
            inputs=targets,
            parameters={"params:finetune": "params:demo.finetune"},
        )
        + Pipeline(
            measure_invariance.create_pipeline(MODEL, TARGETS),
            namespace=MODEL,
            inputs=pairs,
            parameters={"params:invariance": "params:demo.invariance"},
        )
    )
    reporting = sum(
        (
            Pipeline(
                report.create_pipeline([table], [f"{MODEL}.{metrics}"], name=f"{metrics}_table"),
                namespace="demo.report",
                inputs={f"{MODEL}.{metrics}"},
                parameters={f"params:tables.{table}": f"params:demo.tables.{table}"},
            )
            for table, metrics in REPORTS.items()
        ),
        Pipeline([]),
    )
    return data + model + reporting
