"""Real-world images: the embedded scene stand-in or CIFAR-10/100, cut to the sizes wanted.

harm's C, importance's Appendix C.1 sets and transfer's real-world pairs all take "the scene
stand-in (offline) or CIFAR, cut to sizes" from :func:`real_world_splits`, so which images an
experiment gets for given parameters, and how its validation split is carved, is decided here once.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from transfer_invariance.core.cifar import load_cifar
from transfer_invariance.core.scenes import make_scenes
from transfer_invariance.core.tensor_sets import first, split_per_class, split_train_val

__all__ = ["REAL_WORLD_SOURCES", "VAL_CARVES", "real_world_splits"]

REAL_WORLD_SOURCES = ("scenes", "cifar10", "cifar100")
VAL_CARVES = ("random", "per_class")
_CIFAR_SPLITS = ("train", "val", "test")


def real_world_splits(
    source: str,
    sizes: Mapping[str, int | None],
    *,
    val_carve: Literal["random", "per_class"] = "random",
    n_classes: int = 10,
    seed: int = 0,
    image_size: int = 32,
    cifar_root: str | Path = "data/01_raw",
    download: bool = False,
) -> dict[str, dict[str, Any]]:
    """The splits named in ``sizes`` (in its order) of a real-world source, as tensor sets.

    Args:
        source: ``"scenes"`` (the embedded stand-in, offline), ``"cifar10"`` or ``"cifar100"``.
        sizes: images wanted per split. ``scenes`` makes exactly that many of each split
            (``make_scenes(n, n_classes, image_size, seed, split)``). CIFAR gives the first ``n``
            of a split (all of it when it has fewer, or for ``None``); its ``val`` is carved from
            its training split, and ``train`` is what remains, then cut.
        val_carve: how ``sizes["val"]`` counts: ``"random"`` draws that many images (seeded by
            ``seed``); ``"per_class"`` that many of every class (seeded by ``seed``; for scenes,
            ``sizes["val"] * n_classes`` images).
        n_classes, image_size: of the scenes (CIFAR has its own classes and 32 px images).
        seed: the scenes' seed and the seed of CIFAR's validation draw.
        cifar_root, download: where the CIFAR archive is, and whether to fetch it when missing.

    Raises:
        ValueError: unknown source, split or val_carve, or a split without a size that needs one.
    """
    if source not in REAL_WORLD_SOURCES:
        raise ValueError(
            f"source={source!r} is not a real-world source; use one of {REAL_WORLD_SOURCES}"
        )
    if val_carve not in VAL_CARVES:
        raise ValueError(f"val_carve={val_carve!r}; use one of {VAL_CARVES}")
    unsized = [s for s, n in sizes.items() if n is None and (source == "scenes" or s == "val")]
    if unsized:
        raise ValueError(
            f"split(s) {unsized} need a size (None, the whole split, is for CIFAR's train and test)"
        )
    if source == "scenes":
        per_class = {"val": n_classes} if val_carve == "per_class" else {}
        return {
            split: make_scenes(n * per_class.get(split, 1), n_classes, image_size, seed, split)
            for split, n in sizes.items()
        }
    unknown = [split for split in sizes if split not in _CIFAR_SPLITS]
    if unknown:
        raise ValueError(f"split(s) {unknown} are not CIFAR's; use some of {_CIFAR_SPLITS}")
    out: dict[str, dict[str, Any]] = {}
    if "train" in sizes or "val" in sizes:
        train = load_cifar(cifar_root, source, "train", download)
        if "val" in sizes:
            carve = split_per_class if val_carve == "per_class" else split_train_val
            train, out["val"] = carve(train, int(sizes["val"]), seed)
        out["train"] = _cut(train, sizes.get("train"))
    if "test" in sizes:
        out["test"] = _cut(load_cifar(cifar_root, source, "test", download), sizes["test"])
    return {split: out[split] for split in sizes}


def _cut(tensor_set: dict[str, Any], n: int | None) -> dict[str, Any]:
    """The first ``n`` rows, or the whole set for ``None``."""
    return tensor_set if n is None else first(tensor_set, n)
