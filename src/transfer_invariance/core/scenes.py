"""Offline natural-scene classification set: the stand-in for CIFAR-10 ("C") in the harm experiment.

Built from the 8 nature photos embedded in ``core/assets/photos/`` (no download needed).

Classes. Every photo is cut into two halves along its longer side (left/right for landscape photos,
top/bottom for portrait ones). The class list is ordered *half-major*: classes 0..7 are the first
half (left, resp. top) of each photo in file-name order, classes 8..15 the second half (right, resp.
bottom) in the same order. ``make_scenes(n_classes=k)`` uses the first k of these regions, so the
default 10 classes are the 8 first halves plus the right halves of ``aitzgorri`` and ``china``
(two classes share a photo, which makes the task harder than "which photo"). At most 16 classes.

Samples. A sample of class r is a random square crop of region r: side uniform in 20%..45% of the
region's shorter side (about 48..108 px on the 480 px photos), position uniform such that the crop
lies inside the region, resized to ``image_size`` with antialiasing (an average-pooled image pyramid
followed by bilinear ``roi_align``, vectorised over crops). Labels cycle through the classes
(``label = index % n_classes``), so any run of ``n_classes`` consecutive samples is exactly balanced.

Determinism. Every draw is a pure function of ``(seed, split, index)`` (a counter-based hash, see
:class:`~transfer_invariance.core.rng.SampleRandom`), so ``make_scenes(n)`` is a prefix of ``make_scenes(m)`` for ``n < m``,
and different splits are different streams.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision.ops import roi_align

from .rng import SampleRandom

__all__ = [
    "CROP_FRACTION",
    "PHOTO_DIR",
    "make_scenes",
    "scene_class_names",
    "scene_max_classes",
]

PHOTO_DIR = Path(__file__).parent / "assets" / "photos"
CROP_FRACTION = (0.20, 0.45)  # crop side as a fraction of the region's shorter side
_CHUNK = 8192

# ----------------------------------------------------------------------------- counter-based RNG

# ----------------------------------------------------------------------------- photos and regions


@functools.lru_cache(maxsize=1)
def _photos() -> tuple[tuple[str, torch.Tensor], ...]:
    files = sorted(PHOTO_DIR.glob("*.jpg"))
    if not files:
        raise FileNotFoundError(
            f"no embedded photos found in {PHOTO_DIR}; the package is incomplete"
        )
    out = []
    for f in files:
        with Image.open(f) as im:
            arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
        out.append((f.stem, torch.from_numpy(arr.copy()).permute(2, 0, 1).contiguous()))
    return tuple(out)


@functools.lru_cache(maxsize=1)
def _regions() -> tuple[tuple[str, int, tuple[int, int, int, int]], ...]:
    """(class name, photo index, (x0, y0, x1, y1)) in class order (half-major)."""
    halves: list[list[tuple[str, int, tuple[int, int, int, int]]]] = [[], []]
    for p, (stem, img) in enumerate(_photos()):
        h, w = img.shape[1:]
        if w >= h:
            boxes = [("left", (0, 0, w // 2, h)), ("right", (w // 2, 0, w, h))]
        else:
            boxes = [("top", (0, 0, w, h // 2)), ("bottom", (0, h // 2, w, h))]
        for k, (side, box) in enumerate(boxes):
            halves[k].append((f"{stem}_{side}", p, box))
    return tuple(halves[0] + halves[1])


def scene_max_classes() -> int:
    """The largest ``n_classes`` that :func:`make_scenes` accepts (2 regions per embedded photo)."""
    return len(_regions())


def scene_class_names(n_classes: int = 10) -> list[str]:
    """Names of the first ``n_classes`` scene classes, e.g. ``"aitzgorri_left"``."""
    _check_n_classes(n_classes)
    return [r[0] for r in _regions()[:n_classes]]


def _check_n_classes(n_classes: int) -> None:
    m = scene_max_classes()
    if not 1 <= int(n_classes) <= m:
        raise ValueError(
            f"n_classes={n_classes} is not available for the scene set: the embedded photos give at "
            f"most {m} classes (2 regions per photo); use n_classes between 1 and {m}"
        )


@functools.cache
def _level(photo: int, level: int) -> torch.Tensor:
    """Photo ``photo`` as float [1, 3, H / 2^level, W / 2^level] (repeated 2x2 average pooling)."""
    if level == 0:
        return _photos()[photo][1].float().unsqueeze(0)
    return F.avg_pool2d(_level(photo, level - 1), 2)


# ----------------------------------------------------------------------------- the data set


def make_scenes(
    n: int, n_classes: int = 10, image_size: int = 32, seed: int = 0, split: str = "train"
) -> dict[str, Any]:
    """Make ``n`` natural-scene samples (a tensor set), see the module docstring.

    Returns ``{"images": uint8 [n,3,S,S], "labels": int64 [n], "latents": {"region": int64 [n],
    "photo": int64 [n], "box": float32 [n,4] (x0, y0, x1, y1 in photo pixels)}, "meta": {"name":
    "scenes", "split", "seed", "class_names", "image_size"}}``.
    """
    if int(n) < 0:
        raise ValueError(f"n={n} must be >= 0")
    if int(image_size) < 1:
        raise ValueError(f"image_size={image_size} must be >= 1")
    if not isinstance(split, str) or not split:
        raise ValueError(f"split={split!r} must be a non-empty string such as 'train' or 'test'")
    _check_n_classes(n_classes)
    n, n_classes, image_size = int(n), int(n_classes), int(image_size)
    regions = _regions()[:n_classes]
    reg_box = torch.tensor([r[2] for r in regions], dtype=torch.float64)  # [C,4]
    reg_photo = torch.tensor([r[1] for r in regions], dtype=torch.int64)

    index = torch.arange(n, dtype=torch.int64)
    labels = index % n_classes
    u = SampleRandom(seed, split, torch.as_tensor(index)).uniform("scenes", 3).double()
    rb = reg_box[labels]
    rw, rh = rb[:, 2] - rb[:, 0], rb[:, 3] - rb[:, 1]
    lo, hi = CROP_FRACTION
    side = (lo + (hi - lo) * u[:, 0]) * torch.minimum(rw, rh)
    x0 = rb[:, 0] + u[:, 1] * (rw - side)
    y0 = rb[:, 1] + u[:, 2] * (rh - side)
    boxes = torch.stack([x0, y0, x0 + side, y0 + side], 1)
    photo = reg_photo[labels]

    # pyramid level per crop: downscale ratio at that level lies in [1, 2) (or < 1 when upsampling)
    ratio = side / image_size
    level = torch.clamp(torch.floor(torch.log2(ratio.clamp(min=1.0))), min=0).to(torch.int64)

    images = torch.empty((n, 3, image_size, image_size), dtype=torch.uint8)
    for start in range(0, n, _CHUNK):
        sl = slice(start, min(n, start + _CHUNK))
        for p in torch.unique(photo[sl]).tolist():
            for lv in torch.unique(level[sl][photo[sl] == p]).tolist():
                sel = ((photo[sl] == p) & (level[sl] == lv)).nonzero().squeeze(1) + start
                b = (boxes[sel] / (2**lv)).float()
                rois = torch.cat([torch.zeros(len(sel), 1), b], 1)
                crops = roi_align(
                    _level(p, lv), rois, (image_size, image_size), 1.0, 1, aligned=True
                )
                images[sel] = crops.round_().clamp_(0, 255).to(torch.uint8)

    return {
        "images": images,
        "labels": labels,
        "latents": {"region": labels.clone(), "photo": photo, "box": boxes.float()},
        "meta": {
            "name": "scenes",
            "split": split,
            "seed": int(seed),
            "class_names": [r[0] for r in regions],
            "image_size": image_size,
        },
    }
