"""The 18 transformation types of Transforms-2D (plus ``none``) as batched torch operations.

This package holds the public API: the registry :data:`TRANSFORMS` with its listings
(:data:`TRANSFORM_NAMES`, :data:`CATEGORIES`), and the engine that applies a list of types to a batch
(:func:`draw_latents`, :func:`apply_transforms`, :func:`augment_images`). Its modules hold the
interface and the registry (``base``), the 18 types in registration order (``operations``), the
resampling warp (``warping``) and parameter validation (``params``).

Each transformation type is one object in the registry :data:`TRANSFORMS`, pairing the drawing of its
per-sample parameters (its *latents*, :meth:`Transform.draw`) with the kernel that applies them to a
batch of layers in one vectorised call, on CPU or CUDA alike. New types are added with
:func:`register`.

A *layer* is a premultiplied RGBA tensor [N, 4, H, W] in [0, 1]. In object mode the layer is the
object on a transparent canvas and is composited over the background afterwards, so geometric ops move
colour and alpha together and the background shows where the object moved away; because the layer is
premultiplied, interpolation never leaks colour from fully transparent pixels. In whole mode the layer
is the full opaque image (``translate`` then shifts by up to 15%) and it stays opaque: whatever an op
leaves empty (the area a warp uncovers, an erased square) becomes opaque black fill, part of the
image for the ops that follow, as in torchvision. The sign conventions of ``rotate`` and ``shear``
are given in :mod:`.operations`.

Every type has a *kind*: ``affine`` ops (:class:`AffineTransform`) give a per-sample affine map, and
consecutive ones are fused into one warp (one interpolation, order respected); ``colour`` ops
(:class:`ColourTransform`) change the straight colour of the object's pixels only; ``layer`` ops
(:class:`LayerTransform`) act on colour and alpha together. Warps whose sampling points all land on
pixel centres (flips, integer shifts) are done by exact nearest-neighbour gathering, a choice made
per sample. Every sample gets the same arithmetic whatever its batch, so renders are byte-identical
at any batch size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from transfer_invariance.core.rng import SampleRandom

from .base import (
    KINDS,
    MODES,
    TRANSFORMS,
    AffineTransform,
    ColourTransform,
    Latents,
    LayerTransform,
    Params,
    Transform,
    register,
)
from .operations import (  # registers the types, in the order of TRANSFORM_NAMES
    Blur,
    Brightness,
    Contrast,
    Elastic,
    Erasing,
    Grayscale,
    HFlip,
    Hue,
    Identity,
    Invert,
    Noise,
    Pixelate,
    Posterize,
    Rotate,
    Scale,
    Sharpen,
    Shear,
    Translate,
    VFlip,
)
from .params import check_transform_sets, resolve_params
from .warping import _alpha_bbox, _fill_opaque, _transform_box, warp

__all__ = [
    "CATEGORIES",
    "KINDS",
    "MODES",
    "TRANSFORMS",
    "TRANSFORM_NAMES",
    "AffineTransform",
    "Blur",
    "Brightness",
    "ColourTransform",
    "Contrast",
    "Elastic",
    "Erasing",
    "Grayscale",
    "HFlip",
    "Hue",
    "Identity",
    "Invert",
    "LayerTransform",
    "Latents",
    "Noise",
    "Params",
    "Pixelate",
    "Posterize",
    "Rotate",
    "Scale",
    "Sharpen",
    "Shear",
    "Transform",
    "Translate",
    "VFlip",
    "apply_transforms",
    "augment_images",
    "check_transform_sets",
    "composite",
    "draw_latents",
    "premultiply",
    "register",
    "resolve_params",
    "to_uint8",
    "warp",
]

# The 18 built-in types; types registered later are in TRANSFORMS only.
TRANSFORM_NAMES: tuple[str, ...] = tuple(n for n in TRANSFORMS if n != "none")
CATEGORIES: dict[str, tuple[str, ...]] = {
    c: tuple(n for n, t in TRANSFORMS.items() if t.category == c)
    for c in ("geometric", "photometric", "corruption")
}


# ----------------------------------------------------------------------------------------------
# The engine (here, not in a module of its own: it calls ``warp`` through this package's namespace)


def draw_latents(
    names: Sequence[str], params: Mapping[str, Params], rnd: SampleRandom, mode: str
) -> Latents:
    """Per-sample parameters of every transformation in ``names``: ``{"<name>.<param>": [N]}``.

    Position-dependent quantities (translation offsets, rotation centres) are resolved at apply
    time from the drawn uniforms, so the latents stay meaningful for any object.
    """
    lat: Latents = {}
    for name in names:
        lat.update(TRANSFORMS[name].draw(rnd, params[name], mode))
    return lat


def apply_transforms(
    layer: Tensor,
    names: Sequence[str],
    params: Mapping[str, Params],
    latents: Latents,
    rnd: SampleRandom,
    mode: str = "object",
) -> Tensor:
    """Apply the transformations in order to a premultiplied RGBA layer [N, 4, H, W].

    Runs of consecutive affine ops are composed and warped once. In whole mode the layer is made
    opaque after every warp and layer op (the fill is part of the image). ``rnd`` must be the one the
    latents were drawn from: per-pixel fields (noise, elastic) are regenerated from it rather than
    stored.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}.")
    size = layer.shape[-1]
    pending: Tensor | None = None
    box = torch.empty(0)
    lat = {k: v.to(layer.device) for k, v in latents.items()}
    for name in names:
        t = TRANSFORMS[name]
        if isinstance(t, AffineTransform):
            if pending is None:
                pending = torch.eye(3, device=layer.device).repeat(layer.shape[0], 1, 1)
                box = _alpha_bbox(layer)
            step = t.matrix(lat, params[name], box, size, mode)
            pending = step @ pending
            box = _transform_box(box, step)
            continue
        if pending is not None:
            layer = _fill_opaque(warp(layer, pending), mode)
            pending = None
        layer = _fill_opaque(t.apply_layer(layer, lat, params[name], rnd, mode), mode)
    if pending is not None:
        layer = _fill_opaque(warp(layer, pending), mode)
    return layer


def premultiply(straight: Tensor) -> Tensor:
    """Straight RGBA -> premultiplied RGBA."""
    return torch.cat([straight[:, :3] * straight[:, 3:4], straight[:, 3:4]], 1)


def composite(layer: Tensor, background: Tensor) -> Tensor:
    """Premultiplied layer over an opaque background -> RGB float in [0, 1]."""
    return (layer[:, :3] + (1.0 - layer[:, 3:4]) * background).clamp(0, 1)


def to_uint8(rgb: Tensor) -> Tensor:
    """RGB float in [0, 1] -> uint8 in [0, 255], rounded to nearest."""
    return torch.round(rgb.clamp(0, 1) * 255).to(torch.uint8)


def augment_images(
    images: Tensor,
    names: Sequence[str],
    params: Mapping[str, Params],
    rnd: SampleRandom,
) -> tuple[Tensor, Latents]:
    """Whole-image mode: transform uint8 images [N,3,H,W] (e.g. CIFAR) with per-sample draws."""
    lat = draw_latents(names, params, rnd, "whole")
    x = images.float() / 255
    layer = torch.cat([x, torch.ones_like(x[:, :1])], 1)
    out = apply_transforms(layer, names, params, lat, rnd, "whole")
    return to_uint8(composite(out, torch.zeros_like(x))), lat
