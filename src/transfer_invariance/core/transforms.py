"""The 18 transformation types of Transforms-2D (plus ``none``) as batched torch operations.

Each transformation draws per-sample parameters (its *latents*) from a :class:`SampleRandom` and applies
them to a batch of layers in one vectorised call, on CPU or CUDA alike.

A *layer* is a premultiplied RGBA tensor [N, 4, H, W] in [0, 1]. In object mode the layer is the
object on a transparent canvas and is composited over the background afterwards, so geometric ops move
colour and alpha together and the background shows where the object moved away; because the layer is
premultiplied, interpolation never leaks colour from fully transparent pixels. In whole mode the layer
is the full opaque image and the background is black (``translate`` then shifts by up to 15%).

Consecutive geometric ops are fused into one affine warp (one interpolation, order respected).
Warps whose sampling points all land on pixel centres (flips, integer shifts) are done by exact
nearest-neighbour gathering.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from transfer_invariance.core.rng import SampleRandom

Latents = dict[str, torch.Tensor]
MODES = ("object", "whole")


@dataclass(frozen=True)
class Transform:
    """A transformation type: its name, category, default parameters and kind of operation."""

    name: str
    category: str
    defaults: Mapping[str, float] = field(default_factory=dict)
    kind: str = "layer"  # "affine" (fused warp), "colour" (object pixels only) or "layer"


TRANSFORMS: dict[str, Transform] = {
    t.name: t
    for t in [
        Transform("none", "none"),
        Transform("translate", "geometric", {"whole_max_shift": 0.15}, "affine"),
        Transform("rotate", "geometric", {"min_angle": 0.0, "max_angle": 360.0}, "affine"),
        Transform("scale", "geometric", {"min_scale": 0.4, "max_scale": 1.0}, "affine"),
        Transform("shear", "geometric", {"max_shear": 50.0}, "affine"),
        Transform("v_flip", "geometric", {"p": 0.5}, "affine"),
        Transform("h_flip", "geometric", {"p": 0.5}, "affine"),
        Transform("hue", "photometric", {"max_shift": 0.5}, "colour"),
        Transform("brightness", "photometric", {"min_factor": 0.0, "max_factor": 2.0}, "colour"),
        Transform("grayscale", "photometric", {"p": 0.5}, "colour"),
        Transform("posterize", "photometric", {"bits": 1, "p": 0.5}, "colour"),
        Transform("invert", "photometric", {"p": 0.5}, "colour"),
        Transform("sharpen", "photometric", {"factor": 7.0, "p": 0.5}, "colour"),
        Transform("blur", "corruption", {"kernel_size": 7, "min_sigma": 0.1, "max_sigma": 1.5}),
        Transform("noise", "corruption", {"std": 1.0, "p": 0.5}, "colour"),
        Transform("pixelate", "corruption", {"factor": 2, "p": 0.5}),
        Transform("elastic", "corruption", {"alpha": 150.0, "sigma": 5.0, "p": 0.5}),
        Transform("erasing", "corruption", {"size": 14, "p": 0.5}),
        Transform("contrast", "corruption", {"min_factor": 0.0, "max_factor": 2.0}, "colour"),
    ]
}
TRANSFORM_NAMES: tuple[str, ...] = tuple(n for n in TRANSFORMS if n != "none")
CATEGORIES: dict[str, tuple[str, ...]] = {
    c: tuple(n for n, t in TRANSFORMS.items() if t.category == c)
    for c in ("geometric", "photometric", "corruption")
}


def resolve_params(
    names: Sequence[str],
    overrides: Mapping[str, Mapping[str, float]] | None = None,
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
        _check_params(name, params, image_size)
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


def _check_params(name: str, params: dict[str, float], image_size: int) -> None:
    def fail(msg: str) -> None:
        raise ValueError(f"transform_params.{name}: {msg}")

    if "p" in params and not 0.0 <= params["p"] <= 1.0:
        fail(f"p must be in [0, 1], got {params['p']}.")
    for lo, hi in (
        ("min_angle", "max_angle"),
        ("min_scale", "max_scale"),
        ("min_factor", "max_factor"),
        ("min_sigma", "max_sigma"),
    ):
        if lo in params and params[lo] > params[hi]:
            fail(f"{lo} ({params[lo]}) must not exceed {hi} ({params[hi]}).")
    if name == "scale" and params["min_scale"] <= 0:
        fail("min_scale must be > 0.")
    if name == "blur" and (
        params["kernel_size"] < 1 or params["kernel_size"] % 2 == 0 or params["min_sigma"] <= 0
    ):
        fail("kernel_size must be an odd integer >= 1 and min_sigma > 0.")
    if name == "erasing" and not 1 <= params["size"] <= image_size:
        fail(f"size must be in [1, image_size={image_size}], got {params['size']}.")
    if name == "pixelate" and not (
        params["factor"] >= 1 and image_size % int(params["factor"]) == 0
    ):
        fail(
            f"factor must be an integer >= 1 dividing image_size={image_size}, got {params['factor']}."
        )
    if name == "posterize" and not 1 <= params["bits"] <= 8:
        fail(f"bits must be in [1, 8], got {params['bits']}.")
    if name == "translate" and not 0.0 <= params["whole_max_shift"] <= 1.0:
        fail(f"whole_max_shift must be in [0, 1], got {params['whole_max_shift']}.")


# ----------------------------------------------------------------------------------------------
# Drawing latents


def draw_latents(
    names: Sequence[str], params: Mapping[str, Mapping[str, float]], rnd: SampleRandom, mode: str
) -> Latents:
    """Per-sample parameters of every transformation in ``names``: ``{"<name>.<param>": [N]}``.

    Position-dependent quantities (translation offsets, rotation centres) are resolved at apply
    time from the drawn uniforms, so the latents stay meaningful for any object.
    """
    lat: Latents = {}
    for name in names:
        p = params[name]
        s = f"t.{name}"
        if name == "translate":
            lat[f"{name}.u_x"] = rnd.uniform(s + ".x")
            lat[f"{name}.u_y"] = rnd.uniform(s + ".y")
        elif name == "rotate":
            lat[f"{name}.angle"] = rnd.uniform(s, low=p["min_angle"], high=p["max_angle"])
        elif name == "scale":
            lat[f"{name}.factor"] = rnd.uniform(s, low=p["min_scale"], high=p["max_scale"])
        elif name == "shear":
            lat[f"{name}.x_deg"] = rnd.uniform(s + ".x", low=-p["max_shear"], high=p["max_shear"])
            lat[f"{name}.y_deg"] = rnd.uniform(s + ".y", low=-p["max_shear"], high=p["max_shear"])
        elif name == "hue":
            lat[f"{name}.shift"] = rnd.uniform(s, low=-p["max_shift"], high=p["max_shift"])
        elif name in ("brightness", "contrast"):
            lat[f"{name}.factor"] = rnd.uniform(s, low=p["min_factor"], high=p["max_factor"])
        elif name == "blur":
            lat[f"{name}.sigma"] = rnd.uniform(s, low=p["min_sigma"], high=p["max_sigma"])
        elif name == "erasing":
            lat[f"{name}.u_x"] = rnd.uniform(s + ".x")
            lat[f"{name}.u_y"] = rnd.uniform(s + ".y")
        if "p" in p:
            lat[f"{name}.applied"] = rnd.bernoulli(s + ".applied", p["p"])
    return lat


# ----------------------------------------------------------------------------------------------
# Geometry helpers


def _translation(tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
    m = torch.eye(3, device=tx.device).repeat(tx.shape[0], 1, 1)
    m[:, 0, 2], m[:, 1, 2] = tx, ty
    return m


def _about(center: torch.Tensor, linear: torch.Tensor) -> torch.Tensor:
    """Affine [N,3,3] applying the [N,2,2] linear map about the given [N,2] centre."""
    m = torch.eye(3, device=linear.device).repeat(linear.shape[0], 1, 1)
    m[:, :2, :2] = linear
    return _translation(center[:, 0], center[:, 1]) @ m @ _translation(-center[:, 0], -center[:, 1])


def _alpha_bbox(layer: torch.Tensor) -> torch.Tensor:
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


def _transform_box(box: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
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


def _affine_step(
    name: str, lat: Latents, params: Mapping[str, float], box: torch.Tensor, size: int, mode: str
) -> torch.Tensor:
    """Forward affine [N,3,3] (pixel coordinates) of one geometric op given the current object box."""
    n = box.shape[0]
    dev = box.device
    center = (
        (box[:, :2] + box[:, 2:]) / 2
        if mode == "object"
        else torch.full((n, 2), size / 2, device=dev)
    )
    eye2 = torch.eye(2, device=dev).repeat(n, 1, 1)
    if name == "translate":
        if mode == "whole":
            shift = params["whole_max_shift"] * size
            tx = torch.round((lat[f"{name}.u_x"] * 2 - 1) * shift)
            ty = torch.round((lat[f"{name}.u_y"] * 2 - 1) * shift)
        else:
            tx = _inside_shift(lat[f"{name}.u_x"], box[:, 0], box[:, 2], size)
            ty = _inside_shift(lat[f"{name}.u_y"], box[:, 1], box[:, 3], size)
        return _translation(tx, ty)
    if name == "rotate":
        a = torch.deg2rad(lat[f"{name}.angle"])
        c, s = torch.cos(a), torch.sin(a)
        lin = torch.stack([torch.stack([c, -s], 1), torch.stack([s, c], 1)], 1)
        return _about(center, lin)
    if name == "scale":
        return _about(center, eye2 * lat[f"{name}.factor"][:, None, None])
    if name == "shear":
        shx = torch.tan(torch.deg2rad(lat[f"{name}.x_deg"]))
        shy = torch.tan(torch.deg2rad(lat[f"{name}.y_deg"]))
        sx, sy = eye2.clone(), eye2.clone()
        sx[:, 0, 1], sy[:, 1, 0] = shx, shy
        return _about(center, sy @ sx)
    if name in ("h_flip", "v_flip"):
        # Reflect about the box centre rounded to a half pixel, so pixel centres map onto pixel centres.
        center = torch.round(center * 2) / 2
        lin = eye2.clone()
        axis = 0 if name == "h_flip" else 1
        lin[:, axis, axis] = torch.where(lat[f"{name}.applied"], -1.0, 1.0)
        return _about(center, lin)
    raise KeyError(name)


def _inside_shift(u: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, size: int) -> torch.Tensor:
    """Integer shift, uniform among those keeping [lo, hi] inside [0, size] (centred if none does)."""
    low, high = torch.ceil(-lo), torch.floor(size - hi)
    shift = torch.clamp(low + torch.floor(u * (high - low + 1)), max=high)
    return torch.where(low > high, torch.round((low + high) / 2), shift)


def warp(layer: torch.Tensor, forward: torch.Tensor) -> torch.Tensor:
    """Resample the layer under the forward affine map (pixel coordinates), transparent outside.

    Exact (nearest) where every sampling point is a pixel centre, bilinear otherwise.
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
    aligned = (src - 0.5 - torch.round(src - 0.5)).abs().amax() < 1e-3
    grid = torch.empty_like(src)
    grid[..., 0] = src[..., 0] / w * 2 - 1
    grid[..., 1] = src[..., 1] / h * 2 - 1
    return F.grid_sample(
        layer,
        grid.reshape(n, h, w, 2),
        mode="nearest" if bool(aligned) else "bilinear",
        padding_mode="zeros",
        align_corners=False,
    )


