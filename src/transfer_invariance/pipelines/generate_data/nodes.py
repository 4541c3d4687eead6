"""Thin nodes of the generate_data stage."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from transfer_invariance.core.plotting import gallery_figure
from transfer_invariance.core.rendering import DatasetSpec, Renderer, render_pairs, render_splits
from transfer_invariance.core.tracking import scope
from transfer_invariance.pipelines.params import (
    BaseImagesParams,
    DatasetParams,
    GalleryParams,
    PairsParams,
    RenderParams,
)


def dataset_spec(dataset: DatasetParams, base_images: BaseImagesParams) -> DatasetSpec:
    """The dataset's full spec (named after its namespace), checked against the base images."""
    return dataset.spec(scope().split(".")[-1] or "dataset", base_images)


def render_dataset(spec: DatasetSpec, render: RenderParams) -> tuple[dict, dict, dict]:
    """Render train, val and test splits."""
    splits = render_splits(spec, render.batch_size, render.progress, render.device)
    return splits["train"], splits["val"], splits["test"]


def render_pair_set(spec: DatasetSpec, pairs: PairsParams, render: RenderParams) -> dict:
    """Invariance pairs of the dataset (same object and background, two transformation draws)."""
    return render_pairs(
        Renderer.from_spec(spec),
        pairs.split,
        pairs.n,
        render.batch_size,
        render.progress,
        render.device,
    )


def plot_gallery(train: dict[str, Any], gallery: GalleryParams) -> Figure:
    """A labelled grid of samples per class."""
    return gallery_figure(train, gallery.samples_per_class, gallery.max_classes)
