"""The 18 transformation types of Transforms-2D (plus ``none``) as batched torch operations.

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
image for the ops that follow, as in torchvision.

Sign conventions (pixel coordinates, y pointing down): a positive ``rotate`` angle turns the image
clockwise on screen, i.e. ``rotate`` by a equals ``torchvision.transforms.v2.functional.affine``
with ``angle=a`` and ``rotate`` with ``-a``; ``shear`` (x, y) equals torchvision's ``affine`` with
``shear=[-x, -y]``: a positive x-shear moves the rows below the centre to the right, a positive
y-shear moves the columns right of the centre down.

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
from types import MappingProxyType
from typing import ClassVar, NoReturn, TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor

from transfer_invariance.core.rng import SampleRandom

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


@register
class Identity(LayerTransform):
    """``none``: leaves the layer unchanged."""

    name = "none"
    category = "none"

    def apply(
        self, layer: Tensor, lat: Latents, params: Params, rnd: SampleRandom, mode: str
    ) -> Tensor:
        return layer


# ----------------------------------------------------------------------------------------------
# Geometric transformations


def _translation(tx: Tensor, ty: Tensor) -> Tensor:
    m = torch.eye(3, device=tx.device).repeat(tx.shape[0], 1, 1)
    m[:, 0, 2], m[:, 1, 2] = tx, ty
    return m


def _about(center: Tensor, linear: Tensor) -> Tensor:
    """Affine [N,3,3] applying the [N,2,2] linear map about the given [N,2] centre."""
    m = torch.eye(3, device=linear.device).repeat(linear.shape[0], 1, 1)
    m[:, :2, :2] = linear
    return _translation(center[:, 0], center[:, 1]) @ m @ _translation(-center[:, 0], -center[:, 1])


def _center(box: Tensor, size: int, mode: str) -> Tensor:
    """[N, 2] centre of the ops: the object box's in object mode, the image's in whole mode."""
    if mode == "object":
        return (box[:, :2] + box[:, 2:]) / 2
    return torch.full((box.shape[0], 2), size / 2, device=box.device)


def _eye2(box: Tensor) -> Tensor:
    """[N, 2, 2] identity matrices, one per box."""
    return torch.eye(2, device=box.device).repeat(box.shape[0], 1, 1)


def _alpha_bbox(layer: Tensor) -> Tensor:
    """[N, 4] (x0, y0, x1, y1) pixel-edge box of alpha > 0; the full image where the layer is empty."""
    n, _, h, w = layer.shape
    mask = layer[:, 3] > 1.0 / 512
    cols, rows = mask.any(dim=1), mask.any(dim=2)
    ar_w = torch.arange(w, device=layer.device)
    ar_h = torch.arange(h, device=layer.device)
    big = torch.tensor(10**6, device=layer.device)
    x0 = torch.where(cols, ar_w, big).amin(1)
    x1 = torch.where(cols, ar_w, -big).amax(1) + 1
    y0 = torch.where(rows, ar_h, big).amin(1)
    y1 = torch.where(rows, ar_h, -big).amax(1) + 1
    box = torch.stack([x0, y0, x1, y1], 1).float()
    empty = ~cols.any(1)
    full = torch.tensor([0.0, 0.0, float(w), float(h)], device=layer.device)
    return torch.where(empty[:, None], full, box)


def _transform_box(box: Tensor, m: Tensor) -> Tensor:
    """Axis-aligned box holding the four transformed corners."""
    x0, y0, x1, y1 = box.unbind(1)
    corners = torch.stack(
        [
            torch.stack([x0, y0], 1),
            torch.stack([x1, y0], 1),
            torch.stack([x0, y1], 1),
            torch.stack([x1, y1], 1),
        ],
        1,
    )
    moved = corners @ m[:, :2, :2].transpose(1, 2) + m[:, None, :2, 2]
    return torch.cat([moved.amin(1), moved.amax(1)], 1)


def _inside_shift(u: Tensor, lo: Tensor, hi: Tensor, size: int) -> Tensor:
    """Integer shift, uniform among those keeping [lo, hi] inside [0, size] (centred if none does)."""
    low, high = torch.ceil(-lo), torch.floor(size - hi)
    shift = torch.clamp(low + torch.floor(u * (high - low + 1)), max=high)
    return torch.where(low > high, torch.round((low + high) / 2), shift)


def warp(layer: Tensor, forward: Tensor) -> Tensor:
    """Resample the layer under the forward affine map (pixel coordinates), transparent outside.

    Exact (nearest) for the samples whose sampling points are all pixel centres, bilinear for the
    others. The choice is made per sample, so a sample's result does not depend on its batch.
    """
    n, _, h, w = layer.shape
    inv = torch.linalg.inv(forward)
    ys, xs = torch.meshgrid(
        torch.arange(h, device=layer.device, dtype=torch.float32) + 0.5,
        torch.arange(w, device=layer.device, dtype=torch.float32) + 0.5,
        indexing="ij",
    )
    pts = torch.stack([xs, ys], -1).reshape(1, -1, 2)
    src = pts @ inv[:, :2, :2].transpose(1, 2) + inv[:, None, :2, 2]
    aligned = (src - 0.5 - torch.round(src - 0.5)).abs().amax((1, 2)) < 1e-3
    grid = torch.empty_like(src)
    grid[..., 0] = src[..., 0] / w * 2 - 1
    grid[..., 1] = src[..., 1] / h * 2 - 1
    grid = grid.reshape(n, h, w, 2)
    n_aligned = int(aligned.sum())
    if n_aligned in (0, n):
        return _grid_sample(layer, grid, n_aligned == n)
    out = torch.empty_like(layer)
    out[aligned] = _grid_sample(layer[aligned], grid[aligned], True)
    out[~aligned] = _grid_sample(layer[~aligned], grid[~aligned], False)
    return out


def _grid_sample(layer: Tensor, grid: Tensor, nearest: bool) -> Tensor:
    """Sample the layer at a normalised grid, nearest or bilinear, transparent outside."""
    return F.grid_sample(
        layer,
        grid,
        mode="nearest" if nearest else "bilinear",
        padding_mode="zeros",
        align_corners=False,
    )


def _fill_opaque(layer: Tensor, mode: str) -> Tensor:
    """In whole mode, make the layer opaque: what an op left transparent is black fill.

    The fill is part of the image there, so the ops that follow treat it as any other pixel
    (``invert`` turns it white, ``contrast`` counts it in the mean), as torchvision does. A
    premultiplied layer made opaque is its composite over black, so the colour is kept as is.
    Object mode is returned unchanged.
    """
    if mode != "whole":
        return layer
    return torch.cat([layer[:, :3], torch.ones_like(layer[:, 3:])], 1)


@register
class Translate(AffineTransform):
    """Whole-pixel shift: inside the image in object mode, up to ``whole_max_shift`` in whole mode."""

    name = "translate"
    category = "geometric"
    defaults = {"whole_max_shift": 0.15}

    def check(self, params: Params, image_size: int) -> None:
        super().check(params, image_size)
        if not 0.0 <= params["whole_max_shift"] <= 1.0:
            self.fail(f"whole_max_shift must be in [0, 1], got {params['whole_max_shift']}.")

    def sample(self, rnd: SampleRandom, params: Params, mode: str) -> dict[str, Tensor]:
        return {"u_x": rnd.uniform(self.stream("x")), "u_y": rnd.uniform(self.stream("y"))}

    def matrix(self, lat: Latents, params: Params, box: Tensor, size: int, mode: str) -> Tensor:
        u_x, u_y = self.latent(lat, "u_x"), self.latent(lat, "u_y")
        if mode == "whole":
            shift = params["whole_max_shift"] * size
            return _translation(
                torch.round((u_x * 2 - 1) * shift), torch.round((u_y * 2 - 1) * shift)
            )
        return _translation(
            _inside_shift(u_x, box[:, 0], box[:, 2], size),
            _inside_shift(u_y, box[:, 1], box[:, 3], size),
        )


@register
class Rotate(AffineTransform):
    """Rotation about the centre by an angle ~ U[min_angle, max_angle] degrees."""

    name = "rotate"
    category = "geometric"
    defaults = {"min_angle": 0.0, "max_angle": 360.0}

    def sample(self, rnd: SampleRandom, params: Params, mode: str) -> dict[str, Tensor]:
        angle = rnd.uniform(self.stream(), low=params["min_angle"], high=params["max_angle"])
        return {"angle": angle}

    def matrix(self, lat: Latents, params: Params, box: Tensor, size: int, mode: str) -> Tensor:
        a = torch.deg2rad(self.latent(lat, "angle"))
        c, s = torch.cos(a), torch.sin(a)
        lin = torch.stack([torch.stack([c, -s], 1), torch.stack([s, c], 1)], 1)
        return _about(_center(box, size, mode), lin)


@register
class Scale(AffineTransform):
    """Scaling about the centre by a factor ~ U[min_scale, max_scale]."""

    name = "scale"
    category = "geometric"
    defaults = {"min_scale": 0.4, "max_scale": 1.0}

    def check(self, params: Params, image_size: int) -> None:
        super().check(params, image_size)
        if params["min_scale"] <= 0:
            self.fail("min_scale must be > 0.")

    def sample(self, rnd: SampleRandom, params: Params, mode: str) -> dict[str, Tensor]:
        factor = rnd.uniform(self.stream(), low=params["min_scale"], high=params["max_scale"])
        return {"factor": factor}

    def matrix(self, lat: Latents, params: Params, box: Tensor, size: int, mode: str) -> Tensor:
        return _about(
            _center(box, size, mode), _eye2(box) * self.latent(lat, "factor")[:, None, None]
        )


@register
class Shear(AffineTransform):
    """x- then y-shear about the centre, angles each ~ U[-max_shear, max_shear] degrees."""

    name = "shear"
    category = "geometric"
    defaults = {"max_shear": 50.0}

    def sample(self, rnd: SampleRandom, params: Params, mode: str) -> dict[str, Tensor]:
        m = params["max_shear"]
        return {
            "x_deg": rnd.uniform(self.stream("x"), low=-m, high=m),
            "y_deg": rnd.uniform(self.stream("y"), low=-m, high=m),
        }

    def matrix(self, lat: Latents, params: Params, box: Tensor, size: int, mode: str) -> Tensor:
        sx, sy = _eye2(box), _eye2(box)
        sx[:, 0, 1] = torch.tan(torch.deg2rad(self.latent(lat, "x_deg")))
        sy[:, 1, 0] = torch.tan(torch.deg2rad(self.latent(lat, "y_deg")))
        return _about(_center(box, size, mode), sy @ sx)


class _Flip(AffineTransform):
    """Reflection of the samples it is applied to, along one image axis (0: x, 1: y)."""

    axis: ClassVar[int]
    category = "geometric"
    defaults = {"p": 0.5}

    def matrix(self, lat: Latents, params: Params, box: Tensor, size: int, mode: str) -> Tensor:
        # Reflect about the centre rounded to a half pixel, so pixel centres map onto pixel centres.
        center = torch.round(_center(box, size, mode) * 2) / 2
        lin = _eye2(box)
        lin[:, self.axis, self.axis] = torch.where(self.latent(lat, "applied"), -1.0, 1.0)
        return _about(center, lin)


@register
class VFlip(_Flip):
    """Vertical flip with probability p."""

    name = "v_flip"
    axis = 1


@register
class HFlip(_Flip):
    """Horizontal flip with probability p."""

    name = "h_flip"
    axis = 0


# ----------------------------------------------------------------------------------------------
# Photometric transformations (straight colour, alpha untouched)


def _per(x: Tensor) -> Tensor:
    """Per-sample scalars [N] as [N, 1, 1, 1]."""
    return x.view(-1, 1, 1, 1)


def _rgb_to_hsv(rgb: Tensor) -> Tensor:
    """RGB -> HSV with torchvision's conventions (red wins ties), in a few fused passes."""
    maxc, argmax = rgb.max(1)
    minc = rgb.amin(1)
    delta = maxc - minc
    s = delta / torch.where(maxc > 0, maxc, torch.ones_like(maxc))
    r, g, b = rgb.unbind(1)
    safe = torch.where(delta > 0, delta, torch.ones_like(delta))
    h = torch.where(
        argmax == 0,
        (g - b) / safe,
        torch.where(argmax == 1, 2.0 + (b - r) / safe, 4.0 + (r - g) / safe),
    )
    h = torch.where(delta > 0, torch.remainder(h / 6.0, 1.0), torch.zeros_like(h))
    return torch.stack([h, s, maxc], 1)


