"""Tests of the C+O composer (harm experiment) with tiny synthetic objects."""

from __future__ import annotations

import pytest
import torch

from transfer_invariance.core.harm_data import (
    MARGIN,
    compose_c_plus_o,
    harm_pair_sets,
    prepare_object_tiles,
)

H = 16
N_C = 5


def _objects(k: int = 6, s: int = 20) -> torch.Tensor:
    """k RGBA objects: an opaque coloured disc on a transparent canvas, distinct colours."""
    yy, xx = torch.meshgrid(torch.arange(s), torch.arange(s), indexing="ij")
    disc = (((yy - s / 2 + 0.5) ** 2 + (xx - s / 2 + 0.5) ** 2) < (s / 3) ** 2).float()
    objs = torch.zeros(k, 4, s, s)
    for i in range(k):
        color = torch.tensor([(i + 1) / k, 1 - i / k, (i % 2) * 0.8 + 0.1])
        objs[i, :3] = color[:, None, None]
        objs[i, 3] = disc
    return objs


def _in_box(x: torch.Tensor, y: torch.Tensor, s: int) -> torch.Tensor:
    """[N, H, W] mask of the object tile of each sample."""
    rows, cols = torch.arange(H)[None, :, None], torch.arange(H)[None, None, :]
    in_rows = (rows >= y[:, None, None]) & (rows < y[:, None, None] + s)
    in_cols = (cols >= x[:, None, None]) & (cols < x[:, None, None] + s)
    return in_rows & in_cols


