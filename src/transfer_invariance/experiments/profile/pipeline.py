"""profile: ``kedro run --pipeline=profile`` measures the invariance profile of any model, the
project's own or a torchvision one: its L2 sensitivity to every transformation type (and ``none``,
the floor) on several kinds of data, on the same seeded pairs for every model.

Layout (each bullet a namespace in ``kedro viz``):

- ``profile``: ``write_random_weights`` (only when a model has ``random_init``), ``check_models``
  (every model built and run once before any pair is rendered; a project model named by its
  namespace reads ``<namespace>.checkpoints``, so a missing one names the command that makes it),
  then the pair sets every model shares, ``profile.pairs.<kind>.<type>``, one per kind of data and
  type, keyed by the models' image sizes.
- ``profile.<model>``: one node per kind of data, ``sensitivity_<kind>``: the model's sensitivity
  to every type on that kind (one nested MLflow run each).
- ``profile.report``: the table, the figure, each model's ranking and the findings in words.

``profile.grid`` (the models, the kinds of data and the types) is read when the pipelines are
registered, so it shapes the DAG; every other profile parameter changes only values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kedro.pipeline import Pipeline, node

from transfer_invariance.experiments.grid import blocks, read_grid
from transfer_invariance.experiments.profile import data, measure, report
from transfer_invariance.experiments.profile.params import GridParams
from transfer_invariance.pipelines.report.pipeline import under_namespace

SHARED_PARAMS = blocks("profile", "grid", "data", "base_images", "render")


def _pairs(kind: str, transformation: str) -> str:
    """The stored pair set of one kind and type."""
    return f"profile.pairs.{kind}.{transformation}"


def _checked(grid: GridParams) -> list:
    """The example's random weights (when asked for) and the check of every model."""
    nodes = []
    inputs = {"grid": "params:grid"}
    if any(m.random_init is not None for m in grid.models.values()):
        nodes.append(
            node(
                measure.write_random_weights,
                "params:grid",
                "random_weights",
                name="write_random_weights",
            )
        )
        inputs["random_weights"] = "random_weights"
    inputs |= {name: f"{ns}.checkpoints" for name, ns in grid.namespaced().items()}
    outputs = {"sizes": "sizes", "models": "models", **{m: f"{m}.model" for m in grid.models}}
    nodes.append(node(measure.check_models, inputs, outputs, name="check_models"))
    return nodes


def _shared(grid: GridParams) -> Pipeline:
    """The check of the models and every pair set, made once in namespace ``profile``."""
    nodes = _checked(grid)
    synthetic = data.synthetic_kinds(grid)
    if synthetic:
        nodes.append(
            node(
                data.make_synthetic_pairs,
                ["sizes", "params:grid", "params:data", "params:base_images", "params:render"],
                {
                    data.pair_key(k, t): f"pairs.{k}.{t}"
                    for k in synthetic
                    for t in grid.all_types()
                },
                name="make_synthetic_pairs",
            )
        )
    real_world = [k for k in data.augmented_kinds(grid) if k != "folder"]
    if real_world:
        nodes.append(
            node(
                data.load_real_world,
                ["sizes", "params:grid", "params:data"],
                {k: f"{k}_images" for k in real_world},
                name="load_real_world",
            )
        )
    if "folder" in grid.kinds:
        nodes.append(
            node(data.load_folder, ["sizes", "params:data"], "folder_images", name="load_folder")
        )
    nodes += [
        node(
            data.make_augmented_pairs,
            [f"{k}_images", "params:grid", "params:data", "params:render"],
            {t: f"pairs.{k}.{t}" for t in grid.all_types()},
            name=f"make_pairs_{k}",
        )
        for k in data.augmented_kinds(grid)
    ]
    checkpoints = {f"{ns}.checkpoints" for ns in grid.namespaced().values()}
    return Pipeline(nodes, namespace="profile", inputs=checkpoints, parameters=SHARED_PARAMS)


def _model(name: str, grid: GridParams) -> Pipeline:
    """``profile.<name>``: the model's sensitivity to every type, one node per kind of data."""
    namespace = f"profile.{name}"
    spec = grid.models[name]
    inputs = {"model": f"{namespace}.model"}
    if spec.checkpoint:
        inputs["checkpoints"] = f"{spec.checkpoint}.checkpoints"
    nodes = []
    for kind in grid.kinds:
        sets = {data.pair_key(kind, t): f"{kind}__{t}_pairs" for t in grid.all_types()}
        inputs |= {f"{kind}__{t}_pairs": _pairs(kind, t) for t in grid.all_types()}
        arguments = {"model": "model", "invariance": "params:invariance", "data": "params:data"}
        if spec.checkpoint:
            arguments["checkpoints"] = "checkpoints"
        nodes.append(
            node(
                measure.profile_sensitivity,
                arguments | sets,
                f"sensitivity_{kind}",
                name=f"sensitivity_{kind}",
            )
        )
    return Pipeline(
        nodes,
        namespace=namespace,
        inputs=inputs,
        parameters=blocks("profile", "invariance", "data"),
    )


def _report(grid: GridParams) -> Pipeline:
    """``profile.report``: table, figure, ranking and findings."""
    tables = {f"{m}__{k}": f"profile.{m}.sensitivity_{k}" for m in grid.models for k in grid.kinds}
    outputs = {
        report.profile_figure: (["table_csv", "params:grid"], "profile_figure"),
        report.ranking: (["table_csv", "params:grid"], ["ranking_csv", "ranking_md"]),
        report.findings: (["table_csv", "profile.models", "params:grid"], "findings_md"),
    }
    table = node(
        report.sensitivity_table,
        {"models": "profile.models", "grid": "params:grid", **tables},
        ["table_csv", "table_md"],
        name="sensitivity_table",
    )
    reporting = Pipeline(
        [table] + [node(f, i, o, name=f.__name__) for f, (i, o) in outputs.items()]
    )
    return under_namespace(reporting, "profile.report", parameters=blocks("profile", "grid"))


def create_pipeline(parameters: Mapping[str, Any]) -> Pipeline:
    """The profile of the models, kinds of data and types of ``parameters['profile']['grid']``."""
    grid = read_grid(parameters, "profile", GridParams)
    models = sum((_model(m, grid) for m in grid.models), Pipeline([]))
    return _shared(grid) + models + _report(grid)