def _hsv_to_rgb(hsv: Tensor) -> Tensor:
    """Branchless HSV -> RGB (the standard k = (n + 6h) mod 6 formula), one fused expression."""
    h, s, v = hsv[:, 0:1], hsv[:, 1:2], hsv[:, 2:3]
    n = torch.tensor([5.0, 3.0, 1.0], device=hsv.device, dtype=hsv.dtype).view(1, 3, 1, 1)
    k = torch.remainder(n + h * 6.0, 6.0)
    return v - v * s * torch.clamp(torch.minimum(k, 4.0 - k), 0.0, 1.0)


def _gray(rgb: Tensor) -> Tensor:
    return 0.299 * rgb[:, 0:1] + 0.587 * rgb[:, 1:2] + 0.114 * rgb[:, 2:3]


def _sharpness_sum3(x: Tensor) -> Tensor:
    """torchvision's sharpness kernel [[1, 1, 1], [1, 5, 1], [1, 1, 1]] over the interior pixels.

    [..., H, W] -> [..., H - 2, W - 2], as a sum of shifted slices in a fixed order: every pixel
    gets the same arithmetic whatever the batch size (a convolution's rounding changes with it).
    """
    h, w = x.shape[-2:]
    total = 4.0 * x[..., 1 : h - 1, 1 : w - 1]
    for dy in range(3):
        for dx in range(3):
            total = total + x[..., dy : h - 2 + dy, dx : w - 2 + dx]
    return total