# ----------------------------------------------------------------------------------------------
# Colour helpers (straight colour, alpha untouched)


def _rgb_to_hsv(rgb: torch.Tensor) -> torch.Tensor:
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


def _hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """Branchless HSV -> RGB (the standard k = (n + 6h) mod 6 formula), one fused expression."""
    h, s, v = hsv[:, 0:1], hsv[:, 1:2], hsv[:, 2:3]
    n = torch.tensor([5.0, 3.0, 1.0], device=hsv.device, dtype=hsv.dtype).view(1, 3, 1, 1)
    k = torch.remainder(n + h * 6.0, 6.0)
    return v - v * s * torch.clamp(torch.minimum(k, 4.0 - k), 0.0, 1.0)


def _gray(rgb: torch.Tensor) -> torch.Tensor:
    return 0.299 * rgb[:, 0:1] + 0.587 * rgb[:, 1:2] + 0.114 * rgb[:, 2:3]


def _masked_blur3(rgb: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """torchvision's sharpness smoothing kernel, averaged over the object's own pixels only."""
    k = torch.tensor([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]], device=rgb.device)
    k = k.view(1, 1, 3, 3)
    num = F.conv2d((rgb * alpha).reshape(-1, 1, *rgb.shape[2:]), k, padding=1).reshape(rgb.shape)
    den = F.conv2d(alpha, k, padding=1)
    smooth = num / den.clamp_min(1e-6)
    out = rgb.clone()
    out[..., 1:-1, 1:-1] = smooth[..., 1:-1, 1:-1]  # torchvision keeps the border pixels
    return out


