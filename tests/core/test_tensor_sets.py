"""Tests of the tensor-set helpers on a small synthetic set (no dataset needed)."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from transfer_invariance.core.tensor_sets import (
    class_subset,
    first,
    per_class_subset,
    select,
    split_per_class,
    split_train_val,
    subset,
)

N, N_CLASSES = 40, 10


def _set() -> dict[str, Any]:
    """``N`` samples, labels cycling over ``N_CLASSES`` classes, every row told apart by its index."""
    index = torch.arange(N)
    return {
        "images": (index.view(-1, 1, 1, 1) * torch.ones(1, 3, 2, 2, dtype=torch.int64)).to(
            torch.uint8
        ),
        "labels": index % N_CLASSES,
        "latents": {"index": index, "box": torch.rand(N, 4)},
        "meta": {"name": "toy", "class_names": [f"class{i}" for i in range(N_CLASSES)]},
    }


def _rows(tensor_set: dict[str, Any]) -> list[int]:
    """The original rows a cut kept, in its order (read from the index latent)."""
    return tensor_set["latents"]["index"].tolist()


def _consistent(tensor_set: dict[str, Any], source: dict[str, Any]) -> None:
    """Images, labels and every latent follow the same rows."""
    rows = tensor_set["latents"]["index"]
    assert torch.equal(tensor_set["images"], source["images"][rows])
    assert torch.equal(tensor_set["latents"]["box"], source["latents"]["box"][rows])


def test_select_takes_indices_or_a_mask_and_copies_meta() -> None:
    ts = _set()
    by_index = select(ts, torch.tensor([3, 1]))
    assert _rows(by_index) == [3, 1] and by_index["labels"].tolist() == [3, 1]
    _consistent(by_index, ts)
    assert _rows(select(ts, ts["labels"] == 2)) == [2, 12, 22, 32]
    by_index["meta"]["name"] = "changed"
    assert ts["meta"]["name"] == "toy"


def test_first_cuts_to_at_most_the_set() -> None:
    ts = _set()
    assert _rows(first(ts, 5)) == [0, 1, 2, 3, 4]
    assert _rows(first(ts, 10 * N)) == list(range(N))


def test_subset_is_a_seeded_draw() -> None:
    ts = _set()
    a, b = subset(ts, 7, seed=3), subset(ts, 7, seed=3)
    assert _rows(a) == _rows(b) and len(set(_rows(a))) == 7
    assert _rows(a) != _rows(subset(ts, 7, seed=4))
    _consistent(a, ts)
    for n in (0, N + 1):
        with pytest.raises(ValueError, match="n must be in"):
            subset(ts, n, seed=0)


def test_class_subset_relabels_in_the_order_given() -> None:
    ts = _set()
    sub = class_subset(ts, [7, 2])
    keep = (ts["labels"] == 7) | (ts["labels"] == 2)
    assert torch.equal(sub["labels"], (ts["labels"][keep] == 2).long())  # 7 -> 0, 2 -> 1
    assert torch.equal(sub["images"], ts["images"][keep])
    assert sub["meta"]["class_names"] == ["class7", "class2"]
    assert sub["meta"]["source_classes"] == [7, 2]
    assert torch.equal(sub["latents"]["source_label"], ts["labels"][keep])
    with pytest.raises(ValueError, match="outside"):
        class_subset(ts, [N_CLASSES])
    with pytest.raises(ValueError, match="duplicates"):
        class_subset(ts, [1, 1])
    with pytest.raises(ValueError, match="empty"):
        class_subset(ts, [])


def test_split_train_val_is_seeded_and_covers_the_set() -> None:
    ts = _set()
    train, val = split_train_val(ts, 5, seed=3)
    assert len(val["labels"]) == 5 and len(train["labels"]) == N - 5
    assert sorted(_rows(train) + _rows(val)) == list(range(N))
    assert _rows(val) == sorted(_rows(val))
    assert _rows(split_train_val(ts, 5, seed=3)[1]) == _rows(val)
    with pytest.raises(ValueError, match="n_val"):
        split_train_val(ts, N + 1)


def test_per_class_draws_are_balanced_and_split_the_set() -> None:
    ts = _set()
    picked = per_class_subset(ts, 2, seed=1)
    assert torch.bincount(picked["labels"], minlength=N_CLASSES).tolist() == [2] * N_CLASSES
    assert _rows(picked) == sorted(_rows(picked))
    _consistent(picked, ts)
    rest, val = split_per_class(ts, 2, seed=1)
    assert _rows(val) == _rows(picked)
    assert sorted(_rows(rest) + _rows(val)) == list(range(N))
    with pytest.raises(ValueError, match="'class0' has 4"):
        per_class_subset(ts, 5, seed=0)