def _masked_blur3(rgb: Tensor, alpha: Tensor) -> Tensor:
    """torchvision's sharpness smoothing kernel, averaged over the object's own pixels only."""
    out = rgb.clone()
    if min(rgb.shape[-2:]) < 3:  # torchvision leaves such images unchanged
        return out
    smooth = _sharpness_sum3(rgb * alpha) / _sharpness_sum3(alpha).clamp_min(1e-6)
    out[..., 1:-1, 1:-1] = smooth  # torchvision keeps the border pixels
    return out


@register
class Hue(ColourTransform):
    """Hue shift ~ U[-max_shift, max_shift] (fraction of the hue circle)."""

    name = "hue"
    category = "photometric"
    defaults = {"max_shift": 0.5}

    def sample(self, rnd: SampleRandom, params: Params, mode: str) -> dict[str, Tensor]:
        m = params["max_shift"]
        return {"shift": rnd.uniform(self.stream(), low=-m, high=m)}

    def apply(
        self, rgb: Tensor, alpha: Tensor, lat: Latents, params: Params, rnd: SampleRandom
    ) -> Tensor:
        hsv = _rgb_to_hsv(rgb)
        hsv[:, 0] = torch.remainder(hsv[:, 0] + self.latent(lat, "shift").view(-1, 1, 1), 1.0)
        return _hsv_to_rgb(hsv)