def _c_set(n: int = 300, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {
        "images": torch.randint(0, 256, (n, 3, H, H), dtype=torch.uint8, generator=g),
        "labels": torch.arange(n) % N_C,
        "latents": {},
        "meta": {"name": "fake", "class_names": [f"c{i}" for i in range(N_C)], "image_size": H},
    }


def test_object_inside_and_labels() -> None:
    c, objs = _c_set(), _objects()
    s = 6
    out = compose_c_plus_o(c, objs, n_objects=5, object_size=s, label_source="o", seed=0)
    assert out["images"].shape == c["images"].shape and out["images"].dtype == torch.uint8
    lat = out["latents"]
    assert torch.equal(out["labels"], lat["o_label"]) and torch.equal(lat["c_label"], c["labels"])
    assert lat["o_label"].max() < 5 and lat["object_present"].all()
    x, y = lat["x"], lat["y"]
    assert (x >= 0).all() and (y >= 0).all() and (x + s <= H).all() and (y + s <= H).all()
    changed = (out["images"] != c["images"]).any(1)  # [N, H, W]
    in_box = _in_box(x, y, s)
    assert not (changed & ~in_box).any()
    assert changed.flatten(1).any(1).all()  # every image got an object
    # positions cover the image
    assert x.min() == 0 and x.max() == H - s
    # label source c: same images, C labels
    out_c = compose_c_plus_o(c, objs, n_objects=5, object_size=s, label_source="c", seed=0)
    assert torch.equal(out_c["images"], out["images"])
    assert torch.equal(out_c["labels"], c["labels"])
    assert out_c["meta"]["class_names"] == c["meta"]["class_names"]
    assert len(out["meta"]["class_names"]) == 5


def test_determinism_and_split_streams() -> None:
    c, objs = _c_set(), _objects()
    a = compose_c_plus_o(c, objs, n_objects=5, object_size=6, seed=3, split="train")
    b = compose_c_plus_o(c, objs, n_objects=5, object_size=6, seed=3, split="train")
    t = compose_c_plus_o(c, objs, n_objects=5, object_size=6, seed=3, split="test")
    assert torch.equal(a["images"], b["images"])
    assert not torch.equal(a["latents"]["o_label"], t["latents"]["o_label"])


def test_rho_one_is_one_to_one() -> None:
    c, objs = _c_set(), _objects()
    out = compose_c_plus_o(c, objs, n_objects=5, object_size=6, seed=0, rho=1.0)
    cl, ol = out["latents"]["c_label"], out["latents"]["o_label"]
    mapping = {}
    for k in range(N_C):
        objs_k = set(ol[cl == k].tolist())
        assert len(objs_k) == 1  # each class -> exactly one object
        mapping[k] = objs_k.pop()
    assert len(set(mapping.values())) == N_C  # distinct classes -> distinct objects


def test_rho_zero_independent() -> None:
    c, objs = _c_set(n=3000), _objects()
    for rho in (None, 0.0):
        out = compose_c_plus_o(c, objs, n_objects=5, object_size=6, seed=0, rho=rho)
        cl, ol = out["latents"]["c_label"], out["latents"]["o_label"]
        table = torch.zeros(N_C, 5)
        table.index_put_((cl, ol), torch.ones(len(cl)), accumulate=True)
        p = table / table.sum(1, keepdim=True)
        assert (p - 0.2).abs().max() < 0.08  # object frequency does not depend on the class
    half = compose_c_plus_o(c, objs, n_objects=5, object_size=6, seed=0, rho=0.5)
    agree = (half["latents"]["o_label"] == half["latents"]["c_label"]).float().mean()
    assert abs(agree.item() - (0.5 + 0.5 / 5)) < 0.05


def test_beta() -> None:
    c, objs = _c_set(), _objects()
    none = compose_c_plus_o(c, objs, n_objects=5, object_size=6, seed=0, beta=0.0, label_source="o")
    assert torch.equal(none["images"], c["images"])
    assert not none["latents"]["object_present"].any()
    assert torch.equal(none["labels"], none["latents"]["o_label"])  # documented: label = drawn id
    part = compose_c_plus_o(c, objs, n_objects=5, object_size=6, seed=0, beta=0.4)
    pres = part["latents"]["object_present"]
    assert 0.3 < pres.float().mean().item() < 0.5
    same = (part["images"] == c["images"]).flatten(1).all(1)
    assert torch.equal(same, ~pres)


def test_black_background() -> None:
    c, objs = _c_set(), _objects()
    s = 6
    out = compose_c_plus_o(
        c, objs, n_objects=5, object_size=s, seed=0, background="black", label_source="o"
    )
    x, y = out["latents"]["x"], out["latents"]["y"]
    in_box = _in_box(x, y, s)
    img = out["images"]
    assert (img.permute(1, 0, 2, 3)[:, ~in_box] == 0).all()
    assert (img.sum(1) > 0).flatten(1).any(1).all()


def test_upper_right() -> None:
    c, objs = _c_set(), _objects()
    s = 6
    out = compose_c_plus_o(c, objs, n_objects=5, object_size=s, seed=0, placement="upper_right")
    assert (out["latents"]["x"] == H - s - MARGIN).all() and (out["latents"]["y"] == MARGIN).all()
    changed = (out["images"] != c["images"]).any(1)
    assert not changed[:, H // 2 :, :].any() and not changed[:, :, : H // 2].any()


def test_validation() -> None:
    c, objs = _c_set(), _objects(k=6)
    with pytest.raises(ValueError, match=r"n_objects=7.*\(6\)"):
        compose_c_plus_o(c, objs, n_objects=7)
    with pytest.raises(ValueError, match="n_objects=0"):
        compose_c_plus_o(c, objs, n_objects=0)
    with pytest.raises(ValueError, match="rho"):
        compose_c_plus_o(c, objs, n_objects=5, object_size=6, rho=1.5)
    with pytest.raises(ValueError, match="beta"):
        compose_c_plus_o(c, objs, n_objects=5, object_size=6, beta=-0.1)
    with pytest.raises(ValueError, match="object_size"):
        compose_c_plus_o(c, objs, n_objects=5, object_size=H + 1)
    with pytest.raises(ValueError, match="one-to-one"):
        compose_c_plus_o(c, objs, n_objects=3, object_size=6, rho=0.5)
    with pytest.raises(ValueError, match="placement"):
        compose_c_plus_o(c, objs, n_objects=5, object_size=6, placement="corner")
    with pytest.raises(ValueError, match="objects"):
        compose_c_plus_o(c, objs[:, :3], n_objects=5, object_size=6)


def test_tiles_fit() -> None:
    objs = _objects(k=2, s=40)
    objs[1, 3] = 0
    objs[1, 3, 10:14, 5:35] = 1  # a wide bar: longer side fitted to the tile
    tiles = prepare_object_tiles(objs, 2, 8)
    assert tiles.shape == (2, 4, 8, 8)
    assert (tiles[1, 3].amax(0) > 0.5).sum() == 8  # spans the full width
    assert (tiles[:, :3] <= tiles[:, 3:4] + 1e-6).all()  # premultiplied


@pytest.mark.parametrize("vary", ["c", "o"])
def test_pair_sets(vary: str) -> None:
    c, objs = _c_set(), _objects()
    s = 6
    pairs = harm_pair_sets(c, objs, n_objects=5, object_size=s, seed=0, split="test", vary=vary)
    a, b = pairs["a"], pairs["b"]
    ref = compose_c_plus_o(c, objs, n_objects=5, object_size=s, seed=0, split="test")
    assert torch.equal(a["images"], ref["images"])
    assert torch.equal(a["latents"]["x"], b["latents"]["x"])
    assert torch.equal(a["latents"]["y"], b["latents"]["y"])
    x, y = a["latents"]["x"], a["latents"]["y"]
    in_box = _in_box(x, y, s)
    differs = (a["images"] != b["images"]).any(1)
    if vary == "o":
        assert (a["latents"]["o_label"] != b["latents"]["o_label"]).all()
        assert not (differs & ~in_box).any()  # only the object region changes
        assert differs.flatten(1).any(1).all()
    else:
        assert torch.equal(a["latents"]["o_label"], b["latents"]["o_label"])
        assert (a["latents"]["c_index"] != b["latents"]["c_index"]).all()
        # same object pixels: where the object is opaque, a and b agree
        tiles = prepare_object_tiles(objs, 5, s)
        opaque = torch.zeros_like(differs)
        for i in range(len(x)):
            alpha = tiles[a["latents"]["o_label"][i], 3] > 0.999
            opaque[i, y[i] : y[i] + s, x[i] : x[i] + s] = alpha
        assert not (differs & opaque).any()
        assert (differs & ~in_box).flatten(1).any(1).all()  # the background changed
    with pytest.raises(ValueError, match="vary"):
        harm_pair_sets(c, objs, n_objects=5, object_size=s, vary="x")
