"""The C+O composer of the harm experiment (paper Sec. 4.2, App. A.2 and C.3).

"C" is a natural-image classification set (CIFAR-10, or the offline scene stand-in of
:mod:`transfer_invariance.core.scenes`); "O" are ``n_objects`` object prototypes shrunk to about
``object_size`` pixels and pasted onto the C images. The four pretraining sets of Table 1 are

* C with label C: the C set itself;
* C+O with label C: ``compose_c_plus_o(c_set, objects, label_source="c", ...)``;
* C+O with label O: ``compose_c_plus_o(c_set, objects, label_source="o", ...)`` (same seed and split
  give exactly the same images as the previous one);
* O with label O: ``compose_c_plus_o(c_set, objects, label_source="o", background="black", ...)``.

``objects`` is a float tensor [K, 4, S, S] of straight-alpha RGBA in [0, 1]; callers pass the output
of ``base_images.load_objects(...)``. The first ``n_objects`` objects are used, object id k being
``objects[k]``.

Per sample i (all draws pure functions of ``(seed, split, i)``, see
:class:`transfer_invariance.core.rng.SampleRandom`):

* object id ``o_i``: uniform over the ``n_objects`` ids, independent of the C label (``rho=None`` or
  ``rho=0``). With ``rho`` given (relevance, App. C.3): with probability ``rho`` the object is the
  one assigned to the C class by the one-to-one map ``class c -> object c`` (this needs
  ``n_objects >= number of C classes``), otherwise uniform over all ``n_objects`` ids (which may
  also hit the assigned one).
* presence: with probability ``beta`` (availability) the object is pasted at all. ``beta=0`` pastes
  nothing, and the images are then exactly the C images. When no object is pasted the drawn id
  ``o_i`` is still recorded, and with ``label_source="o"`` it is still the label (so such samples
  carry an unpredictable label); ``latents["object_present"]`` tells them apart.
* position: the object is resized once per object (crop to the alpha bounding box, fit the longer
  side to ``object_size`` with antialiasing, centre in an ``object_size`` square tile) and the tile's
  top-left corner ``(x, y)`` is uniform over all positions that keep the tile fully inside the image
  (``placement="uniform"``), or fixed at ``MARGIN`` px from the upper-right corner
  (``placement="upper_right"``: ``x = W - object_size - MARGIN``, ``y = MARGIN``).
* compositing: alpha "over" onto the C image (``background="c"``) or onto black
  (``background="black"``, the "O" set).
"""

from __future__ import annotations

from typing import Any

import torch

from ..rng import SampleRandom
from .tiles import _paste, prepare_object_tiles

MARGIN = 1  # px between the object tile and the image border for placement="upper_right"
# columns of the per-sample draws (stream "harm")
_U_PRESENT, _U_CORR, _U_OBJ, _U_X, _U_Y, _U_PAIR = range(6)
_N_DRAWS = 6