class _FactorColour(ColourTransform):
    """A colour transformation driven by one factor ~ U[min_factor, max_factor]."""

    defaults = {"min_factor": 0.0, "max_factor": 2.0}

    def sample(self, rnd: SampleRandom, params: Params, mode: str) -> dict[str, Tensor]:
        factor = rnd.uniform(self.stream(), low=params["min_factor"], high=params["max_factor"])
        return {"factor": factor}


@register
class Brightness(_FactorColour):
    """Pixels times a factor ~ U[min_factor, max_factor]."""

    name = "brightness"
    category = "photometric"

    def apply(
        self, rgb: Tensor, alpha: Tensor, lat: Latents, params: Params, rnd: SampleRandom
    ) -> Tensor:
        return (rgb * _per(self.latent(lat, "factor"))).clamp(0, 1)


@register
class Grayscale(ColourTransform):
    """Grey level 0.299 R + 0.587 G + 0.114 B, with probability p."""

    name = "grayscale"
    category = "photometric"
    defaults = {"p": 0.5}

    def apply(
        self, rgb: Tensor, alpha: Tensor, lat: Latents, params: Params, rnd: SampleRandom
    ) -> Tensor:
        return _gray(rgb).expand_as(rgb)


@register
class Posterize(ColourTransform):
    """Keep ``bits`` bits per 8-bit channel, with probability p."""

    name = "posterize"
    category = "photometric"
    defaults = {"bits": 1, "p": 0.5}

    def check(self, params: Params, image_size: int) -> None:
        super().check(params, image_size)
        if not 1 <= params["bits"] <= 8:
            self.fail(f"bits must be in [1, 8], got {params['bits']}.")

    def apply(
        self, rgb: Tensor, alpha: Tensor, lat: Latents, params: Params, rnd: SampleRandom
    ) -> Tensor:
        keep = 256 - 2 ** (8 - int(params["bits"]))
        q = torch.floor(rgb * 255 + 0.5).to(torch.int64) & keep
        return q.to(rgb.dtype) / 255


