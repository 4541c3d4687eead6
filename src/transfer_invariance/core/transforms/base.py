"""The transformation interface of Transforms-2D and its registry :data:`TRANSFORMS`.

Each transformation type is one object in :data:`TRANSFORMS`, pairing the drawing of its per-sample
parameters (its *latents*, :meth:`Transform.draw`) with the kernel that applies them to a batch of
layers in one vectorised call. New types are added with :func:`register`. Every type has a *kind*,
given by the base class it subclasses: :class:`AffineTransform`, :class:`ColourTransform` or
:class:`LayerTransform`. The ``none`` type (:class:`Identity`) and the 18
built-in types are in :mod:`.operations`, registered in that order.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar, NoReturn, TypeVar

import torch
from torch import Tensor

from transfer_invariance.core.rng import SampleRandom

from .warping import _alpha_bbox, _fill_opaque, warp

Latents = dict[str, Tensor]
Params = Mapping[str, float]
MODES = ("object", "whole")
KINDS = ("affine", "colour", "layer")


# ----------------------------------------------------------------------------------------------
# The transformation interface and its registry


class Transform:
    """A transformation type: its name, category, default parameters and kind of operation.

    It draws its own latents (:meth:`draw`: the draws of :meth:`sample`, keyed ``"<name>.<key>"``,
    plus a Bernoulli ``"<name>.applied"`` when its parameters have a probability ``p``), validates
    its own parameters (:meth:`check`) and transforms a layer (:meth:`apply_layer`). Subclass one
    of :class:`AffineTransform`, :class:`ColourTransform` or :class:`LayerTransform`.
    """

    name: ClassVar[str]
    category: ClassVar[str]
    defaults: ClassVar[Params] = MappingProxyType({})
    kind: ClassVar[str]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.defaults = MappingProxyType(dict(cls.defaults))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, kind={self.kind!r})"

    def stream(self, suffix: str = "") -> str:
        """Name of the random stream of one of this type's draws (``"t.<name>[.<suffix>]"``)."""
        return f"t.{self.name}.{suffix}" if suffix else f"t.{self.name}"

    def latent(self, lat: Latents, key: str) -> Tensor:
        """This type's latent ``key`` from a latents mapping."""
        return lat[f"{self.name}.{key}"]

    def fail(self, message: str) -> NoReturn:
        """Raise the ValueError of an invalid parameter of this type."""
        raise ValueError(f"transform_params.{self.name}: {message}")

    def check(self, params: Params, image_size: int) -> None:
        """Validate a full parameter mapping: ``p`` in [0, 1] and every ``min_x`` <= ``max_x``.

        Subclasses with further constraints extend this; errors name the type and the parameter.
        """
        if "p" in params and not 0.0 <= params["p"] <= 1.0:
            self.fail(f"p must be in [0, 1], got {params['p']}.")
        for lo, hi in ((k, "max_" + k[4:]) for k in params if k.startswith("min_")):
            if hi in params and params[lo] > params[hi]:
                self.fail(f"{lo} ({params[lo]}) must not exceed {hi} ({params[hi]}).")

    def sample(self, rnd: SampleRandom, params: Params, mode: str) -> dict[str, Tensor]:
        """Per-sample draws other than ``applied``, keyed by latent name without the prefix."""
        return {}

    def draw(self, rnd: SampleRandom, params: Params, mode: str) -> Latents:
        """All latents of this type for the samples of ``rnd``: ``{"<name>.<key>": [N]}``."""
        lat = {f"{self.name}.{k}": v for k, v in self.sample(rnd, params, mode).items()}
        if "p" in params:
            lat[f"{self.name}.applied"] = rnd.bernoulli(self.stream("applied"), params["p"])
        return lat

    def apply_layer(
        self, layer: Tensor, lat: Latents, params: Params, rnd: SampleRandom, mode: str
    ) -> Tensor:
        """Transform a premultiplied RGBA layer [N, 4, H, W] given its latents."""
        raise NotImplementedError

    def _where_applied(self, new: Tensor, old: Tensor, lat: Latents, params: Params) -> Tensor:
        """``new`` where the op is applied to a sample, ``old`` elsewhere (always, without ``p``)."""
        if "p" not in params:
            return new
        return torch.where(self.latent(lat, "applied").view(-1, 1, 1, 1), new, old)


