"""CIFAR-style classifiers with an exposed penultimate representation.

Every model is an ``nn.Module`` with

- ``features(x) -> [N, D]``: the penultimate representation (after global pooling), i.e. the input
  of the final linear layer;
- ``head``: the final ``nn.Linear(D, num_classes)``;
- ``forward(x) = head(features(x))``;
- ``feature_dim``: ``D``.

Inputs are normalised float images ``[N, 3, H, W]`` (see ``training.NormalizedModel`` for the wrapper
that accepts uint8 images). CNNs take a ``width`` multiplier on every channel count
(``width=0.25`` -> a ResNet-18 with 16 base channels); the ViT scales its hidden size with it too
(rounded to a multiple of the number of heads).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def _ch(channels: int, width: float) -> int:
    return max(1, int(round(channels * width)))


class _Classifier(nn.Module):
    """Common forward: ``head(features(x))``."""

    feature_dim: int
    head: nn.Linear

    def features(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


# ----------------------------------------------------------------------------------------- ResNet
class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        out_planes = planes * self.expansion
        self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_planes, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != out_planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, out_planes, 1, stride, bias=False), nn.BatchNorm2d(out_planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return torch.relu(out + self.shortcut(x))


class ResNet(_Classifier):
    """CIFAR ResNet: 3x3 stem, no max-pool, four stages with strides 1, 2, 2, 2."""

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        num_blocks: list[int],
        num_classes: int,
        width: float = 1.0,
    ):
        super().__init__()
        base = _ch(64, width)
        self.stem = nn.Sequential(
            nn.Conv2d(3, base, 3, 1, 1, bias=False), nn.BatchNorm2d(base), nn.ReLU(inplace=True)
        )
        layers: list[nn.Module] = []
        in_planes = base
        for i, n in enumerate(num_blocks):
            planes = _ch(64 * 2**i, width)
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                layers.append(block(in_planes, planes, stride))
                in_planes = planes * block.expansion
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.feature_dim = in_planes
        self.head = nn.Linear(in_planes, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.pool(self.layers(self.stem(x))), 1)


# --------------------------------------------------------------------------------------- DenseNet
class _DenseLayer(nn.Module):
    def __init__(self, in_planes: int, growth: int):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, 4 * growth, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(4 * growth)
        self.conv2 = nn.Conv2d(4 * growth, growth, 3, 1, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(torch.relu(self.bn1(x)))
        out = self.conv2(torch.relu(self.bn2(out)))
        return torch.cat([out, x], 1)


class _Transition(nn.Module):
    def __init__(self, in_planes: int, out_planes: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(in_planes)
        self.conv = nn.Conv2d(in_planes, out_planes, 1, bias=False)
        self.pool = nn.AvgPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.conv(torch.relu(self.bn(x))))


class DenseNet(_Classifier):
    """CIFAR DenseNet-BC (3x3 stem, compression 0.5)."""

    def __init__(
        self,
        num_blocks: list[int],
        num_classes: int,
        growth_rate: int = 32,
        width: float = 1.0,
        reduction: float = 0.5,
    ):
        super().__init__()
        growth = _ch(growth_rate, width)
        planes = 2 * growth
        self.stem = nn.Conv2d(3, planes, 3, 1, 1, bias=False)
        stages: list[nn.Module] = []
        for i, n in enumerate(num_blocks):
            for _ in range(n):
                stages.append(_DenseLayer(planes, growth))
                planes += growth
            if i < len(num_blocks) - 1:
                out_planes = max(1, int(planes * reduction))
                stages.append(_Transition(planes, out_planes))
                planes = out_planes
        self.dense = nn.Sequential(*stages)
        self.bn = nn.BatchNorm2d(planes)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.feature_dim = planes
        self.head = nn.Linear(planes, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn(self.dense(self.stem(x))))
        return torch.flatten(self.pool(out), 1)


# -------------------------------------------------------------------------------------------- VGG
_VGG11 = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]


class VGG(_Classifier):
    """VGG with BatchNorm; global average pooling before a single linear head (CIFAR style).

    Max-pools that would shrink the feature map below 1x1 (images smaller than 32x32) are skipped.
    """

    def __init__(self, cfg: list, num_classes: int, width: float = 1.0, image_size: int = 32):
        super().__init__()
        layers: list[nn.Module] = []
        in_ch = 3
        size = image_size
        for v in cfg:
            if v == "M":
                if size >= 2:
                    layers.append(nn.MaxPool2d(2))
                    size //= 2
            else:
                out_ch = _ch(int(v), width)
                layers += [
                    nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False),
                    nn.BatchNorm2d(out_ch),
                    nn.ReLU(inplace=True),
                ]
                in_ch = out_ch
        self.body = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.feature_dim = in_ch
        self.head = nn.Linear(in_ch, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.pool(self.body(x)), 1)


# -------------------------------------------------------------------------------------------- ViT
class ViT(_Classifier):
    """Pre-norm ViT: ``patch x patch`` patches + CLS token, learned position embeddings, no dropout.

    ``features`` is the final-LayerNorm'ed CLS token.
    """

    def __init__(
        self,
        num_classes: int,
        image_size: int = 32,
        patch_size: int = 4,
        depth: int = 7,
        hidden: int = 384,
        mlp_dim: int = 384,
        heads: int = 8,
        width: float = 1.0,
    ):
        super().__init__()
        if image_size % patch_size != 0:
            raise ValueError(
                f"image_size={image_size} must be divisible by the ViT patch_size={patch_size}"
            )
        hidden = max(heads, int(round(hidden * width / heads)) * heads)
        mlp_dim = max(1, int(round(mlp_dim * width)))
        self.image_size = image_size
        self.patch_size = patch_size
        n_tokens = (image_size // patch_size) ** 2
        self.patch_embed = nn.Conv2d(3, hidden, patch_size, patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, hidden))
        self.pos_embed = nn.Parameter(torch.randn(1, n_tokens + 1, hidden) * 0.02)
        layer = nn.TransformerEncoderLayer(
            d_model=hidden,
            nhead=heads,
            dim_feedforward=mlp_dim,
            dropout=0.0,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(hidden)
        self.feature_dim = hidden
        self.head = nn.Linear(hidden, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            raise ValueError(
                f"ViT built for image_size={self.image_size} got images of size "
                f"{tuple(x.shape[-2:])}; build it with image_size={x.shape[-1]}"
            )
        tokens = self.patch_embed(x).flatten(2).transpose(1, 2)  # [N, T, D]
        cls = self.cls_token.expand(tokens.shape[0], -1, -1)
        tokens = torch.cat([cls, tokens], 1) + self.pos_embed
        return self.norm(self.encoder(tokens)[:, 0])


# --------------------------------------------------------------------------------------- registry
Builder = Callable[[int, float, int], nn.Module]

MODELS: dict[str, Builder] = {
    "resnet18": lambda num_classes, width, image_size: ResNet(
        BasicBlock, [2, 2, 2, 2], num_classes, width
    ),
    "resnet50": lambda num_classes, width, image_size: ResNet(
        Bottleneck, [3, 4, 6, 3], num_classes, width
    ),
    "densenet121": lambda num_classes, width, image_size: DenseNet(
        [6, 12, 24, 16], num_classes, growth_rate=32, width=width
    ),
    "vgg11_bn": lambda num_classes, width, image_size: VGG(_VGG11, num_classes, width, image_size),
    "vit": lambda num_classes, width, image_size: ViT(
        num_classes, image_size=image_size, width=width
    ),
}


def build_model(name: str, num_classes: int, width: float = 1.0, image_size: int = 32) -> nn.Module:
    """Build architecture ``name`` (one of ``MODELS``) with a ``num_classes``-way linear head."""
    if name not in MODELS:
        raise ValueError(f"unknown model name {name!r}; known names: {sorted(MODELS)}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    if width <= 0:
        raise ValueError(f"width must be > 0, got {width}")
    if image_size < 1:
        raise ValueError(f"image_size must be >= 1, got {image_size}")
    return MODELS[name](num_classes, float(width), int(image_size))
