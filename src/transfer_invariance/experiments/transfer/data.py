"""Nodes making transfer's data: each model's pretraining sets and the pair sets all models share.

A model of family ``images`` (resp. ``random``) and transformation t is pretrained on D(O, {t}):
``n_objects`` objects (resp. random patterns) drawn per seed, transformed by t only. Its
sensitivity to every type u is measured on pairs that differ only in u's draw, from four kinds of
data (``KINDS`` and the real-world sets), made here once from the synthetic sources
(``SYNTHETIC``) and the real-world images, and shared by all models:

=================  ======================  ======================
kind               image models            random models
=================  ======================  ======================
in_distribution    ``objects``             ``patterns``
mild_ood           ``other_objects``       ``other_patterns``
strong_ood         ``patterns``            ``objects``
real world         ``scenes`` / ``cifar10`` / ``cifar100`` (whole-image augmentation)
=================  ======================  ======================

``objects``, ``other_objects`` and ``patterns`` depend on the seed (one pair set per seed);
``other_patterns`` come from a pattern seed of their own and the real-world images are fixed, so
those are one pair set for every seed.
"""

from __future__ import annotations

from typing import Any

from transfer_invariance.core.real_world import real_world_splits
from transfer_invariance.core.rendering import (
    DatasetSpec,
    Renderer,
    augment_pairs,
    parse_spec,
    render_pairs,
    render_splits,
)
from transfer_invariance.experiments.transfer.params import (
    FAMILIES,
    PER_SEED,
    SOURCE_OF_KIND,
    SYNTHETIC,
    GridParams,
    TransferDataParams,
)
from transfer_invariance.pipelines.common import seed_key
from transfer_invariance.pipelines.params import BaseImagesParams, RenderParams, Seeds


def source_spec(
    source: str,
    transforms: list[str],
    data: TransferDataParams,
    seed: int,
    base_images: BaseImagesParams,
) -> DatasetSpec:
    """The Transforms-2D spec of a synthetic source for one seed and transformation list.

    ``objects``: the seed's draw of ``n_objects`` objects; ``other_objects``: the next
    ``n_objects`` of the same draw (disjoint); ``patterns``: the seed's random patterns;
    ``other_patterns``: patterns of ``other_pattern_seed`` after the first ``n_objects``.
    """
    if source not in SYNTHETIC:
        raise ValueError(f"unknown synthetic source {source!r}; known: {SYNTHETIC}")
    random = source.endswith("patterns")
    other = source.startswith("other")
    raw = {
        "transforms": list(transforms),
        "objects": data.n_objects,
        "object_offset": data.n_objects if other else 0,
        "object_seed": seed,
        "n_train": data.n_train,
        "n_val": data.n_val,
        "n_test": data.n_test,
        "seed": seed,
        "image_size": data.image_size,
        "data": "random" if random else "images",
        "source": base_images.source,
        "base_dir": base_images.base_dir,
    }
    if source == "other_patterns":
        raw["pattern_seed"] = data.other_pattern_seed
    return parse_spec(f"{source}_{'+'.join(transforms)}_seed_{seed}", raw)


def make_model_data(
    model: dict[str, str],
    data: TransferDataParams,
    seeds: Seeds,
    base_images: BaseImagesParams,
    render: RenderParams,
) -> dict[str, dict]:
    """A model's pretraining splits for every seed: its family's own source, its one type."""
    source = SOURCE_OF_KIND[model["family"]]["in_distribution"]
    return {
        seed_key(s): render_splits(
            source_spec(source, [model["transformation"]], data, s, base_images),
            render.batch_size,
            render.progress,
            render.device,
        )
        for s in seeds
    }


def plan_models(grid: GridParams) -> dict[str, dict[str, str]]:
    """One model per family and transformation (``none`` included): what each namespace trains."""
    return {
        f"{family}.{t}": {"family": family, "transformation": t}
        for family in FAMILIES
        for t in grid.models()
    }


def synthetic_pairs(
    source: str,
    transformation: str,
    data: TransferDataParams,
    seed: int,
    base_images: BaseImagesParams,
    render: RenderParams,
) -> dict[str, dict[str, Any]]:
    """``n_pairs`` test pairs of a synthetic source: same object (or pattern) and background, two
    independent draws of ``transformation`` (identical members for ``none``)."""
    renderer = Renderer.from_spec(source_spec(source, [transformation], data, seed, base_images))
    return render_pairs(
        renderer, "test", data.n_pairs, render.batch_size, render.progress, render.device
    )


def pair_key(source: str, transformation: str) -> str:
    """The key of a synthetic pair set in ``make_synthetic_pairs``'s output."""
    return f"{source}__{transformation}"


def make_synthetic_pairs(
    grid: GridParams,
    data: TransferDataParams,
    seeds: Seeds,
    base_images: BaseImagesParams,
    render: RenderParams,
) -> dict[str, dict]:
    """Every synthetic source's pair set for every type (``pair_key``): keyed by seed for the
    sources drawn per seed, one set for all seeds for ``other_patterns`` (whose patterns do not
    depend on the seed)."""
    out = {}
    for source in SYNTHETIC:
        for t in grid.types:
            if source in PER_SEED:
                out[pair_key(source, t)] = {
                    seed_key(s): synthetic_pairs(source, t, data, s, base_images, render)
                    for s in seeds
                }
            else:
                out[pair_key(source, t)] = synthetic_pairs(source, t, data, 0, base_images, render)
    return out


def real_world_images(source: str, data: TransferDataParams) -> dict[str, Any]:
    """``n_pairs`` real-world test images: the scene stand-in, or the first CIFAR test images."""
    return real_world_splits(
        source,
        {"test": data.n_pairs},
        n_classes=data.scene_classes,
        seed=data.scene_seed,
        image_size=data.image_size,
        cifar_root=data.cifar_root,
        download=data.download,
    )["test"]


def load_real_world(grid: GridParams, data: TransferDataParams) -> dict[str, dict]:
    """The images of every real-world data set of the grid."""
    return {source: real_world_images(source, data) for source in grid.real_world}


def make_real_world_pairs(
    images: dict[str, Any], grid: GridParams, render: RenderParams
) -> dict[str, dict]:
    """Pairs of every type on real-world images: two whole-image augmentation draws of an image."""
    return {
        t: augment_pairs(images, [t], batch_size=render.batch_size, device=render.device)
        for t in grid.types
    }