def _validate(
    c_set: dict[str, Any],
    objects: torch.Tensor,
    n_objects: int,
    object_size: int,
    label_source: str,
    rho: float | None,
    beta: float,
    placement: str,
    background: str,
    split: str,
) -> tuple[int, int, int]:
    if not isinstance(objects, torch.Tensor) or objects.ndim != 4 or objects.shape[1] != 4:
        shape = tuple(objects.shape) if isinstance(objects, torch.Tensor) else type(objects)
        raise ValueError(
            f"objects must be a float tensor [K, 4, S, S] of straight-alpha RGBA in [0, 1] (e.g. "
            f"base_images.load_objects(...)); got {shape}"
        )
    if not objects.is_floating_point():
        raise ValueError(f"objects must be floating point in [0, 1]; got dtype {objects.dtype}")
    k_avail = int(objects.shape[0])
    if not 1 <= int(n_objects) <= k_avail:
        raise ValueError(
            f"n_objects={n_objects} must lie between 1 and the number of objects available "
            f"({k_avail}); pass more objects or lower n_objects"
        )
    images = c_set["images"]
    if images.ndim != 4 or images.shape[1] != 3 or images.dtype != torch.uint8:
        raise ValueError(f"c_set['images'] must be uint8 [N, 3, H, W]; got {tuple(images.shape)}")
    h, w = int(images.shape[2]), int(images.shape[3])
    if not 1 <= int(object_size) <= min(h, w):
        raise ValueError(
            f"object_size={object_size} must lie between 1 and the image size ({min(h, w)} px)"
        )
    if placement not in ("uniform", "upper_right"):
        raise ValueError(f"placement={placement!r} must be 'uniform' or 'upper_right'")
    if placement == "upper_right" and int(object_size) + 2 * MARGIN > min(h, w):
        raise ValueError(
            f"object_size={object_size} is too large for placement='upper_right' "
            f"(needs object_size + {2 * MARGIN} <= image size {min(h, w)})"
        )
    if label_source not in ("c", "o"):
        raise ValueError(f"label_source={label_source!r} must be 'c' (C label) or 'o' (object id)")
    if background not in ("c", "black"):
        raise ValueError(f"background={background!r} must be 'c' (the C image) or 'black'")
    if beta is None or not 0.0 <= float(beta) <= 1.0:
        raise ValueError(f"beta={beta} (availability) must lie in [0, 1]")
    n_c_classes = len(c_set["meta"]["class_names"])
    if rho is not None:
        if not 0.0 <= float(rho) <= 1.0:
            raise ValueError(f"rho={rho} (relevance) must lie in [0, 1] or be None")
        if float(rho) > 0 and int(n_objects) < n_c_classes:
            raise ValueError(
                f"rho={rho} needs a one-to-one map from the {n_c_classes} C classes to objects, but "
                f"n_objects={n_objects} < {n_c_classes}; raise n_objects or use a C class subset"
            )
    if not isinstance(split, str) or not split:
        raise ValueError(f"split={split!r} must be a non-empty string such as 'train' or 'test'")
    return h, w, n_c_classes


def _draws(
    n: int,
    c_labels: torch.Tensor,
    n_objects: int,
    s: int,
    h: int,
    w: int,
    seed: int,
    split: str,
    rho: float | None,
    beta: float,
    placement: str,
) -> dict[str, torch.Tensor]:
    u = SampleRandom(seed, split, torch.arange(n)).uniform("harm", _N_DRAWS).double()
    o = torch.floor(u[:, _U_OBJ] * n_objects).to(torch.int64).clamp_(max=n_objects - 1)
    if rho is not None:
        corr = u[:, _U_CORR] < float(rho)
        o = torch.where(corr, c_labels % n_objects, o)
    present = u[:, _U_PRESENT] < float(beta)
    if placement == "uniform":
        x = torch.floor(u[:, _U_X] * (w - s + 1)).to(torch.int64).clamp_(max=w - s)
        y = torch.floor(u[:, _U_Y] * (h - s + 1)).to(torch.int64).clamp_(max=h - s)
    else:
        x = torch.full((n,), w - s - MARGIN, dtype=torch.int64)
        y = torch.full((n,), MARGIN, dtype=torch.int64)
    return {"o": o, "present": present, "x": x, "y": y, "u_pair": u[:, _U_PAIR]}


