"""Nodes making the toy experiment's data: each model's pretraining set, the shared pair sets."""

from __future__ import annotations

from typing import Any

from transfer_invariance.core.rendering import Renderer, render_pairs, render_splits
from transfer_invariance.pipelines.common import seed_key
from transfer_invariance.pipelines.params import (
    BaseImagesParams,
    DatasetParams,
    PairsParams,
    RenderParams,
    Seeds,
)

from .params import GridParams


def plan_models(grid: GridParams) -> dict[str, list[str]]:
    """Each model's transformations (one output per grid point: the grid is never a loop)."""
    return {t: [t] for t in grid.models()}


def make_model_data(
    transforms: list[str],
    data: DatasetParams,
    seeds: Seeds,
    base_images: BaseImagesParams,
    render: RenderParams,
) -> dict[str, dict[str, Any]]:
    """The model's pretraining splits D(O, {its type}), one entry per seed (the stage layout)."""
    spec = data.model_copy(update={"transforms": transforms}).spec(
        "+".join(transforms), base_images
    )
    splits = render_splits(spec, render.batch_size, render.progress, render.device)
    return {seed_key(s): splits for s in seeds}


def make_pairs(
    grid: GridParams,
    data: DatasetParams,
    pairs: PairsParams,
    base_images: BaseImagesParams,
    render: RenderParams,
) -> dict[str, dict[str, Any]]:
    """Invariance pairs of every type, shared by every model."""
    out = {}
    for t in grid.types:
        spec = data.model_copy(update={"transforms": [t]}).spec(t, base_images)
        out[t] = render_pairs(
            Renderer.from_spec(spec), pairs.split, pairs.n, render.batch_size, render.progress
        )
    return out
