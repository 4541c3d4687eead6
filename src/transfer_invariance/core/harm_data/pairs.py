"""Invariance pairs on C+O inputs: the sensitivity columns of Table 1 (harm experiment)."""

from __future__ import annotations

from typing import Any

import torch

from .compose import _as_set, _draws, _validate
from .tiles import _paste, prepare_object_tiles


def harm_pair_sets(
    c_set: dict[str, Any],
    objects: torch.Tensor,
    n_objects: int = 10,
    object_size: int = 12,
    seed: int = 0,
    split: str = "test",
    vary: str = "c",
    placement: str = "uniform",
    label_source: str = "c",
    object_names: list[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Invariance pairs on C+O inputs for the sensitivity columns of Table 1.

    ``a`` is exactly ``compose_c_plus_o(c_set, objects, n_objects, object_size, label_source, seed,
    split, placement=placement)`` (objects independent of C, always pasted). ``b`` changes one factor:

    * ``vary="c"``: the C image of pair i is replaced by C image j(i) != i, where
      ``j(i) = (i + 1 + floor(u_i * (N - 1))) mod N`` (a random other index, pure in i); object id
      and position stay the same. ``b``'s labels/latents describe b's own content (its ``c_label``
      is that of image j(i)).
    * ``vary="o"``: same C image and position, object id replaced by
      ``(o_i + 1 + floor(u_i * (n_objects - 1))) mod n_objects`` (uniform over the other ids).
    """
    if vary not in ("c", "o"):
        raise ValueError(f"vary={vary!r} must be 'c' (vary the C image) or 'o' (vary the object)")
    h, w, _ = _validate(
        c_set, objects, n_objects, object_size, label_source, None, 1.0, placement, "c", split
    )
    n_objects, s = int(n_objects), int(object_size)
    c_labels = c_set["labels"].to(torch.int64)
    n = len(c_labels)
    if vary == "c" and n < 2:
        raise ValueError(f"vary='c' needs at least 2 C images; c_set has {n}")
    if vary == "o" and n_objects < 2:
        raise ValueError(f"vary='o' needs n_objects >= 2; got n_objects={n_objects}")
    d = _draws(n, c_labels, n_objects, s, h, w, seed, split, None, 1.0, placement)
    tiles = prepare_object_tiles(objects, n_objects, s)
    params = {
        "background": "c",
        "split": split,
        "seed": seed,
        "object_size": s,
        "rho": None,
        "beta": 1.0,
        "placement": placement,
    }
    img_a = _paste(c_set["images"], (3, h, w), tiles, d["o"], d["present"], d["x"], d["y"])
    a = _as_set(img_a, c_set, d, d["o"], label_source, object_names, n_objects, params)
    if vary == "c":
        j = (torch.arange(n) + 1 + torch.floor(d["u_pair"] * (n - 1)).to(torch.int64)) % n
        c_b = {
            "images": c_set["images"][j],
            "labels": c_labels[j],
            "meta": c_set["meta"],
        }
        img_b = _paste(c_b["images"], (3, h, w), tiles, d["o"], d["present"], d["x"], d["y"])
        b = _as_set(img_b, c_b, d, d["o"], label_source, object_names, n_objects, params, "/pair_b")
        b["latents"]["c_index"] = j
        a["latents"]["c_index"] = torch.arange(n)
    else:
        shift = 1 + torch.floor(d["u_pair"] * (n_objects - 1)).to(torch.int64)
        o_b = (d["o"] + shift.clamp(max=n_objects - 1)) % n_objects
        img_b = _paste(c_set["images"], (3, h, w), tiles, o_b, d["present"], d["x"], d["y"])
        b = _as_set(img_b, c_set, d, o_b, label_source, object_names, n_objects, params, "/pair_b")
    a["meta"]["vary"] = b["meta"]["vary"] = vary
    return {"a": a, "b": b}