def compose_c_plus_o(
    c_set: dict[str, Any],
    objects: torch.Tensor,
    n_objects: int = 10,
    object_size: int = 12,
    label_source: str = "c",
    seed: int = 0,
    split: str = "train",
    rho: float | None = None,
    beta: float = 1.0,
    placement: str = "uniform",
    background: str = "c",
    object_names: list[str] | None = None,
) -> dict[str, Any]:
    """Paste one of ``n_objects`` objects onto each C image (see the module docstring).

    Args:
        c_set: the C tensor set (CIFAR-10 or ``scenes.make_scenes``); one output sample per C sample.
        objects: float [K, 4, S, S] straight-alpha RGBA in [0, 1], K >= n_objects
            (``base_images.load_objects(...)``); object id k is ``objects[k]``.
        n_objects: number of object classes (the first ``n_objects`` objects).
        object_size: side in px of the square the object is fitted into.
        label_source: ``"c"`` -> labels are the C labels; ``"o"`` -> labels are the object ids.
        seed, split: the draws are pure functions of (seed, split, sample index).
        rho: relevance; None (= 0) for objects independent of the C label.
        beta: availability, the probability that an object is pasted at all.
        placement: ``"uniform"`` (random position fully inside) or ``"upper_right"``.
        background: ``"c"`` (C+O) or ``"black"`` (O alone).
        object_names: class names of the objects for ``meta`` (default ``object_<k>``).

    Returns:
        a tensor set with latents ``c_label``, ``o_label``, ``object_present`` (bool), ``x``, ``y``
        (top-left corner of the ``object_size`` square tile; the object lies inside
        ``[x, x + object_size) x [y, y + object_size)``), and the parameters in ``meta``.
    """
    h, w, n_c_classes = _validate(
        c_set,
        objects,
        n_objects,
        object_size,
        label_source,
        rho,
        beta,
        placement,
        background,
        split,
    )
    n_objects, s = int(n_objects), int(object_size)
    c_labels = c_set["labels"].to(torch.int64)
    n = len(c_labels)
    d = _draws(n, c_labels, n_objects, s, h, w, seed, split, rho, beta, placement)
    tiles = prepare_object_tiles(objects, n_objects, s)
    bg = c_set["images"] if background == "c" else None
    images = _paste(bg, (3, h, w), tiles, d["o"], d["present"], d["x"], d["y"])
    params = {
        "background": background,
        "split": split,
        "seed": seed,
        "object_size": s,
        "rho": rho,
        "beta": beta,
        "placement": placement,
    }
    return _as_set(images, c_set, d, d["o"], label_source, object_names, n_objects, params)


def _object_names(object_names: list[str] | None, n_objects: int) -> list[str]:
    if object_names is None:
        return [f"object_{k}" for k in range(n_objects)]
    if len(object_names) < n_objects:
        raise ValueError(f"object_names has {len(object_names)} names, need n_objects={n_objects}")
    return [str(x) for x in object_names[:n_objects]]


def _as_set(
    images: torch.Tensor,
    c_set: dict[str, Any],
    d: dict[str, torch.Tensor],
    o: torch.Tensor,
    label_source: str,
    object_names: list[str] | None,
    n_objects: int,
    params: dict[str, Any],
    name_suffix: str = "",
) -> dict[str, Any]:
    c_labels = c_set["labels"].to(torch.int64)
    o_names = _object_names(object_names, n_objects)
    c_names = list(c_set["meta"]["class_names"])
    c_name = c_set["meta"].get("name", "c")
    bg_name = c_name if params["background"] == "c" else "black"
    return {
        "images": images,
        "labels": (c_labels if label_source == "c" else o).clone(),
        "latents": {
            "c_label": c_labels.clone(),
            "o_label": o.clone(),
            "object_present": d["present"].clone(),
            "x": d["x"].clone(),
            "y": d["y"].clone(),
        },
        "meta": {
            "name": f"{bg_name}+objects/label_{label_source}{name_suffix}",
            "split": params["split"],
            "seed": int(params["seed"]),
            "class_names": c_names if label_source == "c" else o_names,
            "image_size": int(images.shape[-1]),
            "c_name": c_name,
            "c_class_names": c_names,
            "object_names": o_names,
            "n_objects": n_objects,
            "object_size": int(params["object_size"]),
            "label_source": label_source,
            "rho": None if params["rho"] is None else float(params["rho"]),
            "beta": float(params["beta"]),
            "placement": params["placement"],
            "background": params["background"],
        },
    }