class AffineTransform(Transform):
    """A geometric op given by a per-sample affine map; consecutive ones are fused into one warp.

    Rotations, scalings, shears and flips act about the centre of the object's current bounding box
    in object mode and about the image centre in whole mode.
    """

    kind = "affine"

    def matrix(self, lat: Latents, params: Params, box: Tensor, size: int, mode: str) -> Tensor:
        """Forward affine [N, 3, 3] (pixel coordinates) given the current [N, 4] object box."""
        raise NotImplementedError

    def apply_layer(
        self, layer: Tensor, lat: Latents, params: Params, rnd: SampleRandom, mode: str
    ) -> Tensor:
        """Warp the layer by this op alone (made opaque afterwards in whole mode)."""
        m = self.matrix(lat, params, _alpha_bbox(layer), layer.shape[-1], mode)
        return _fill_opaque(warp(layer, m), mode)


class ColourTransform(Transform):
    """An op on the straight colour of the object's pixels; alpha (the silhouette) is untouched."""

    kind = "colour"

    def apply(
        self, rgb: Tensor, alpha: Tensor, lat: Latents, params: Params, rnd: SampleRandom
    ) -> Tensor:
        """New straight RGB [N, 3, H, W] from straight RGB in [0, 1] and alpha [N, 1, H, W]."""
        raise NotImplementedError

    def apply_layer(
        self, layer: Tensor, lat: Latents, params: Params, rnd: SampleRandom, mode: str
    ) -> Tensor:
        """Un-premultiply, apply to the colour (where applied) and premultiply again."""
        alpha = layer[:, 3:4]
        rgb = (layer[:, :3] / alpha.clamp_min(1e-6)).clamp(0, 1)
        rgb = self._where_applied(self.apply(rgb, alpha, lat, params, rnd), rgb, lat, params)
        return torch.cat([rgb * alpha, alpha], 1)


class LayerTransform(Transform):
    """An op on colour and alpha together (the premultiplied layer)."""

    kind = "layer"

    def apply(
        self, layer: Tensor, lat: Latents, params: Params, rnd: SampleRandom, mode: str
    ) -> Tensor:
        """The transformed layer [N, 4, H, W], computed for every sample."""
        raise NotImplementedError

    def apply_layer(
        self, layer: Tensor, lat: Latents, params: Params, rnd: SampleRandom, mode: str
    ) -> Tensor:
        """:meth:`apply`, kept only for the samples it is applied to."""
        return self._where_applied(self.apply(layer, lat, params, rnd, mode), layer, lat, params)


TRANSFORMS: dict[str, Transform] = {}

TransformT = TypeVar("TransformT", bound=Transform | type[Transform])


def register(transform: TransformT) -> TransformT:
    """Add a transformation type to :data:`TRANSFORMS` under its name; returns its argument.

    Takes an instance or a subclass (instantiated without arguments), so it also works as a class
    decorator. Raises ValueError if the name is taken or the object is not a complete type.
    """
    obj = transform() if isinstance(transform, type) else transform
    if not isinstance(obj, Transform):
        raise ValueError(f"register: {obj!r} is not a Transform.")
    name = getattr(obj, "name", None)
    if not isinstance(name, str) or not name:
        raise ValueError(f"register: {type(obj).__name__} has no name.")
    if name in TRANSFORMS:
        raise ValueError(f"register: a transformation named {name!r} is already registered.")
    if not isinstance(getattr(obj, "category", None), str):
        raise ValueError(f"register: transformation {name!r} has no category.")
    kind = getattr(obj, "kind", None)
    if kind not in KINDS or (kind == "affine") != isinstance(obj, AffineTransform):
        raise ValueError(
            f"register: transformation {name!r} has kind {kind!r}; subclass AffineTransform, "
            "ColourTransform or LayerTransform."
        )
    TRANSFORMS[name] = obj
    return transform
