"""Nodes making harm's data: C, the objects O, each condition's C+O sets and the pair sets.

C is CIFAR-10 (``--env paper``) or the embedded natural-scene stand-in (default); O are small
Transforms-2D objects pasted on it (``core.harm_data``). The objects are drawn from all base objects
per seed (``objects_of_seed``), as the paper re-draws them per seed; C is the same for every seed.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from transfer_invariance.core import base_images as bi
from transfer_invariance.core.harm_data import compose_c_plus_o, harm_pair_sets
from transfer_invariance.core.real_world import real_world_splits
from transfer_invariance.core.tensor_sets import first
from transfer_invariance.experiments.harm.params import (
    ConditionParams,
    GridParams,
    HarmDataParams,
)
from transfer_invariance.pipelines.common import SPLITS, seed_key
from transfer_invariance.pipelines.params import BaseImagesParams, Seeds

C3_TARGETS = {
    "c": ConditionParams(label="c", placement="upper_right"),
    "o": ConditionParams(label="o", placement="upper_right"),
}


def build_c_data(data: HarmDataParams) -> dict[str, dict]:
    """The C splits: CIFAR-10 (a random val carved from train) or the natural-scene stand-in."""
    return real_world_splits(
        data.c_source,
        {split: getattr(data, f"n_{split}") for split in SPLITS},
        val_carve="random",
        n_classes=data.n_classes,
        seed=data.c_seed,
        cifar_root=data.cifar_root,
        download=data.download,
    )


def load_objects(base_images: BaseImagesParams) -> dict[str, Any]:
    """Every base object (straight RGBA, prepared at 64 px; the composer shrinks them)."""
    names, objects = bi.load_objects(base_images.source, base_images.base_dir, image_size=64)
    return {"objects": objects, "names": list(names)}


def objects_of_seed(objects: dict, data: HarmDataParams, seed: int) -> dict[str, Any]:
    """The ``n_objects`` objects O of one seed: a seeded draw from all base objects."""
    sel = bi.draw_classes(len(objects["names"]), data.n_objects, data.object_offset, seed)
    return {"objects": objects["objects"][sel], "names": [objects["names"][i] for i in sel]}


def objects_table(objects: dict, data: HarmDataParams, seeds: Seeds) -> pd.DataFrame:
    """Which objects each seed drew (one row per seed and object label)."""
    return pd.DataFrame(
        [
            {"seed": s, "label": i, "object": name}
            for s in seeds
            for i, name in enumerate(objects_of_seed(objects, data, s)["names"])
        ]
    )


def compose(
    c_split: dict,
    objects: dict,
    data: HarmDataParams,
    condition: ConditionParams,
    seed: int,
    split: str,
) -> dict:
    """One split of a condition's dataset for one seed, with that seed's objects."""
    seed_objects = objects_of_seed(objects, data, seed)
    return compose_c_plus_o(
        c_split,
        seed_objects["objects"],
        n_objects=data.n_objects,
        object_size=data.object_size,
        seed=seed,
        split=split,
        label_source=condition.label,
        beta=condition.paste_probability,
        background=condition.background,
        placement=condition.placement,
        rho=condition.rho,
        object_names=seed_objects["names"],
    )


def make_condition_data(
    c_data: dict, objects: dict, data: HarmDataParams, condition: ConditionParams, seeds: Seeds
) -> dict[str, dict]:
    """A condition's train/val/test for every seed (objects drawn per seed)."""
    return {
        seed_key(s): {
            split: compose(c_data[split], objects, data, condition, s, split) for split in SPLITS
        }
        for s in seeds
    }


def make_pair_sets(
    c_data: dict, objects: dict, data: HarmDataParams, seeds: Seeds
) -> tuple[dict, dict]:
    """Pairs on C+O test inputs varying only C, and only O, for every seed (with that seed's
    objects; shared by every model of the seed)."""
    test = first(c_data["test"], data.n_pairs)
    vary_c, vary_o = {}, {}
    for s in seeds:
        seed_objects = objects_of_seed(objects, data, s)
        kw = {
            "n_objects": data.n_objects,
            "object_size": data.object_size,
            "seed": s,
            "split": "test",
            "object_names": seed_objects["names"],
        }
        vary_c[seed_key(s)] = harm_pair_sets(test, seed_objects["objects"], vary="c", **kw)
        vary_o[seed_key(s)] = harm_pair_sets(test, seed_objects["objects"], vary="o", **kw)
    return vary_c, vary_o


def plan_relevance(relevance: GridParams) -> dict[str, ConditionParams]:
    """The C.3 grid: one pretraining condition per point, each feeding its own namespace."""
    return relevance.points()


def make_relevance_targets(
    c_data: dict, objects: dict, data: HarmDataParams, seeds: Seeds
) -> tuple[dict, dict]:
    """The C.3 probe targets, shared by every grid point: C+O (object upper right, independent,
    always pasted) labelled by C and by O, for every seed."""
    return tuple(
        make_condition_data(c_data, objects, data, C3_TARGETS[t], seeds) for t in ("c", "o")
    )
