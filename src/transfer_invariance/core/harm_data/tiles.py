"""The object tiles of the C+O composer and their pasting onto images.

Each object is resized once into a premultiplied ``object_size`` square tile
(``prepare_object_tiles``); ``_paste`` composites one tile per sample at its position, touching only
that window of each image.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

_CHUNK = 4096
_ALPHA_EPS = 1.0 / 255.0


def prepare_object_tiles(objects: torch.Tensor, n_objects: int, object_size: int) -> torch.Tensor:
    """Premultiplied-alpha RGBA tiles [n_objects, 4, s, s] (float in [0, 1]) of the first objects.

    Each object is cropped to the bounding box of its alpha > 1/255 pixels, resized so that its
    longer side is ``object_size`` (bilinear with antialiasing, on premultiplied colour so that no
    dark fringes appear) and centred in an ``object_size`` square with transparent padding.
    """
    s = int(object_size)
    tiles = torch.zeros((n_objects, 4, s, s), dtype=torch.float32)
    for k in range(n_objects):
        obj = objects[k].to(torch.float32).clamp(0, 1)
        alpha = obj[3]
        ys, xs = (alpha > _ALPHA_EPS).nonzero(as_tuple=True)
        if len(ys) == 0:
            raise ValueError(f"objects[{k}] is fully transparent; pass objects with an alpha mask")
        crop = obj[:, int(ys.min()) : int(ys.max()) + 1, int(xs.min()) : int(xs.max()) + 1]
        prem = torch.cat([crop[:3] * crop[3:4], crop[3:4]], 0).unsqueeze(0)
        h, w = crop.shape[1:]
        scale = s / max(h, w)
        nh, nw = max(1, min(s, round(h * scale))), max(1, min(s, round(w * scale)))
        small = F.interpolate(
            prem, size=(nh, nw), mode="bilinear", antialias=True, align_corners=False
        )
        small = small[0].clamp(0, 1)
        small[:3] = torch.minimum(small[:3], small[3:4])  # keep premultiplied colour <= alpha
        oy, ox = (s - nh) // 2, (s - nw) // 2
        tiles[k, :, oy : oy + nh, ox : ox + nw] = small
    return tiles


def _paste(
    background: torch.Tensor | None,
    shape: tuple[int, int, int],
    tiles: torch.Tensor,
    o: torch.Tensor,
    present: torch.Tensor,
    x: torch.Tensor,
    y: torch.Tensor,
) -> torch.Tensor:
    """Composite tile ``o[i]`` at (x[i], y[i]) over background[i] (uint8, or black if None).

    Only the ``s x s`` window of each sample is touched: gather the window's pixels, composite with
    the premultiplied tile ("over"), scatter them back. Pixels outside the window, and whole images
    without an object, keep their background bytes exactly.
    """
    n, (c, h, w) = len(o), shape
    s = tiles.shape[-1]
    if background is not None:
        out = background.clone().contiguous()
    else:
        out = torch.zeros((n, c, h, w), dtype=torch.uint8)
    flat = out.view(-1)
    tiles_flat = tiles.reshape(len(tiles), 4, s * s)
    ar = torch.arange(s)
    chan = (torch.arange(c) * (h * w))[None, :, None]  # [1, c, 1]
    todo = present.nonzero().squeeze(1)
    for start in range(0, len(todo), _CHUNK):
        rows = todo[start : start + _CHUNK]
        m = len(rows)
        win = (y[rows, None] + ar)[:, :, None] * w + (x[rows, None] + ar)[:, None, :]  # [m, s, s]
        idx = rows[:, None, None] * (c * h * w) + chan + win.reshape(m, 1, s * s)  # [m, c, s*s]
        idx = idx.reshape(-1)
        bg = flat[idx].view(m, c, s * s).to(torch.float32)
        tile = tiles_flat[o[rows]]  # [m, 4, s*s]
        comp = tile[:, :3] * 255.0 + (1.0 - tile[:, 3:4]) * bg
        flat[idx] = comp.round_().clamp_(0, 255).to(torch.uint8).reshape(-1)
    return out
