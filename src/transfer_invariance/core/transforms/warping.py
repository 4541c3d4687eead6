"""Resampling a layer under affine maps: the warp, object boxes and whole-mode fill.

A *layer* is a premultiplied RGBA tensor [N, 4, H, W] in [0, 1]. Warps whose sampling points all
land on pixel centres (flips, integer shifts) are done by exact nearest-neighbour gathering, a choice
made per sample, so a sample's result does not depend on its batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


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
