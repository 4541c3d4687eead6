"""Transforms-2D datasets: sample latents, render composites, build splits and invariance pairs.

A dataset D(O, T) is described by a :class:`DatasetSpec`. Every draw is a pure function of
(seed, split, index) (see :mod:`rng`), so rendering is deterministic whatever the batch size.

Rendering runs on a ``device`` ("auto": CUDA when there is one): the base images, the per-sample
draws and every transformation are computed there, and the rendered split comes back to the CPU.
The draws (latents) are the same on every device; GPU pixels may differ from CPU pixels by
floating-point rounding (at most 1 uint8 level in ``benchmarks/gpu_check.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from tqdm.auto import tqdm

from transfer_invariance.core import base_images as bi
from transfer_invariance.core.rng import SampleRandom
from transfer_invariance.core.training.data import resolve_device
from transfer_invariance.core.transforms import (
    apply_transforms,
    augment_images,
    composite,
    draw_latents,
    premultiply,
    resolve_params,
    to_uint8,
)

SPLITS = ("train", "val", "test")
DATA_KINDS = ("images", "random")


@dataclass(frozen=True)
class DatasetSpec:
    """Everything that defines a Transforms-2D dataset (one per parameters entry).

    ``pattern_seed`` (random data only): the seed of the random patterns; ``None`` takes ``seed``.
    Datasets sharing a ``pattern_seed`` share their patterns whatever their ``seed``.
    """

    name: str
    transforms: tuple[str, ...] = ("none",)
    objects: int | tuple[str, ...] = 10
    object_offset: int = 0
    object_seed: int = 0
    n_train: int = 1000
    n_val: int = 200
    n_test: int = 200
    seed: int = 0
    pattern_seed: int | None = None
    image_size: int = 32
    data: str = "images"
    source: str = "embedded"
    base_dir: str | None = None
    n_backgrounds: int = bi.DEFAULT_N_BACKGROUNDS
    object_fill: float = 0.7
    transform_params: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def size(self, split: str) -> int:
        return {"train": self.n_train, "val": self.n_val, "test": self.n_test}[split]

    @property
    def patterns_seed(self) -> int:
        """The seed the random patterns are drawn from."""
        return self.seed if self.pattern_seed is None else self.pattern_seed

    @property
    def params(self) -> dict[str, dict[str, float]]:
        return resolve_params(self.transforms, self.transform_params, self.image_size)


def parse_spec(name: str, raw: Mapping[str, Any]) -> DatasetSpec:
    """Build and validate a spec from a parameters mapping; errors name the parameter."""
    known = set(DatasetSpec.__dataclass_fields__) - {"name"}
    unknown = set(raw) - known
    if unknown:
        raise ValueError(
            f"dataset '{name}': unknown parameter(s) {sorted(unknown)}; known: {sorted(known)}."
        )
    kw = dict(raw)
    if "transforms" in kw:
        if isinstance(kw["transforms"], str) or not isinstance(kw["transforms"], list | tuple):
            raise ValueError(
                f"dataset '{name}': transforms must be a list of names, got {kw['transforms']!r}."
            )
        kw["transforms"] = tuple(kw["transforms"]) or ("none",)
    if isinstance(kw.get("objects"), list):
        kw["objects"] = tuple(kw["objects"])
    spec = DatasetSpec(name=name, **kw)
    validate_spec(spec)
    return spec


def _check_int(spec: DatasetSpec, field_name: str, minimum: int) -> None:
    value = getattr(spec, field_name)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(
            f"dataset '{spec.name}': {field_name} must be an integer >= {minimum}, got {value!r}."
        )


def validate_spec(spec: DatasetSpec) -> None:
    """Check everything that can be checked cheaply, before any rendering."""
    for f, low in (
        ("n_train", 1),
        ("n_val", 1),
        ("n_test", 1),
        ("image_size", 8),
        ("n_backgrounds", 1),
        ("seed", 0),
        ("object_offset", 0),
        ("object_seed", 0),
    ):
        _check_int(spec, f, low)
    if spec.pattern_seed is not None:
        _check_int(spec, "pattern_seed", 0)
    if spec.data not in DATA_KINDS:
        raise ValueError(
            f"dataset '{spec.name}': data must be one of {DATA_KINDS}, got {spec.data!r}."
        )
    if not 0 < spec.object_fill <= 1:
        raise ValueError(
            f"dataset '{spec.name}': object_fill must be in (0, 1], got {spec.object_fill}."
        )
    try:
        resolve_params(spec.transforms, spec.transform_params, spec.image_size)
    except ValueError as err:
        raise ValueError(f"dataset '{spec.name}': {err}") from err
    if spec.data == "random":
        n = spec.objects if isinstance(spec.objects, int) else len(spec.objects)
        if isinstance(spec.objects, bool) or n < 1:
            raise ValueError(f"dataset '{spec.name}': objects must be >= 1, got {spec.objects!r}.")
        return
    files = bi.list_object_files(spec.source, spec.base_dir)
    if isinstance(spec.objects, int) and not isinstance(spec.objects, bool):
        if spec.objects < 1 or spec.object_offset + spec.objects > len(files):
            raise ValueError(
                f"dataset '{spec.name}': objects = {spec.objects} (from object_offset "
                f"{spec.object_offset}) but the base image set has {len(files)} object classes."
            )
    else:
        bi.select_classes(files, list(spec.objects))
    bi.list_photo_files(spec.source, spec.base_dir)


@dataclass(frozen=True)
class Renderer:
    """Base images selected for a spec, ready to render batches."""

    spec: DatasetSpec
    class_names: tuple[str, ...]
    objects: torch.Tensor  # straight RGBA [K, 4, S, S]
    backgrounds: torch.Tensor | None  # [B, 3, S, S]; None for random data

    @classmethod
    def from_spec(cls, spec: DatasetSpec) -> Renderer:
        validate_spec(spec)
        if spec.data == "random":
            k = spec.objects if isinstance(spec.objects, int) else len(spec.objects)
            names = tuple(f"pattern_{i}" for i in range(spec.object_offset, spec.object_offset + k))
            patterns = bi.random_patterns(
                spec.object_offset + k, spec.image_size, spec.patterns_seed, spec.object_fill
            )
            return cls(spec, names, patterns[spec.object_offset :], None)
        base = bi.load_base_images(
            spec.source, spec.base_dir, spec.image_size, spec.n_backgrounds, 0, spec.object_fill
        )
        if isinstance(spec.objects, int):
            sel = bi.draw_classes(
                len(base.class_names), spec.objects, spec.object_offset, spec.object_seed
            )
        else:
            sel = [base.class_names.index(c) for c in spec.objects]
        return cls(
            spec, tuple(base.class_names[i] for i in sel), base.objects[sel], base.backgrounds
        )

    def sample_latents(
        self, split: str, indices: torch.Tensor, pair_member: str | None = None
    ) -> dict[str, torch.Tensor]:
        """Class, background and transformation draws of the given samples.

        ``pair_member`` ("a" / "b") redraws only the transformations on an independent stream.
        """
        rnd = SampleRandom(self.spec.seed, split, indices)
        lat = {"class": rnd.integers("class", len(self.class_names))}
        if self.backgrounds is not None:
            lat["background"] = rnd.integers("background", self.backgrounds.shape[0])
        t_rnd = rnd if pair_member is None else rnd.derive(f"pair_{pair_member}")
        lat.update(draw_latents(self.spec.transforms, self.spec.params, t_rnd, "object"))
        return lat

    def render(
        self,
        split: str,
        indices: torch.Tensor,
        latents: Mapping[str, torch.Tensor],
        pair_member: str | None = None,
    ) -> torch.Tensor:
        """uint8 [N, 3, S, S] images of the given samples from their latents."""
        rnd = SampleRandom(self.spec.seed, split, indices)
        t_rnd = rnd if pair_member is None else rnd.derive(f"pair_{pair_member}")
        layer = premultiply(self.objects[latents["class"]])
        layer = apply_transforms(
            layer, self.spec.transforms, self.spec.params, latents, t_rnd, "object"
        )
        if self.backgrounds is None:
            s = self.spec.image_size
            background = rnd.uniform("background_pixels", 3 * s * s).reshape(-1, 3, s, s)
        else:
            background = self.backgrounds[latents["background"]]
        return to_uint8(composite(layer, background))

    def to(self, device: torch.device) -> Renderer:
        """The same renderer with its base images on ``device``."""
        bg = None if self.backgrounds is None else self.backgrounds.to(device)
        return replace(self, objects=self.objects.to(device), backgrounds=bg)

    def meta(self, split: str) -> dict[str, Any]:
        return {
            "name": self.spec.name,
            "split": split,
            "class_names": list(self.class_names),
            "image_size": self.spec.image_size,
            "transforms": list(self.spec.transforms),
            "data": self.spec.data,
            "seed": self.spec.seed,
        }


def _batches(n: int, batch_size: int, device: torch.device) -> Iterator[torch.Tensor]:
    """Sample indices in batches, on ``device``: the draws follow their indices' device."""
    for start in range(0, n, batch_size):
        yield torch.arange(start, min(n, start + batch_size), device=device)


