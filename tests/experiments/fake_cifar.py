"""Tiny fake CIFAR archives (folder layout) for tests that run the paper environment."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from transfer_invariance.core.cifar import CIFAR_INFO


def write_fake_cifar(root: Path, name: str, per_member: int) -> None:
    """``root/<folder>/`` with ``per_member`` random images per batch file, labels cycling over
    the classes (so every class has images in every split)."""
    info = CIFAR_INFO[name]
    n_classes = 10 if name == "cifar10" else 100
    folder = root / info.folder
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for member in (*info.train_files, *info.test_files):
        images = rng.integers(0, 256, size=(per_member, 3072), dtype=np.uint8)
        labels = [i % n_classes for i in range(per_member)]
        (folder / member).write_bytes(pickle.dumps({"data": images, info.label_key: labels}))
    names = [f"class{i}" for i in range(n_classes)]
    (folder / info.meta_file).write_bytes(pickle.dumps({info.names_key: names}))