def _apply_colour(
    name: str,
    rgb: torch.Tensor,
    alpha: torch.Tensor,
    lat: Latents,
    params: Mapping[str, float],
    rnd: SampleRandom,
) -> torch.Tensor:
    """Colour-only op on straight RGB [N,3,H,W]; returns new straight RGB."""

    def per(x: torch.Tensor) -> torch.Tensor:
        return x.view(-1, 1, 1, 1)

    if name == "hue":
        hsv = _rgb_to_hsv(rgb)
        hsv[:, 0] = torch.remainder(hsv[:, 0] + per(lat["hue.shift"])[:, 0], 1.0)
        return _hsv_to_rgb(hsv)
    if name == "brightness":
        return (rgb * per(lat["brightness.factor"])).clamp(0, 1)
    if name == "contrast":
        w = alpha / alpha.sum((2, 3), keepdim=True).clamp_min(1e-6)
        mean = (_gray(rgb) * w).sum((2, 3), keepdim=True)
        return (mean + per(lat["contrast.factor"]) * (rgb - mean)).clamp(0, 1)
    if name == "grayscale":
        new = _gray(rgb).expand_as(rgb)
    elif name == "posterize":
        keep = 256 - 2 ** (8 - int(params["bits"]))
        q = torch.floor(rgb * 255 + 0.5).to(torch.int64) & keep
        new = q.to(rgb.dtype) / 255
    elif name == "invert":
        new = 1.0 - rgb
    elif name == "sharpen":
        smooth = _masked_blur3(rgb, alpha)
        new = (smooth + params["factor"] * (rgb - smooth)).clamp(0, 1)
    elif name == "noise":
        new = (
            rgb + params["std"] * rnd.normal("t.noise.field", *rgb.shape[1:]).to(rgb.device)
        ).clamp(0, 1)
    else:
        raise KeyError(name)
    return torch.where(per(lat[f"{name}.applied"]), new, rgb)