def _to_cpu(latents: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.cpu() for k, v in latents.items()}


def render_split(
    renderer: Renderer,
    split: str,
    n: int | None = None,
    batch_size: int = 1024,
    progress: bool = True,
    pair_member: str | None = None,
    device: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Render one split as a tensor set (images, labels, latents, meta) on ``device``; the
    result is on the CPU."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}.")
    n = renderer.spec.size(split) if n is None else n
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    dev = resolve_device(device)
    on_device = renderer.to(dev)
    images, latents = [], []
    desc = f"render {renderer.spec.name}/{split}" + (f" pair {pair_member}" if pair_member else "")
    batches = list(_batches(n, batch_size, dev))
    for idx in tqdm(batches, desc=desc, disable=not progress, leave=False):
        lat = on_device.sample_latents(split, idx, pair_member)
        images.append(on_device.render(split, idx, lat, pair_member).cpu())
        latents.append(_to_cpu(lat))
    lat_all = {k: torch.cat([b[k] for b in latents]) for k in latents[0]}
    return {
        "images": torch.cat(images).contiguous(),
        "labels": lat_all["class"].clone(),
        "latents": lat_all,
        "meta": renderer.meta(split),
    }


def render_splits(
    spec: DatasetSpec,
    batch_size: int = 1024,
    progress: bool = True,
    device: str | torch.device = "cpu",
) -> dict[str, dict[str, Any]]:
    """Every split of the dataset ``spec`` (train, val, test), each a tensor set on the CPU."""
    renderer = Renderer.from_spec(spec)
    return {
        split: render_split(renderer, split, None, batch_size, progress, device=device)
        for split in SPLITS
    }


