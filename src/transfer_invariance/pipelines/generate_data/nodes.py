"""Thin nodes of the generate_data stage."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from transfer_invariance.core.plotting import gallery_figure
from transfer_invariance.core.rendering import (
    DatasetSpec,
    Renderer,
    parse_spec,
    render_pairs,
    render_split,
)


def validate_dataset(
    dataset: dict[str, Any], base_images: dict[str, Any], name: str
) -> DatasetSpec:
    """Check the dataset parameters (and that the base images exist) before any rendering."""
    return parse_spec(name, {**base_images, **dataset})


def render_dataset(spec: DatasetSpec, render: dict[str, Any]) -> tuple[dict, dict, dict]:
    """Render train, val and test splits."""
    renderer = Renderer.from_spec(spec)
    return tuple(
        render_split(renderer, s, None, render["batch_size"], render["progress"])
        for s in ("train", "val", "test")
    )


def render_pair_set(spec: DatasetSpec, pairs: dict[str, Any], render: dict[str, Any]) -> dict:
    """Invariance pairs of the dataset (same object and background, two transformation draws)."""
    return render_pairs(
        Renderer.from_spec(spec),
        pairs["split"],
        pairs["n"],
        render["batch_size"],
        render["progress"],
    )


def plot_gallery(train: dict[str, Any], gallery: dict[str, Any]) -> Figure:
    """A labelled grid of samples per class."""
    return gallery_figure(train, gallery["samples_per_class"], gallery["max_classes"])


def as_seeded(
    train: dict[str, Any], val: dict[str, Any], test: dict[str, Any], seeds: list[int]
) -> dict[str, dict]:
    """The splits in the stage format ``{"seed_<s>": {train, val, test}}`` (same data for every seed)."""
    if not seeds:
        raise ValueError("seeds must list at least one seed.")
    return {f"seed_{s}": {"train": train, "val": val, "test": test} for s in seeds}
