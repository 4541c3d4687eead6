"""generate_data template: one namespaced instance per dataset.

Inputs (namespaced): ``params:dataset`` (a dataset spec) and, for pairs, ``params:pairs``; shared:
``params:base_images``, ``params:render``, ``params:gallery``. Outputs: ``<ns>.train`` / ``.val`` /
``.test`` tensor sets, ``<ns>.gallery`` and optionally ``<ns>.pairs`` and ``<ns>.data`` (the splits
keyed by seed, for the training stages).
"""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from transfer_invariance.pipelines.common import bind
from transfer_invariance.pipelines.generate_data import nodes

SHARED_PARAMS = {"params:base_images", "params:render", "params:gallery"}
DEFAULT_DATASETS = ("objects_example", "random_example")


def create_dataset_pipeline(
    namespace: str, gallery: bool = True, pairs: bool = False, seeds_param: str | None = None
) -> Pipeline:
    """Validate, render, draw the gallery of (and optionally pair) one dataset under ``namespace``.

    ``seeds_param`` (e.g. ``"params:demo.seeds"``) adds ``<ns>.data`` = the splits keyed by seed.
    """
    name = namespace.split(".")[-1]
    steps = [
        node(
            bind(nodes.validate_dataset, name=name),
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
    parameters: dict[str, str] = {p: p for p in SHARED_PARAMS if any(p in n.inputs for n in steps)}
    if seeds_param is not None:
        steps.append(
            node(
                nodes.as_seeded,
                ["train", "val", "test", "params:seeds"],
                "data",
                name="key_by_seed",
            )
        )
        parameters["params:seeds"] = seeds_param
    return Pipeline(steps, namespace=namespace, parameters=parameters)


def create_pipeline(**kwargs) -> Pipeline:
    """The standalone generate_data pipeline: the example datasets of parameters_generate_data.yml."""
    return sum(
        (create_dataset_pipeline(f"generate_data.{d}") for d in DEFAULT_DATASETS), Pipeline([])
    )