def _gaussian_kernels(sigma: torch.Tensor, size: int) -> torch.Tensor:
    x = torch.arange(size, device=sigma.device, dtype=torch.float32) - (size - 1) / 2
    k = torch.exp(-(x[None] ** 2) / (2 * sigma[:, None] ** 2))
    return k / k.sum(1, keepdim=True)


def _separable_blur(x: torch.Tensor, kernels: torch.Tensor, padding_mode: str) -> torch.Tensor:
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


def _apply_layer_op(
    name: str,
    layer: torch.Tensor,
    lat: Latents,
    params: Mapping[str, float],
    rnd: SampleRandom,
    mode: str,
) -> torch.Tensor:
    """Ops acting on colour and alpha together (premultiplied layer)."""
    n, _, h, w = layer.shape
    pad_mode = "constant" if mode == "object" else "reflect"
    if name == "blur":
        size = int(params["kernel_size"])
        if pad_mode == "reflect" and size // 2 >= min(h, w):
            pad_mode = "replicate"
        return _separable_blur(layer, _gaussian_kernels(lat["blur.sigma"], size), pad_mode)
    applied = lat[f"{name}.applied"].view(-1, 1, 1, 1)
    if name == "pixelate":
        f = int(params["factor"])
        small = F.avg_pool2d(layer, f)
        new = small.repeat_interleave(f, 2).repeat_interleave(f, 3)
    elif name == "erasing":
        s = int(params["size"])
        x0 = torch.floor(lat["erasing.u_x"] * (w - s + 1)).clamp(max=w - s).view(-1, 1, 1)
        y0 = torch.floor(lat["erasing.u_y"] * (h - s + 1)).clamp(max=h - s).view(-1, 1, 1)
        ys = torch.arange(h, device=layer.device).view(1, -1, 1)
        xs = torch.arange(w, device=layer.device).view(1, 1, -1)
        inside = (xs >= x0) & (xs < x0 + s) & (ys >= y0) & (ys < y0 + s)
        new = layer * (~inside).unsqueeze(1)
    elif name == "elastic":
        new = _elastic(layer, params, rnd)
    else:
        raise KeyError(name)
    return torch.where(applied, new, layer)