@register
class Invert(ColourTransform):
    """1 - pixel, with probability p."""

    name = "invert"
    category = "photometric"
    defaults = {"p": 0.5}

    def apply(
        self, rgb: Tensor, alpha: Tensor, lat: Latents, params: Params, rnd: SampleRandom
    ) -> Tensor:
        return 1.0 - rgb


@register
class Sharpen(ColourTransform):
    """torchvision's sharpness enhancement by ``factor``, smoothing over object pixels only."""

    name = "sharpen"
    category = "photometric"
    defaults = {"factor": 7.0, "p": 0.5}

    def apply(
        self, rgb: Tensor, alpha: Tensor, lat: Latents, params: Params, rnd: SampleRandom
    ) -> Tensor:
        smooth = _masked_blur3(rgb, alpha)
        return (smooth + params["factor"] * (rgb - smooth)).clamp(0, 1)


# ----------------------------------------------------------------------------------------------
# Corruptions


def _gaussian_kernels(sigma: Tensor, size: int) -> Tensor:
    x = torch.arange(size, device=sigma.device, dtype=torch.float32) - (size - 1) / 2
    k = torch.exp(-(x[None] ** 2) / (2 * sigma[:, None] ** 2))
    return k / k.sum(1, keepdim=True)


def _separable_blur(x: Tensor, kernels: Tensor, padding_mode: str) -> Tensor:
    """Blur each sample of [N,C,H,W] with its own 1-D kernel [N,K] along both axes."""
    n, c, h, w = x.shape
    k = kernels.shape[1]
    pad = k // 2
    weight = kernels.repeat_interleave(c, 0)  # [N*C, K]
    y = x.reshape(1, n * c, h, w)
    y = F.pad(y, (pad, pad, pad, pad), mode=padding_mode)
    y = F.conv2d(y, weight.view(n * c, 1, 1, k), groups=n * c)
    y = F.conv2d(y, weight.view(n * c, 1, k, 1), groups=n * c)
    return y.reshape(n, c, h, w)


@register
class Blur(LayerTransform):
    """Gaussian blur with sigma ~ U[min_sigma, max_sigma] (zero padding in object mode)."""

    name = "blur"
    category = "corruption"
    defaults = {"kernel_size": 7, "min_sigma": 0.1, "max_sigma": 1.5}

    def check(self, params: Params, image_size: int) -> None:
        super().check(params, image_size)
        size = params["kernel_size"]
        if size < 1 or size % 2 == 0 or params["min_sigma"] <= 0:
            self.fail("kernel_size must be an odd integer >= 1 and min_sigma > 0.")

    def sample(self, rnd: SampleRandom, params: Params, mode: str) -> dict[str, Tensor]:
        sigma = rnd.uniform(self.stream(), low=params["min_sigma"], high=params["max_sigma"])
        return {"sigma": sigma}

    def apply(
        self, layer: Tensor, lat: Latents, params: Params, rnd: SampleRandom, mode: str
    ) -> Tensor:
        size = int(params["kernel_size"])
        pad_mode = "constant" if mode == "object" else "reflect"
        if pad_mode == "reflect" and size // 2 >= min(layer.shape[-2:]):
            pad_mode = "replicate"
        return _separable_blur(layer, _gaussian_kernels(self.latent(lat, "sigma"), size), pad_mode)


