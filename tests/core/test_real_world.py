"""Tests of the one real-world loader on the scene stand-in and on a fake CIFAR archive."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.experiments.fake_cifar import write_fake_cifar
from transfer_invariance.core.cifar import load_cifar
from transfer_invariance.core.real_world import real_world_splits
from transfer_invariance.core.scenes import make_scenes

PER_MEMBER = 40  # CIFAR-10 fake: 200 training images (20 per class), 40 test images


@pytest.fixture(scope="module")
def cifar_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cifar")
    write_fake_cifar(root, "cifar10", PER_MEMBER)
    return root


def _same(a: dict, b: dict) -> bool:
    return torch.equal(a["images"], b["images"]) and torch.equal(a["labels"], b["labels"])


def test_scenes_make_each_split_with_its_size_classes_and_seed() -> None:
    out = real_world_splits("scenes", {"test": 6, "train": 12}, n_classes=3, seed=2, image_size=16)
    assert list(out) == ["test", "train"]
    assert _same(out["train"], make_scenes(12, 3, 16, 2, "train"))
    assert _same(out["test"], make_scenes(6, 3, 16, 2, "test"))


def test_scenes_per_class_val_counts_per_class() -> None:
    out = real_world_splits("scenes", {"val": 4}, val_carve="per_class", n_classes=5)
    assert out["val"]["labels"].bincount().tolist() == [4] * 5


def test_cifar_random_val_is_carved_before_train_and_test_are_cut(cifar_root: Path) -> None:
    out = real_world_splits(
        "cifar10", {"train": 50, "val": 30, "test": 10 * PER_MEMBER}, seed=1, cifar_root=cifar_root
    )
    assert list(out) == ["train", "val", "test"]
    train_rows, val_rows = (out[s]["latents"]["index"].tolist() for s in ("train", "val"))
    assert len(val_rows) == 30 and len(train_rows) == 50 and not set(train_rows) & set(val_rows)
    assert train_rows == sorted(train_rows) and train_rows[0] == min(
        set(range(200)) - set(val_rows)
    )
    assert _same(out["test"], load_cifar(cifar_root, "cifar10", "test"))  # all of it: fewer exist
    again = real_world_splits("cifar10", {"val": 30}, seed=1, cifar_root=cifar_root)
    assert _same(again["val"], out["val"])


def test_cifar_per_class_val_leaves_the_rest_whole(cifar_root: Path) -> None:
    out = real_world_splits(
        "cifar10",
        {"train": None, "val": 3, "test": None},
        val_carve="per_class",
        cifar_root=cifar_root,
    )
    assert out["val"]["labels"].bincount().tolist() == [3] * 10
    assert len(out["train"]["labels"]) == 5 * PER_MEMBER - 30
    assert len(out["test"]["labels"]) == PER_MEMBER


@pytest.mark.parametrize(
    ("source", "sizes", "match"),
    [
        ("mnist", {"test": 1}, "not a real-world source"),
        ("scenes", {"train": None}, "need a size"),
        ("cifar10", {"val": None}, "need a size"),
        ("cifar10", {"extra": 3}, "not CIFAR's"),
    ],
)
def test_bad_requests_are_refused(source: str, sizes: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        real_world_splits(source, sizes)
