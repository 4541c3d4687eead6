"""Nodes making the profile's pair sets, shared by every model so that profiles compare point by
point.

Every pair set is keyed by image size (``size_<s>``, one per distinct input size of the profiled
models, ``sizes``) and is a pure function of ``profile.data`` and the size: the same seeded pairs
for every model and every run. The synthetic kinds are the transfer experiment's sources
(``experiments.transfer.data.synthetic_pairs``: same object or pattern and background, two
independent draws of one transformation); the real-world kinds (the scene stand-in, CIFAR, a
folder of the user's images) are pairs of two whole-image augmentation draws of the same image.
``none`` is measured everywhere: its two members are the same image (the floor).
"""

from __future__ import annotations

from typing import Any

import torch
from torch.nn import functional

from transfer_invariance.core.rendering import augment_pairs
from transfer_invariance.experiments.profile.params import (
    REAL_WORLD,
    GridParams,
    ProfileDataParams,
)
from transfer_invariance.experiments.transfer.data import (
    pair_key,
    real_world_images,
    synthetic_pairs,
)
from transfer_invariance.experiments.transfer.params import SYNTHETIC
from transfer_invariance.pipelines.params import BaseImagesParams, RenderParams


def size_key(image_size: int) -> str:
    """The key of a pair set at one image size: ``size_<s>``."""
    return f"size_{image_size}"


def synthetic_kinds(grid: GridParams) -> list[str]:
    """The grid's kinds rendered as Transforms-2D pairs."""
    return [k for k in grid.kinds if k in SYNTHETIC]


def augmented_kinds(grid: GridParams) -> list[str]:
    """The grid's kinds made by whole-image augmentation (real-world sets and the folder)."""
    return [k for k in grid.kinds if k not in SYNTHETIC]


def make_synthetic_pairs(
    sizes: list[int],
    grid: GridParams,
    data: ProfileDataParams,
    base_images: BaseImagesParams,
    render: RenderParams,
) -> dict[str, dict]:
    """Every synthetic kind's pair set of every type (``pair_key``), at every size."""
    return {
        pair_key(kind, t): {
            size_key(s): synthetic_pairs(
                kind, t, data.transfer_data(s), data.seed, base_images, render
            )
            for s in sizes
        }
        for kind in synthetic_kinds(grid)
        for t in grid.all_types()
    }


def resized(images: dict[str, Any], image_size: int) -> dict[str, Any]:
    """A tensor set with its uint8 images resized to ``image_size`` (bilinear, antialiased);
    the set itself when it already has that size."""
    pixels = images["images"]
    if pixels.shape[-1] == image_size and pixels.shape[-2] == image_size:
        return images
    out = functional.interpolate(
        pixels.float(), size=(image_size, image_size), mode="bilinear", antialias=True
    )
    return {**images, "images": out.round().clamp(0, 255).to(torch.uint8)}


def load_real_world(sizes: list[int], grid: GridParams, data: ProfileDataParams) -> dict[str, dict]:
    """``n_pairs`` test images of each real-world kind of the grid at every size: the scene
    stand-in rendered at the size, CIFAR's 32 px images resized to it."""
    return {
        kind: {
            size_key(s): resized(real_world_images(kind, data.transfer_data(s)), s) for s in sizes
        }
        for kind in grid.kinds
        if kind in REAL_WORLD
    }


def _read_image(file: Any, image_size: int) -> torch.Tensor:
    """One image file as uint8 [3, s, s]: RGB, centre-cropped to a square, resized."""
    from PIL import Image

    with Image.open(file) as raw:
        image = raw.convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side))
    image = image.resize((image_size, image_size), Image.Resampling.BILINEAR)
    return (
        torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
        .view(image_size, image_size, 3)
        .permute(2, 0, 1)
    )


def load_folder(sizes: list[int], data: ProfileDataParams) -> dict[str, dict]:
    """``n_pairs`` images of ``data.folder`` (all of them when it holds fewer), drawn with
    ``data.seed``, as a tensor set at every size; labels are the class folders."""
    files = data.folder_files()
    classes = sorted({f.parent.name for f in files})
    order = torch.randperm(len(files), generator=torch.Generator().manual_seed(data.seed))
    chosen = [files[int(i)] for i in order[: data.n_pairs]]
    labels = torch.tensor([classes.index(f.parent.name) for f in chosen])
    meta = {"class_names": classes, "source": str(data.folder)}
    return {
        size_key(s): {
            "images": torch.stack([_read_image(f, s) for f in chosen]),
            "labels": labels.clone(),
            "meta": dict(meta),
        }
        for s in sizes
    }


def make_augmented_pairs(
    images: dict[str, dict], grid: GridParams, data: ProfileDataParams, render: RenderParams
) -> dict[str, dict]:
    """Pairs of every type on whole images (``images`` keyed by size): two augmentation draws of
    the same image, seeded by ``data.seed``."""
    return {
        t: {
            key: augment_pairs(
                at_size, [t], seed=data.seed, batch_size=render.batch_size, device=render.device
            )
            for key, at_size in images.items()
        }
        for t in grid.all_types()
    }