def _elastic(layer: torch.Tensor, params: Mapping[str, float], rnd: SampleRandom) -> torch.Tensor:
    """torchvision's ElasticTransform: uniform displacement blurred by a Gaussian, times alpha/size."""
    n, _, h, w = layer.shape
    sigma = float(params["sigma"])
    d = rnd.uniform("t.elastic.field", 2, h, w).to(layer.device) * 2 - 1
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
    return F.grid_sample(layer, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


# ----------------------------------------------------------------------------------------------
# The engine


def apply_transforms(
    layer: torch.Tensor,
    names: Sequence[str],
    params: Mapping[str, Mapping[str, float]],
    latents: Latents,
    rnd: SampleRandom,
    mode: str = "object",
) -> torch.Tensor:
    """Apply the transformations in order to a premultiplied RGBA layer [N, 4, H, W].

    ``rnd`` must be the one the latents were drawn from: per-pixel fields (noise, elastic) are
    regenerated from it rather than stored.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}.")
    size = layer.shape[-1]
    pending: torch.Tensor | None = None
    box: torch.Tensor | None = None
    lat = {k: v.to(layer.device) for k, v in latents.items()}
    for name in list(names) + [None]:
        kind = TRANSFORMS[name].kind if name is not None else "end"
        if kind == "affine":
            if pending is None:
                pending = torch.eye(3, device=layer.device).repeat(layer.shape[0], 1, 1)
                box = _alpha_bbox(layer)
            step = _affine_step(name, lat, params[name], box, size, mode)
            pending = step @ pending
            box = _transform_box(box, step)
            continue
        if pending is not None:
            layer = warp(layer, pending)
            pending = None
        if name is None or name == "none":
            continue
        if kind == "colour":
            alpha = layer[:, 3:4]
            rgb = layer[:, :3] / alpha.clamp_min(1e-6)
            rgb = _apply_colour(name, rgb.clamp(0, 1), alpha, lat, params[name], rnd)
            layer = torch.cat([rgb * alpha, alpha], 1)
        else:
            layer = _apply_layer_op(name, layer, lat, params[name], rnd, mode)
    return layer


def premultiply(straight: torch.Tensor) -> torch.Tensor:
    """Straight RGBA -> premultiplied RGBA."""
    return torch.cat([straight[:, :3] * straight[:, 3:4], straight[:, 3:4]], 1)


def composite(layer: torch.Tensor, background: torch.Tensor) -> torch.Tensor:
    """Premultiplied layer over an opaque background -> RGB float in [0, 1]."""
    return (layer[:, :3] + (1.0 - layer[:, 3:4]) * background).clamp(0, 1)


def to_uint8(rgb: torch.Tensor) -> torch.Tensor:
    return torch.round(rgb.clamp(0, 1) * 255).to(torch.uint8)


def augment_images(
    images: torch.Tensor,
    names: Sequence[str],
    params: Mapping[str, Mapping[str, float]],
    rnd: SampleRandom,
) -> tuple[torch.Tensor, Latents]:
    """Whole-image mode: transform uint8 images [N,3,H,W] (e.g. CIFAR) with per-sample draws."""
    lat = draw_latents(names, params, rnd, "whole")
    x = images.float() / 255
    layer = torch.cat([x, torch.ones_like(x[:, :1])], 1)
    out = apply_transforms(layer, names, params, lat, rnd, "whole")
    return to_uint8(composite(out, torch.zeros_like(x))), lat