@register
class Noise(ColourTransform):
    """Additive Gaussian noise of std ``std`` on [0, 1] pixels, clamped, with probability p."""

    name = "noise"
    category = "corruption"
    defaults = {"std": 1.0, "p": 0.5}

    def apply(
        self, rgb: Tensor, alpha: Tensor, lat: Latents, params: Params, rnd: SampleRandom
    ) -> Tensor:
        field = rnd.normal(self.stream("field"), *rgb.shape[1:]).to(rgb.device)
        return (rgb + params["std"] * field).clamp(0, 1)


@register
class Pixelate(LayerTransform):
    """Box-downsample by ``factor`` and upsample by nearest, with probability p."""

    name = "pixelate"
    category = "corruption"
    defaults = {"factor": 2, "p": 0.5}

    def check(self, params: Params, image_size: int) -> None:
        super().check(params, image_size)
        if not (params["factor"] >= 1 and image_size % int(params["factor"]) == 0):
            self.fail(
                f"factor must be an integer >= 1 dividing image_size={image_size}, "
                f"got {params['factor']}."
            )

    def apply(
        self, layer: Tensor, lat: Latents, params: Params, rnd: SampleRandom, mode: str
    ) -> Tensor:
        f = int(params["factor"])
        return F.avg_pool2d(layer, f).repeat_interleave(f, 2).repeat_interleave(f, 3)


@register
class Elastic(LayerTransform):
    """torchvision's ElasticTransform: uniform displacement blurred by a Gaussian, times alpha/size."""

    name = "elastic"
    category = "corruption"
    defaults = {"alpha": 150.0, "sigma": 5.0, "p": 0.5}

    def apply(
        self, layer: Tensor, lat: Latents, params: Params, rnd: SampleRandom, mode: str
    ) -> Tensor:
        n, _, h, w = layer.shape
        sigma = float(params["sigma"])
        d = rnd.uniform(self.stream("field"), 2, h, w).to(layer.device) * 2 - 1
        if sigma > 0:
            k = int(8 * sigma + 1)
            k += 1 - k % 2
            k = min(k, 2 * (min(h, w) - 1) + 1)
            kern = _gaussian_kernels(torch.full((n,), sigma, device=layer.device), k)
            d = _separable_blur(d, kern, "reflect")
        d = d * float(params["alpha"]) / h
        ys, xs = torch.meshgrid(
            (torch.arange(h, device=layer.device) + 0.5) / h * 2 - 1,
            (torch.arange(w, device=layer.device) + 0.5) / w * 2 - 1,
            indexing="ij",
        )
        grid = torch.stack([xs, ys], -1).unsqueeze(0) + d.permute(0, 2, 3, 1)
        return F.grid_sample(
            layer, grid, mode="bilinear", padding_mode="zeros", align_corners=False
        )


@register
class Erasing(LayerTransform):
    """A ``size`` x ``size`` square at a uniform position becomes transparent (black fill in whole
    mode), with probability p."""

    name = "erasing"
    category = "corruption"
    defaults = {"size": 14, "p": 0.5}

    def check(self, params: Params, image_size: int) -> None:
        super().check(params, image_size)
        if not 1 <= params["size"] <= image_size:
            self.fail(f"size must be in [1, image_size={image_size}], got {params['size']}.")

    def sample(self, rnd: SampleRandom, params: Params, mode: str) -> dict[str, Tensor]:
        return {"u_x": rnd.uniform(self.stream("x")), "u_y": rnd.uniform(self.stream("y"))}

    def apply(
        self, layer: Tensor, lat: Latents, params: Params, rnd: SampleRandom, mode: str
    ) -> Tensor:
        _, _, h, w = layer.shape
        s = int(params["size"])
        x0 = torch.floor(self.latent(lat, "u_x") * (w - s + 1)).clamp(max=w - s).view(-1, 1, 1)
        y0 = torch.floor(self.latent(lat, "u_y") * (h - s + 1)).clamp(max=h - s).view(-1, 1, 1)
        ys = torch.arange(h, device=layer.device).view(1, -1, 1)
        xs = torch.arange(w, device=layer.device).view(1, 1, -1)
        inside = (xs >= x0) & (xs < x0 + s) & (ys >= y0) & (ys < y0 + s)
        return layer * (~inside).unsqueeze(1)


