"""The 18 transformation types of Transforms-2D, each registered under its name, in the order
of ``TRANSFORM_NAMES``: geometric (kind ``affine``), photometric (kind ``colour``) and the
corruptions (``colour`` or ``layer``). The base classes, the registry and the engine that applies
them are in ``base.py`` and the package's ``__init__``.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from transfer_invariance.core.rng import SampleRandom

from .base import (
    AffineTransform,
    ColourTransform,
    Latents,
    LayerTransform,
    Params,
    register,
)


@register
class Identity(LayerTransform):
    """``none``: leaves the layer unchanged."""

    name = "none"
    category = "none"

    def apply(
        self, layer: Tensor, lat: Latents, params: Params, rnd: SampleRandom, mode: str
    ) -> Tensor:
        return layer


# ------------------------------------------------------------------------------------- geometric
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


def _inside_shift(u: Tensor, lo: Tensor, hi: Tensor, size: int) -> Tensor:
    """Integer shift, uniform among those keeping [lo, hi] inside [0, size] (centred if none does)."""
    low, high = torch.ceil(-lo), torch.floor(size - hi)
    shift = torch.clamp(low + torch.floor(u * (high - low + 1)), max=high)
    return torch.where(low > high, torch.round((low + high) / 2), shift)


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


# ----------------------------------------------------------------------------------- photometric
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


# ----------------------------------------------------------------------------------- corruptions
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