def render_pairs(
    renderer: Renderer,
    split: str = "test",
    n: int = 1000,
    batch_size: int = 1024,
    progress: bool = True,
    device: str | torch.device = "cpu",
) -> dict[str, dict[str, Any]]:
    """Invariance pairs: same object and background, independent transformation draws."""
    return {
        m: render_split(renderer, split, n, batch_size, progress, m, device) for m in ("a", "b")
    }


def augment_set(
    images: dict[str, Any],
    transforms: tuple[str, ...] | list[str],
    seed: int = 0,
    stream: str = "augment",
    transform_params: Mapping[str, Mapping[str, float]] | None = None,
    batch_size: int = 1024,
    device: str | torch.device = "cpu",
) -> dict[str, Any]:
    """One whole-image augmentation draw of ``transforms`` for every image of a tensor set (e.g.
    CIFAR), computed on ``device``; the draws of image i are a pure function of (seed, stream, i).
    Labels are kept and the drawn parameters added to the latents (all on the CPU)."""
    names = tuple(transforms) or ("none",)
    params = resolve_params(names, transform_params, int(images["images"].shape[-1]))
    dev = resolve_device(device)
    source = images["images"].to(dev)
    parts, latents = [], []
    for idx in _batches(int(images["labels"].numel()), batch_size, dev):
        out, lat = augment_images(source[idx], names, params, SampleRandom(seed, stream, idx))
        parts.append(out.cpu())
        latents.append(_to_cpu(lat))
    return {
        "images": torch.cat(parts).contiguous(),
        "labels": images["labels"].clone(),
        "latents": {
            **images.get("latents", {}),
            **{k: torch.cat([b[k] for b in latents]) for k in latents[0]},
        },
        "meta": {**images.get("meta", {}), "transforms": list(names)},
    }


def augment_pairs(
    images: dict[str, Any],
    transforms: tuple[str, ...] | list[str],
    seed: int = 0,
    transform_params: Mapping[str, Mapping[str, float]] | None = None,
    batch_size: int = 1024,
    device: str | torch.device = "cpu",
) -> dict[str, dict[str, Any]]:
    """Invariance pairs of whole images (e.g. CIFAR): two independent draws of ``transforms``
    applied to each image as a whole-image augmentation (on ``device``); the images and labels are
    shared.

    The draws of image i are a pure function of (seed, transforms, i); with ``none`` both members
    are the image itself.
    """
    names = tuple(transforms) or ("none",)
    stream = "augment_" + "+".join(names)
    members = {}
    for member in ("a", "b"):
        out = augment_set(
            images, names, seed, f"{stream}/pair_{member}", transform_params, batch_size, device
        )
        out["meta"]["pair_member"] = member
        members[member] = out
    return members