@register
class Contrast(_FactorColour):
    """Contrast factor ~ U[min_factor, max_factor] around the object's own mean grey level."""

    name = "contrast"
    category = "corruption"

    def apply(
        self, rgb: Tensor, alpha: Tensor, lat: Latents, params: Params, rnd: SampleRandom
    ) -> Tensor:
        w = alpha / alpha.sum((2, 3), keepdim=True).clamp_min(1e-6)
        mean = (_gray(rgb) * w).sum((2, 3), keepdim=True)
        return (mean + _per(self.latent(lat, "factor")) * (rgb - mean)).clamp(0, 1)


# The 18 built-in types; types registered later are in TRANSFORMS only.
TRANSFORM_NAMES: tuple[str, ...] = tuple(n for n in TRANSFORMS if n != "none")
CATEGORIES: dict[str, tuple[str, ...]] = {
    c: tuple(n for n, t in TRANSFORMS.items() if t.category == c)
    for c in ("geometric", "photometric", "corruption")
}


# ----------------------------------------------------------------------------------------------
# Parameters


def resolve_params(
    names: Sequence[str],
    overrides: Mapping[str, Params] | None = None,
    image_size: int = 32,
) -> dict[str, dict[str, float]]:
    """Validate transform names and parameter overrides; return the full parameters per transform.

    Raises ValueError naming the offending transform or parameter, before any rendering starts.
    """
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise ValueError(f"transforms must be a list of transform names, got {names!r}.")
    unknown = [n for n in names if n not in TRANSFORMS]
    if unknown:
        raise ValueError(
            f"transforms: unknown transformation(s) {unknown}. Known: {sorted(TRANSFORMS)}."
        )
    if len(set(names)) != len(names):
        raise ValueError(f"transforms: {list(names)} lists a transformation twice.")
    overrides = dict(overrides or {})
    for name in overrides:
        if name not in TRANSFORMS:
            raise ValueError(
                f"transform_params: unknown transformation {name!r}. Known: {sorted(TRANSFORMS)}."
            )
    out: dict[str, dict[str, float]] = {}
    for name in names:
        params = dict(TRANSFORMS[name].defaults)
        for key, value in dict(overrides.get(name) or {}).items():
            if key not in params:
                raise ValueError(
                    f"transform_params.{name}: unknown parameter {key!r}; known: {sorted(params)}."
                )
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"transform_params.{name}.{key} must be a number, got {value!r}.")
            params[key] = value
        TRANSFORMS[name].check(params, image_size)
        out[name] = params
    return out


def check_transform_sets(sets: Mapping[str, Sequence[str]], disjoint: bool = False) -> None:
    """Check named transform sets: known names, none empty and, if required, pairwise disjoint."""
    for key, names in sets.items():
        if not names:
            raise ValueError(f"transform set '{key}' is empty; give at least one transformation.")
        try:
            resolve_params(list(names))
        except ValueError as err:
            raise ValueError(f"transform set '{key}': {err}") from err
    if disjoint:
        keys = list(sets)
        for i, a in enumerate(keys):
            for b in keys[i + 1 :]:
                common = sorted(set(sets[a]) & set(sets[b]))
                if common:
                    raise ValueError(
                        f"transform sets '{a}' and '{b}' overlap in {common}; this experiment needs "
                        "disjoint sets."
                    )


# ----------------------------------------------------------------------------------------------
# The engine


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
