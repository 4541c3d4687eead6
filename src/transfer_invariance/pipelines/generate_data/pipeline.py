"""generate_data: render Transforms-2D datasets, one namespace per dataset.

Template inputs (namespaced): ``params:dataset`` and, with pairs, ``params:pairs``; shared:
``params:base_images``, ``params:render``, ``params:gallery``. Outputs: ``train``, ``val``, ``test``
tensor sets, ``gallery`` and optionally ``pairs``. The study's datasets are the entries of
``generate_data`` in ``parameters_generate_data.yml``: ``generate_data.<name>.train`` etc.
"""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from transfer_invariance.pipelines.generate_data import nodes
from transfer_invariance.pipelines.study import StudyPlan

SHARED_PARAMS = ("params:base_images", "params:render", "params:gallery")


def template(pairs: bool = False, gallery: bool = True) -> Pipeline:
    """Check, render, draw the gallery of (and optionally pair) one dataset."""
    steps = [
        node(
            nodes.dataset_spec,
            ["params:dataset", "params:base_images"],
            "spec",
            name="dataset_spec",
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
    return Pipeline(steps)


def dataset_pipeline(namespace: str, pairs: bool = False, gallery: bool = True) -> Pipeline:
    """The template under ``namespace``, with the shared blocks left un-namespaced."""
    pipe = template(pairs, gallery)
    return Pipeline(
        pipe, namespace=namespace, parameters={p for p in SHARED_PARAMS if p in pipe.inputs()}
    )


def create_pipeline(plan: StudyPlan) -> Pipeline:
    """The study's datasets: ``generate_data.<name>`` for every entry of ``generate_data``."""
    return sum(
        (dataset_pipeline(f"generate_data.{name}", pairs) for name, pairs in plan.datasets.items()),
        Pipeline([]),
    )
