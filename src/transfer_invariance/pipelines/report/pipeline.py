"""report: the metrics of several models -> one table (CSV, Markdown, heatmap) per table block.

``collect(models, output)`` gathers one metrics dataset per model (the model column is the name it
is passed under); ``tables(metrics, names)`` renders ``params:tables.<name>`` from it. The study
instance is the ``report`` namespace: one table per entry of ``report.tables``, written to
``data/08_reporting/study/``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kedro.pipeline import Pipeline, node

from transfer_invariance.pipelines.report import nodes
from transfer_invariance.pipelines.study import STAGE_METRICS, StudyPlan


def collect(models: Mapping[str, str], output: str) -> Pipeline:
    """Concatenate ``{model name: metrics dataset}`` into ``output`` (the datasets stay global)."""
    local = {m: f"{m}_{output}" for m in models}
    return Pipeline(
        [node(nodes.collect_metrics, local, output, name=f"collect_{output}")],
        inputs={local[m]: dataset for m, dataset in models.items()},
    )


def under_namespace(
    reporting: Pipeline,
    namespace: str,
    inputs: Mapping[str, str] | None = None,
    parameters: Mapping[str, str] | None = None,
) -> Pipeline:
    """An experiment's report pipeline under ``namespace`` (e.g. ``harm.report``): its own datasets
    namespaced, the datasets it reads from other namespaces (dotted names such as
    ``harm.c_c.probe_metrics``) kept as they are, plus the given ``inputs`` and ``parameters``."""
    shared = {i: i for i in reporting.inputs() if "." in i and not i.startswith("params:")}
    return Pipeline(
        reporting,
        namespace=namespace,
        inputs={**shared, **(inputs or {})},
        parameters=dict(parameters or {}),
    )


def tables(metrics: str, names: Sequence[str]) -> Pipeline:
    """One ``tabulate`` node per table: ``params:tables.<t>`` -> ``<t>_csv``, ``_md``, ``_figure``."""
    return Pipeline(
        [
            node(
                nodes.tabulate,
                [metrics, f"params:tables.{t}"],
                [f"{t}_csv", f"{t}_md", f"{t}_figure"],
                name=f"tabulate_{t}",
            )
            for t in names
        ]
    )


def create_pipeline(plan: StudyPlan) -> Pipeline:
    """The study's report: the tables of ``report.tables``, each over one stage's metrics."""
    parts = Pipeline([])
    for stage in sorted(set(plan.tables.values())):
        metrics = STAGE_METRICS[stage]
        models = plan.stage_models(stage)
        parts += collect(
            {m: f"{stage}.{m}.{metrics}" for m in models}, f"{stage}_metrics"
        ) + tables(f"{stage}_metrics", [t for t, s in plan.tables.items() if s == stage])
    inputs = {i for i in parts.inputs() if not i.startswith("params:") and "." in i}
    return Pipeline(
        parts,
        namespace="report",
        inputs=inputs,
        parameters={f"params:tables.{t}": f"params:report.tables.{t}" for t in plan.tables},
    )
