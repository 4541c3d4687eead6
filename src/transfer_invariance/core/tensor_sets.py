"""Cutting tensor sets: rows, the first rows, classes, seeded draws and train/val splits.

A tensor set is a dict ``{"images": uint8 [N, 3, H, W], "labels": int64 [N], "latents": {name:
[N, ...]}, "meta": {...}}``. Every dataset of the project is one, so every experiment cuts its data
with these helpers: the rows kept follow ``images``, ``labels`` and every latent alike, and a seeded
draw is the same whoever makes it.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = [
    "class_subset",
    "first",
    "per_class_subset",
    "select",
    "split_per_class",
    "split_train_val",
    "subset",
]


def select(tensor_set: dict[str, Any], index: torch.Tensor) -> dict[str, Any]:
    """Rows ``index`` (int64 indices or bool mask) of a tensor set; meta is copied."""
    index = torch.as_tensor(index)
    return {
        "images": tensor_set["images"][index].contiguous(),
        "labels": tensor_set["labels"][index].contiguous(),
        "latents": {k: v[index].contiguous() for k, v in tensor_set.get("latents", {}).items()},
        "meta": dict(tensor_set.get("meta", {})),
    }


def first(tensor_set: dict[str, Any], n: int) -> dict[str, Any]:
    """The first ``n`` rows (all of them when the set has fewer)."""
    return select(tensor_set, torch.arange(min(int(n), int(tensor_set["labels"].numel()))))


def subset(tensor_set: dict[str, Any], n: int, seed: int) -> dict[str, Any]:
    """The first ``n`` rows of a seeded permutation (in that order): a small random sample."""
    total = int(tensor_set["labels"].numel())
    if not 1 <= n <= total:
        raise ValueError(f"{n} samples asked of a set of {total}: n must be in [1, {total}].")
    return select(
        tensor_set, torch.randperm(total, generator=torch.Generator().manual_seed(seed))[:n]
    )


def class_subset(tensor_set: dict[str, Any], classes: list[int]) -> dict[str, Any]:
    """Keep the samples of the given classes, relabelled 0..k-1 in the order of ``classes``.

    ``meta["class_names"]`` becomes the names of the kept classes (same order),
    ``meta["source_classes"]`` the original class ids, and ``latents["source_label"]`` the original
    label of each kept sample.
    """
    classes = [int(c) for c in classes]
    names = list(tensor_set["meta"].get("class_names", []))
    n_cls = len(names)
    if not classes:
        raise ValueError("classes is empty; pass at least one class id")
    if len(set(classes)) != len(classes):
        raise ValueError(f"classes={classes} has duplicates")
    bad = [c for c in classes if c < 0 or c >= n_cls]
    if bad:
        raise ValueError(f"classes {bad} are outside 0..{n_cls - 1} (the set has {n_cls} classes)")
    labels = tensor_set["labels"]
    lut = torch.full((n_cls,), -1, dtype=torch.int64)
    lut[torch.tensor(classes)] = torch.arange(len(classes))
    new = lut[labels]
    keep = new >= 0
    out = select(tensor_set, keep)
    out["labels"] = new[keep].contiguous()
    out["latents"]["source_label"] = labels[keep].contiguous()
    out["meta"]["class_names"] = [names[c] for c in classes]
    out["meta"]["source_classes"] = classes
    return out


def _per_class_index(tensor_set: dict[str, Any], n_per_class: int, seed: int) -> torch.Tensor:
    """Sorted indices of ``n_per_class`` rows of every class of ``meta["class_names"]``, drawn with
    one generator class after class."""
    names = tensor_set["meta"]["class_names"]
    gen = torch.Generator().manual_seed(seed)
    picked = []
    for c, name in enumerate(names):
        members = torch.nonzero(tensor_set["labels"] == c).flatten()
        if len(members) < n_per_class:
            raise ValueError(
                f"{n_per_class} images per class asked but class {name!r} has {len(members)}; "
                "ask for fewer per class."
            )
        picked.append(members[torch.randperm(len(members), generator=gen)[:n_per_class]])
    return torch.cat(picked).sort().values


def per_class_subset(tensor_set: dict[str, Any], n_per_class: int, seed: int) -> dict[str, Any]:
    """``n_per_class`` samples of every class (a seeded draw within each class), in set order."""
    return select(tensor_set, _per_class_index(tensor_set, n_per_class, seed))


def split_per_class(
    tensor_set: dict[str, Any], n_per_class: int, seed: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(rest, picked)``: ``picked`` is ``per_class_subset(tensor_set, n_per_class, seed)`` and
    ``rest`` every other row (a class-balanced validation split carved from a training split)."""
    picked = _per_class_index(tensor_set, n_per_class, seed)
    keep = torch.ones(int(tensor_set["labels"].numel()), dtype=torch.bool)
    keep[picked] = False
    return select(tensor_set, keep), select(tensor_set, picked)


def split_train_val(
    tensor_set: dict[str, Any], n_val: int, seed: int = 0
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Random (seeded) split into (train, val) with ``n_val`` validation samples."""
    n = len(tensor_set["labels"])
    if not 0 <= n_val <= n:
        raise ValueError(f"n_val={n_val} must lie in 0..{n} (the number of samples)")
    g = torch.Generator().manual_seed(int(seed))
    perm = torch.randperm(n, generator=g)
    val_idx = perm[:n_val].sort().values
    train_idx = perm[n_val:].sort().values
    return select(tensor_set, train_idx), select(tensor_set, val_idx)
