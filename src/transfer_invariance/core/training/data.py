"""Devices, seeded batching on the training device, and validation of tensor sets.

The dataset (uint8 tensor set) is moved once to the training device; every epoch draws a seeded
permutation and batches are index slices of it (no per-sample Python, no DataLoader workers).
A training set whose ``meta["augment"]`` names transformations is augmented afresh every epoch
(whole-image mode, draws seeded by (seed, epoch, sample index)), as data augmentation of real
images is; evaluation sets are used as stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

from ..rng import SampleRandom
from ..transforms import augment_images, resolve_params


# ------------------------------------------------------------------------------ devices, batches
def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA if available, else CPU; other names as given (CUDA must be available);
    a ``torch.device`` is returned as it is."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} requested but CUDA is not available; use 'auto' or 'cpu'"
        )
    return dev


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The (CPU, int64) sample order of ``epoch``: a pure function of (n, seed, epoch)."""
    gen = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch))
    return torch.randperm(n, generator=gen)


def batch_slices(n: int, batch_size: int, drop_singleton: bool = True) -> list[slice]:
    """Slices covering 0..n in chunks of ``batch_size``; a trailing batch of one sample is dropped
    when ``drop_singleton`` (BatchNorm cannot train on it), unless it is the only batch."""
    out = [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]
    if drop_singleton and len(out) > 1 and out[-1].stop - out[-1].start == 1:
        out.pop()
    return out


class EpochBatchSampler:
    """Yields per-batch index tensors (on the data device) of a seeded per-epoch permutation.

    Lightning calls ``set_epoch`` on a dataloader's sampler at the start of every epoch.
    """

    def __init__(self, n: int, batch_size: int, seed: int, shuffle: bool, device: torch.device):
        self.n, self.batch_size, self.seed, self.shuffle = n, batch_size, seed, shuffle
        self.device = device
        self.epoch = 0
        self._slices = batch_slices(n, batch_size, drop_singleton=shuffle)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self._slices)

    def __iter__(self) -> Iterator[torch.Tensor]:
        if self.shuffle:
            order = epoch_permutation(self.n, self.seed, self.epoch).to(self.device)
        else:
            order = torch.arange(self.n, device=self.device)
        for s in self._slices:
            yield order[s]


@dataclass(frozen=True)
class EpochAugmentation:
    """Whole-image transformations drawn afresh per epoch: a pure function of (seed, epoch, index).

    Built from a tensor set's ``meta["augment"]`` = ``{"transforms": [...], "seed": int,
    "transform_params": {...}}`` (``transform_params`` optional).
    """

    transforms: tuple[str, ...]
    seed: int
    transform_params: dict[str, dict[str, float]] = field(default_factory=dict)

    @classmethod
    def of(cls, data: dict) -> EpochAugmentation | None:
        spec = data.get("meta", {}).get("augment")
        if not spec:
            return None
        return cls(
            tuple(spec["transforms"]), int(spec["seed"]), dict(spec.get("transform_params", {}))
        )

    def __call__(self, images: torch.Tensor, index: torch.Tensor, epoch: int) -> torch.Tensor:
        """uint8 images [N, 3, H, W] (samples ``index`` of the set) augmented for ``epoch``."""
        params = resolve_params(self.transforms, self.transform_params, images.shape[-1])
        rnd = SampleRandom(self.seed, f"augment/epoch_{epoch}", index)
        return augment_images(images, self.transforms, params, rnd)[0]


Augment = Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]


class DeviceTensorDataset(torch.utils.data.Dataset):
    """``dataset[index_tensor] -> (images[index], labels[index])`` on the data's device, augmented
    by ``augment(images, index, sampler.epoch)`` when given."""

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        augment: Augment | None = None,
        sampler: EpochBatchSampler | None = None,
    ):
        if augment is not None and sampler is None:
            raise ValueError("an augmented dataset needs the sampler that knows the epoch")
        self.images, self.labels = images, labels
        self.augment, self.sampler = augment, sampler

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        images = self.images.index_select(0, index)
        if self.augment is not None:
            images = self.augment(images, index, self.sampler.epoch)
        return images, self.labels.index_select(0, index)


def device_loader(
    data: dict,
    batch_size: int,
    seed: int,
    shuffle: bool,
    device: torch.device,
    augment: Augment | None = None,
) -> torch.utils.data.DataLoader:
    """A DataLoader over tensor set ``data`` moved to ``device``, batched by ``EpochBatchSampler``
    (and augmented per epoch by ``augment``, if given)."""
    images = data["images"].to(device, non_blocking=True)
    labels = data["labels"].to(device=device, dtype=torch.long, non_blocking=True)
    sampler = EpochBatchSampler(images.shape[0], batch_size, seed, shuffle, device)
    return torch.utils.data.DataLoader(
        DeviceTensorDataset(images, labels, augment, sampler if augment else None),
        sampler=sampler,
        batch_size=None,
        num_workers=0,
        generator=torch.Generator(),  # its per-epoch seed draw leaves the global RNG alone
    )


# ------------------------------------------------------------------------------ input validation
def num_classes_of(data: dict) -> int:
    """The number of classes of a tensor set: ``len(data["meta"]["class_names"])``."""
    return len(data["meta"]["class_names"])


def check_tensor_set(data: Any, name: str) -> int:
    """Validate a tensor set; return its image size. Raises ValueError naming ``name``."""
    if not isinstance(data, dict) or "images" not in data or "labels" not in data:
        raise ValueError(f"{name}: expected a tensor set dict with 'images' and 'labels'")
    images, labels = data["images"], data["labels"]
    if (
        not (isinstance(images, torch.Tensor) and images.dtype == torch.uint8 and images.ndim == 4)
        or images.shape[1] != 3
    ):
        raise ValueError(
            f"{name}['images'] must be a uint8 tensor [N, 3, H, W], got "
            f"{getattr(images, 'dtype', type(images))} {tuple(getattr(images, 'shape', ()))}"
        )
    if images.shape[0] < 1:
        raise ValueError(f"{name} is empty: it needs at least one sample")
    if images.shape[2] != images.shape[3]:
        raise ValueError(f"{name}: images must be square, got {tuple(images.shape[2:])}")
    if not isinstance(labels, torch.Tensor) or labels.shape != (images.shape[0],):
        raise ValueError(f"{name}['labels'] must be a tensor [N] with N={images.shape[0]}")
    if labels.dtype.is_floating_point:
        raise ValueError(f"{name}['labels'] must be an integer tensor, got {labels.dtype}")
    size = int(images.shape[-1])
    meta_size = data.get("meta", {}).get("image_size")
    if meta_size is not None and int(meta_size) != size:
        raise ValueError(f"{name}: meta['image_size']={meta_size} but the images are {size}x{size}")
    return size


def check_labels(data: dict, num_classes: int, name: str) -> None:
    """Raise ValueError unless every label of ``data`` lies in 0..num_classes-1."""
    labels = data["labels"]
    lo, hi = int(labels.min()), int(labels.max())
    if lo < 0 or hi >= num_classes:
        raise ValueError(
            f"{name}['labels'] must lie in 0..{num_classes - 1} (num_classes={num_classes}), "
            f"found range {lo}..{hi}"
        )


def check_image_size(data: dict, expected: int, name: str, what: str = "the model") -> None:
    """Validate tensor set ``data`` and raise ValueError unless its images are ``expected`` wide."""
    size = check_tensor_set(data, name)
    if size != expected:
        raise ValueError(
            f"{name} has {size}x{size} images but {what} expects image_size={expected}; "
            "generate the data at the model's size or train a model at the data's size"
        )
