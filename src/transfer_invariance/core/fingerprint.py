"""Content fingerprints: a short hash naming parameters and tensors exactly.

Used to recognise finished trainings (``datasets.CheckpointsDataset``) and to reuse representations of
identical images (``probe``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import torch


def fingerprint(*parts: Any) -> str:
    """A short hash of parameters and tensor sets, naming one training's inputs exactly."""
    h = hashlib.sha1()

    def feed(x: Any) -> None:
        if isinstance(x, torch.Tensor):
            t = x.detach().cpu().contiguous()
            h.update(str((t.dtype, tuple(t.shape))).encode())
            h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        elif isinstance(x, Mapping):
            for k in sorted(x, key=str):
                h.update(str(k).encode())
                feed(x[k])
        elif isinstance(x, list | tuple):
            for v in x:
                feed(v)
        else:
            h.update(json.dumps(x, sort_keys=True, default=str).encode())

    for p in parts:
        feed(p)
    return h.hexdigest()[:16]
