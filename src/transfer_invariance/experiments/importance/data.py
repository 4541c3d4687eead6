"""The importance experiment's design and data: per seed, the target and the pretraining sets.

Everything is re-drawn per seed: the objects (``n_target_objects`` target and ``n_other_objects``
other objects, positions of a permutation of the base objects seeded by the seed), the
transformations (one type per category for the target task, a disjoint draw of one per category for
the ``different`` pretraining), the samples and the initialisation. A pretraining set and its
``same``/``different`` twin share objects and sampling seed; only the transformations differ.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import torch

from transfer_invariance.core import base_images as bi
from transfer_invariance.core.real_world import real_world_splits
from transfer_invariance.core.rendering import (
    DatasetSpec,
    augment_set,
    parse_spec,
    render_splits,
)
from transfer_invariance.core.rng import stable_hash
from transfer_invariance.core.tensor_sets import class_subset, per_class_subset, subset
from transfer_invariance.core.transforms import TRANSFORMS
from transfer_invariance.errors import ParameterError
from transfer_invariance.experiments.importance.params import (
    CATEGORIES,
    INVARIANCES,
    GridParams,
    ImportanceDataParams,
    PointParams,
    RealWorldDataParams,
)
from transfer_invariance.pipelines.common import SPLITS, seed_key
from transfer_invariance.pipelines.params import BaseImagesParams, RenderParams, Seeds


def transform_sets(seed: int, exclude: list[str] | tuple[str, ...] = ()) -> dict[str, list[str]]:
    """The seed's transformations: ``same`` (the target's: one type per category) and
    ``different`` (one other type per category, disjoint from the target's), in category order."""
    gen = torch.Generator().manual_seed(stable_hash("importance", "transforms", seed) % 2**63)
    out: dict[str, list[str]] = {"same": [], "different": []}
    for category in CATEGORIES:
        names = [n for n, t in TRANSFORMS.items() if t.category == category and n not in exclude]
        first, second = torch.randperm(len(names), generator=gen)[:2].tolist()
        out["same"].append(names[first])
        out["different"].append(names[second])
    return out


def object_range(
    data: ImportanceDataParams | RealWorldDataParams, relationship: str
) -> tuple[int, int]:
    """``(offset, count)`` of a class relationship in the seed's object permutation: the target
    objects are positions ``0 .. n_target_objects``, the other objects the ones after them."""
    n_t, n_o = data.n_target_objects, data.n_other_objects
    return {
        "target": (0, n_t),
        "subset": (0, data.subset_size),
        "same": (0, n_t),
        "disjoint": (n_t, n_o),
        "superset": (0, n_t + n_o),
    }[relationship]


def dataset_spec(
    data: ImportanceDataParams,
    base_images: BaseImagesParams,
    seed: int,
    relationship: str,
    transforms: list[str],
    n_train: int,
    stream: str,
) -> DatasetSpec:
    """The Transforms-2D spec of one of the seed's datasets (``stream`` separates the target's
    samples from the pretraining sets')."""
    offset, count = object_range(data, relationship)
    return parse_spec(
        f"importance_{stream}_seed_{seed}",
        {
            "transforms": transforms,
            "objects": count,
            "object_offset": offset,
            "object_seed": seed,
            "n_train": n_train,
            "n_val": data.n_val,
            "n_test": data.n_test,
            "seed": stable_hash("importance", stream, seed) % 2**31,
            "image_size": data.image_size,
            **base_images.model_dump(),
        },
    )


def _render(spec: DatasetSpec, render: RenderParams) -> dict[str, dict]:
    return render_splits(spec, render.batch_size, render.progress, render.device)


def make_target_data(
    data: ImportanceDataParams, base_images: BaseImagesParams, seeds: Seeds, render: RenderParams
) -> dict[str, dict]:
    """The target task of every seed: the target objects under the target's transformations."""
    return {
        seed_key(s): _render(
            dataset_spec(
                data,
                base_images,
                s,
                "target",
                transform_sets(s, data.exclude)["same"],
                data.target_n_train,
                "target",
            ),
            render,
        )
        for s in seeds
    }


def make_pretraining_data(
    data: ImportanceDataParams,
    base_images: BaseImagesParams,
    point: PointParams,
    seeds: Seeds,
    render: RenderParams,
) -> dict[str, dict]:
    """A pretraining point's data for every seed: its class relationship's objects, its
    invariance condition's transformations, its number of samples."""
    return {
        seed_key(s): _render(
            dataset_spec(
                data,
                base_images,
                s,
                point.classes,
                transform_sets(s, data.exclude)[point.invariance],
                point.pretrain_samples,
                "pretrain",
            ),
            render,
        )
        for s in seeds
    }


def probe_subset(target: dict[str, dict], n: int) -> dict[str, dict]:
    """The target with ``n`` training samples (a seeded subset per seed); val and test unchanged."""
    return {
        key: {**splits, "train": subset(splits["train"], n, stable_hash("probe", key) % 2**31)}
        for key, splits in target.items()
    }


def plan_points(grid: GridParams) -> dict[str, PointParams]:
    """Every pretraining namespace's configuration: ``[<dataset>.]<invariance>.<point>``."""
    return {
        f"{prefix}{inv}.{name}": point.model_copy(update={"invariance": inv})
        for prefix, sub in grid.grids().items()
        for inv in INVARIANCES
        for name, point in sub.points().items()
    }


def probe_sizes(grid: GridParams) -> dict[str, int]:
    """The probe-sample values other than the reference one, by namespace
    (``[<dataset>.]probe_<n>``)."""
    return {
        f"{prefix}probe_{n}": n for prefix, sub in grid.grids().items() for n in sub.probe_points()
    }


# ------------------------------------------------------------------- real-world data (App. C.1)
def load_real_world(data: RealWorldDataParams) -> dict[str, dict]:
    """The dataset's splits: CIFAR's, with ``val_per_class`` images of every class carved from its
    training split, or the scene stand-in's (``val_per_class`` images per class in val and test)."""
    n_classes = data.n_target_objects + data.n_other_objects
    scenes = data.dataset == "scenes"
    return real_world_splits(
        data.dataset,
        {
            "train": data.scene_samples if scenes else None,
            "val": data.val_per_class,
            "test": data.val_per_class * n_classes if scenes else None,
        },
        val_carve="per_class",
        n_classes=n_classes,
        seed=0,
        cifar_root=data.cifar_root,
        download=data.download,
    )


def _classes(source: dict, data: RealWorldDataParams, relationship: str, seed: int) -> list[int]:
    offset, count = object_range(data, relationship)
    return bi.draw_classes(len(source["train"]["meta"]["class_names"]), count, offset, seed)


def _fixed_draw(images: dict, names: list[str], seed: int, render: RenderParams) -> dict:
    """One fixed augmentation draw of ``names`` for every image (evaluation sets, the target)."""
    return augment_set(
        images, names, seed, "importance/fixed", batch_size=render.batch_size, device=render.device
    )


def make_real_world_target(
    source: dict, data: RealWorldDataParams, seeds: Seeds, render: RenderParams
) -> dict[str, dict]:
    """The target task of every seed: the target classes under one fixed draw of the target's
    transformations (the probe computes the representations once)."""
    out = {}
    for s in seeds:
        classes, names = (
            _classes(source, data, "target", s),
            transform_sets(s, data.exclude)["same"],
        )
        seed = stable_hash("importance", data.dataset, "target", s)
        out[seed_key(s)] = {
            split: _fixed_draw(class_subset(source[split], classes), names, seed, render)
            for split in SPLITS
        }
    return out


def make_real_world_pretraining(
    source: dict, data: RealWorldDataParams, point: PointParams, seeds: Seeds, render: RenderParams
) -> dict[str, dict]:
    """A pretraining point on real images for every seed: its classes, ``pretrain_samples``
    training images per class augmented afresh every epoch (``meta["augment"]``) with its condition's
    transformations, and fixed augmented draws for validation and test."""
    out = {}
    for s in seeds:
        classes = _classes(source, data, point.classes, s)
        names = transform_sets(s, data.exclude)[point.invariance]
        seed = stable_hash("importance", data.dataset, "pretrain", s)
        try:
            train = per_class_subset(
                class_subset(source["train"], classes), point.pretrain_samples, seed
            )
        except ValueError as err:
            raise ParameterError(
                f"importance.grid.real_world.{data.dataset}: pretrain_samples = "
                f"{point.pretrain_samples} per class: {err}"
            ) from None
        train["meta"] = {**train["meta"], "augment": {"transforms": names, "seed": seed}}
        out[seed_key(s)] = {
            "train": train,
            **{
                split: _fixed_draw(class_subset(source[split], classes), names, seed, render)
                for split in ("val", "test")
            },
        }
    return out


def design_table(
    data: ImportanceDataParams, seeds: Seeds, base_images: BaseImagesParams
) -> pd.DataFrame:
    """What each seed drew: the transformations of both conditions and the target and other objects."""
    names = [n for n, _ in bi.list_object_files(base_images.source, base_images.base_dir)]
    rows: list[dict[str, Any]] = []
    for s in seeds:
        sets = transform_sets(s, data.exclude)
        row: dict[str, Any] = {
            "seed": s,
            "target_transforms": " ".join(sets["same"]),
            "different_transforms": " ".join(sets["different"]),
        }
        for group in ("target", "disjoint"):
            offset, count = object_range(data, group)
            sel = bi.draw_classes(len(names), count, offset, s)
            row["target_objects" if group == "target" else "other_objects"] = " ".join(
                names[i] for i in sel
            )
        rows.append(row)
    return pd.DataFrame(rows)


def real_world_design(source: dict, data: RealWorldDataParams, seeds: Seeds) -> pd.DataFrame:
    """What each seed drew on a real-world dataset: transformations and target/other classes."""
    names = source["train"]["meta"]["class_names"]
    rows = []
    for s in seeds:
        sets = transform_sets(s, data.exclude)
        rows.append(
            {
                "seed": s,
                "target_transforms": " ".join(sets["same"]),
                "different_transforms": " ".join(sets["different"]),
                "target_classes": " ".join(names[c] for c in _classes(source, data, "target", s)),
                "other_classes": " ".join(names[c] for c in _classes(source, data, "disjoint", s)),
            }
        )
    return pd.DataFrame(rows)
