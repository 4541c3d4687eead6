"""The uint8-input classifier wrapper ``NormalizedModel``, checkpoint loading and state copies.

Images convention: ``NormalizedModel.forward/features`` take **uint8 images [N, 3, H, W] in 0..255**
(float input is accepted too and is then taken to be in [0, 1]). ``mean``/``std`` are per-channel
statistics of the *training* images on the [0, 1] scale; they are buffers of the wrapper and are
stored in the checkpoint as lists.
"""

from __future__ import annotations

import torch
from torch import nn

from ..models import build_model
from .data import resolve_device


def channel_stats(images: torch.Tensor, chunk: int = 4096) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of uint8 images [N, 3, H, W] on the [0, 1] scale (float64 sums)."""
    s = torch.zeros(3, dtype=torch.float64, device=images.device)
    ss = torch.zeros(3, dtype=torch.float64, device=images.device)
    for i in range(0, images.shape[0], chunk):
        x = images[i : i + chunk].to(torch.float64) / 255.0
        s += x.sum(dim=(0, 2, 3))
        ss += (x * x).sum(dim=(0, 2, 3))
    count = images.shape[0] * images.shape[2] * images.shape[3]
    mean = s / count
    std = (ss / count - mean * mean).clamp_min(0).sqrt().clamp_min(1e-3)
    return mean.tolist(), std.tolist()


def memory_format(device: torch.device) -> torch.memory_format:
    """channels_last on CUDA (faster convolutions); the standard layout on the CPU, where
    PyTorch 2.14's channels_last backward of narrow CNNs corrupts memory for some batch sizes
    (e.g. a width-0.125 ResNet-18 on a batch of 9 ends the process)."""
    return torch.channels_last if device.type == "cuda" else torch.contiguous_format


def normalize_images(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """uint8 images in 0..255 (or float in [0, 1]) -> float, normalised with per-channel ``mean``
    and ``std`` ([1, 3, 1, 1] on the [0, 1] scale), on their device, channels_last on a GPU."""
    x = x.to(mean.device, non_blocking=True)
    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    x = (x - mean) / std
    return x.contiguous(memory_format=memory_format(x.device))


class NormalizedModel(nn.Module):
    """Wraps a classifier so that it takes raw images.

    ``forward``/``features`` accept uint8 images [N, 3, H, W] in 0..255 (or float in [0, 1]); they
    are converted to float, normalised with the stored per-channel ``mean``/``std`` ([0, 1] scale)
    and, on a GPU, made channels_last, all on the model's device. ``model`` is the bare classifier.
    """

    def __init__(self, model: nn.Module, mean: list[float], std: list[float]):
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))

    @property
    def head(self) -> nn.Linear:
        return self.model.head

    @property
    def feature_dim(self) -> int:
        return self.model.feature_dim

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return normalize_images(x, self.mean, self.std)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.features(self.normalize(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(self.normalize(x))


def load_model(checkpoint: dict, device: str | torch.device = "cpu") -> NormalizedModel:
    """Rebuild a checkpoint (see ``pretrain``) as a ``NormalizedModel`` in eval mode on ``device``."""
    missing = {"arch", "width", "num_classes", "image_size", "state_dict", "mean", "std"} - set(
        checkpoint
    )
    if missing:
        raise ValueError(f"checkpoint is missing keys {sorted(missing)}")
    model = build_model(
        checkpoint["arch"],
        int(checkpoint["num_classes"]),
        float(checkpoint["width"]),
        int(checkpoint["image_size"]),
    )
    model.load_state_dict(checkpoint["state_dict"])
    net = NormalizedModel(model, list(checkpoint["mean"]), list(checkpoint["std"]))
    dev = resolve_device(device)
    return net.to(dev).to(memory_format=memory_format(dev)).eval()


def cpu_state_dict(module: nn.Module) -> dict[str, torch.Tensor]:
    """A deep copy of ``module.state_dict()`` on the CPU."""
    return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}
