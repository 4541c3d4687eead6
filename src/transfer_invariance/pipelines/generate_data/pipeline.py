"""generate_data: one namespaced instance per dataset.

Inputs (namespaced): ``params:dataset`` (a dataset spec), shared ``params:base_images`` and
``params:render``. Outputs: ``<ns>.train`` / ``.val`` / ``.test`` tensor sets and ``<ns>.gallery``;
the pairs instance adds ``<ns>.pairs``.
"""

from __future__ import annotations

from functools import partial

from kedro.pipeline import Pipeline, node

from transfer_invariance.pipelines.generate_data import nodes

SHARED_PARAMS = {"params:base_images", "params:render", "params:gallery"}
DEFAULT_DATASETS = ("objects_example", "random_example")


def create_dataset_pipeline(namespace: str, gallery: bool = True, pairs: bool = False) -> Pipeline:
    """Validate, render and (optionally) draw the gallery of one dataset under ``namespace``."""
    name = namespace.split(".")[-1]
    steps = [
        node(
            partial(nodes.validate_dataset, name=name),
            ["params:dataset", "params:base_images"],
            "spec",
            name="validate_dataset",
        ),
        node(
            nodes.render_dataset,
            ["spec", "params:render"],
            ["train", "val", "test"],
            name="render_dataset",
        ),
    ]
    if gallery:
        steps.append(
            node(nodes.plot_gallery, ["train", "params:gallery"], "gallery", name="plot_gallery")
        )
    if pairs:
        steps.append(
            node(
                nodes.render_pair_set,
                ["spec", "params:pairs", "params:render"],
                "pairs",
                name="render_pairs",
            )
        )
    return Pipeline(
        steps,
        namespace=namespace,
        parameters={p for p in SHARED_PARAMS if any(p in n.inputs for n in steps)},
    )


def create_pairs_pipeline(namespace: str) -> Pipeline:
    """Only the invariance pairs of a dataset (validated first)."""
    name = namespace.split(".")[-1]
    steps = [
        node(
            partial(nodes.validate_dataset, name=name),
            ["params:dataset", "params:base_images"],
            "spec",
            name="validate_dataset",
        ),
        node(
            nodes.render_pair_set,
            ["spec", "params:pairs", "params:render"],
            "pairs",
            name="render_pairs",
        ),
    ]
    return Pipeline(steps, namespace=namespace, parameters={"params:base_images", "params:render"})


def create_pipeline(**kwargs) -> Pipeline:
    """The standalone generate_data pipeline: the example datasets of parameters_generate_data.yml."""
    return sum(
        (create_dataset_pipeline(f"generate_data.{d}") for d in DEFAULT_DATASETS), Pipeline([])
    )
