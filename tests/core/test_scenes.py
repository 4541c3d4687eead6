"""Tests of the offline natural-scene stand-in for CIFAR-10."""

from __future__ import annotations

import pytest
import torch

from transfer_invariance.core.scenes import (
    make_scenes,
    scene_class_names,
    scene_max_classes,
)


def test_shapes_and_meta() -> None:
    ts = make_scenes(50, n_classes=10, image_size=32, seed=0, split="train")
    assert ts["images"].dtype == torch.uint8 and ts["images"].shape == (50, 3, 32, 32)
    assert ts["images"].is_contiguous()
    assert ts["labels"].dtype == torch.int64 and ts["labels"].shape == (50,)
    assert ts["meta"]["class_names"] == scene_class_names(10)
    assert len(set(ts["meta"]["class_names"])) == 10
    assert ts["meta"]["image_size"] == 32 and ts["meta"]["name"] == "scenes"
    assert torch.equal(ts["latents"]["region"], ts["labels"])
    assert ts["latents"]["box"].shape == (50, 4)
    # images are real photo content, not blank
    assert ts["images"].float().std() > 20
    small = make_scenes(7, n_classes=3, image_size=16)
    assert small["images"].shape == (7, 3, 16, 16) and small["labels"].max() <= 2


def test_determinism_and_streams() -> None:
    a = make_scenes(40, seed=1, split="train")
    b = make_scenes(40, seed=1, split="train")
    assert torch.equal(a["images"], b["images"]) and torch.equal(a["labels"], b["labels"])
    c = make_scenes(40, seed=1, split="test")
    assert not torch.equal(a["images"], c["images"])
    d = make_scenes(40, seed=2, split="train")
    assert not torch.equal(a["images"], d["images"])
    # pure function of the index: a prefix of a longer draw
    e = make_scenes(25, seed=1, split="train")
    assert torch.equal(e["images"], a["images"][:25])


def test_label_balance() -> None:
    ts = make_scenes(1000, n_classes=10)
    counts = torch.bincount(ts["labels"], minlength=10)
    assert counts.min() >= 90 and counts.max() <= 110


def test_boxes_inside_region() -> None:
    ts = make_scenes(200, n_classes=scene_max_classes())
    box = ts["latents"]["box"]
    assert (box[:, 2] > box[:, 0]).all() and (box[:, 3] > box[:, 1]).all()
    assert torch.allclose(box[:, 2] - box[:, 0], box[:, 3] - box[:, 1])  # square crops


def test_classes_differ() -> None:
    """Class-mean colours differ: the task carries signal."""
    ts = make_scenes(400, n_classes=10)
    means = torch.stack(
        [ts["images"][ts["labels"] == k].float().mean((0, 2, 3)) for k in range(10)]
    )
    assert torch.cdist(means, means).fill_diagonal_(1e9).min() > 1.0


def test_too_many_classes() -> None:
    m = scene_max_classes()
    with pytest.raises(ValueError, match=rf"n_classes={m + 1}.*{m}"):
        make_scenes(10, n_classes=m + 1)
    with pytest.raises(ValueError, match="n_classes=0"):
        make_scenes(10, n_classes=0)
