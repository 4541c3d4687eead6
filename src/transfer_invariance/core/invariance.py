"""Sensitivity (inverse invariance) of representations to a transformation: paper eq. 1.

    sensitivity = mean_i d(r(a_i), r(b_i)) / mean_{(k, l) random, k != l} d(r(a_k), r(b_l))

with d the L2 (or cosine) distance and (a_i, b_i) the pairs differing by the transformation. The
denominator is the distance between representations of unrelated inputs of the same dataset: its
random pairs come from two *distinct* source samples k != l, so two partners (a_k, b_k) -- identical
images when the transformation is ``none`` -- are never drawn together. 0 = fully invariant, about
1 = pairs are as different as unrelated inputs.
"""

from __future__ import annotations

import torch
from torch import nn

from .probe import representations


def random_pairs(n: int, n_pairs: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n_pairs`` seeded random index pairs (i, j) over 0..n-1 with i != j guaranteed.

    Drawn with replacement, i uniform and j uniform over the n - 1 other indices. The sensitivity
    draws them over the *source samples* (the n invariance pairs), not over the 2n representations,
    so index i and j always name different source samples."""
    if n < 2:
        raise ValueError(f"random pairs need at least 2 source samples, got {n}")
    if n_pairs < 1:
        raise ValueError(f"n_random_pairs must be >= 1, got {n_pairs}")
    gen = torch.Generator().manual_seed(int(seed))
    i = torch.randint(0, n, (n_pairs,), generator=gen)
    j = (i + torch.randint(1, n, (n_pairs,), generator=gen)) % n
    return i, j


def _check(reps_a: torch.Tensor, reps_b: torch.Tensor) -> None:
    if reps_a.ndim != 2 or reps_a.shape != reps_b.shape:
        raise ValueError(
            f"reps_a and reps_b must be [N, D] of the same shape, got {tuple(reps_a.shape)} "
            f"and {tuple(reps_b.shape)}"
        )
    if reps_a.shape[0] < 1:
        raise ValueError("reps_a and reps_b are empty")


def _l2(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (x - y).norm(dim=1)


def _cos(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return 1.0 - torch.nn.functional.cosine_similarity(x, y, dim=1, eps=1e-12)


def _sensitivity(dist, reps_a, reps_b, reps_pool, n_random_pairs, seed) -> float:
    _check(reps_a, reps_b)
    a = reps_a.detach().double()
    b = reps_b.detach().to(a.device).double()
    if reps_pool is None:
        # Unrelated-inputs reference: a_k against b_l of another source sample (k != l). Same
        # marginals as the numerator's (a_i, b_i), only the pairing is broken (a permutation null),
        # so the score is about 1 exactly when the representation does not tell which b goes with
        # which a -- whatever shift the transformation puts between the a side and the b side.
        if a.shape[0] < 2:
            raise ValueError(
                f"the random pairs need at least 2 invariance pairs (distinct source samples), "
                f"got {a.shape[0]}"
            )
        x, y = a, b
    else:
        x = y = reps_pool.detach().to(a.device).double()
        if x.ndim != 2 or x.shape[1] != a.shape[1]:
            raise ValueError(f"reps_pool must be [M, {a.shape[1]}], got {tuple(x.shape)}")
    i, j = random_pairs(x.shape[0], n_random_pairs, seed)
    i, j = i.to(x.device), j.to(x.device)
    paired = dist(a, b).mean()
    baseline = dist(x[i], y[j]).mean()
    if float(baseline) == 0.0:
        raise ValueError(
            "all random pairs have identical representations (baseline distance 0): the "
            "representation is constant, sensitivity is undefined"
        )
    return float(paired / baseline)


def sensitivity_l2(
    reps_a: torch.Tensor,
    reps_b: torch.Tensor,
    reps_pool: torch.Tensor | None = None,
    n_random_pairs: int = 10000,
    seed: int = 0,
) -> float:
    """Mean L2 distance of the pairs (a_i, b_i) / mean L2 distance of ``n_random_pairs`` seeded
    random pairs (a_k, b_l) of distinct source samples k != l (never a sample with itself or with
    its own partner). Computed in float64; needs at least 2 pairs.

    Comparing a_k with b_l (rather than a_k with a_l) keeps the reference on the same two sides as
    the numerator: if the transformation shifts all b's away from the a's, that shift is in both
    terms and a representation that only encodes the transformation, not the input, scores 1.

    ``reps_pool`` [M, D] replaces the reference by random pairs (i != j) of its rows; each row
    must then be a distinct source sample (do not pass ``cat(reps_a, reps_b)``)."""
    return _sensitivity(_l2, reps_a, reps_b, reps_pool, n_random_pairs, seed)


def sensitivity_cosine(
    reps_a: torch.Tensor,
    reps_b: torch.Tensor,
    reps_pool: torch.Tensor | None = None,
    n_random_pairs: int = 10000,
    seed: int = 0,
) -> float:
    """As ``sensitivity_l2`` with the cosine distance 1 - cos(x, y)."""
    return _sensitivity(_cos, reps_a, reps_b, reps_pool, n_random_pairs, seed)


def pair_representations(
    model: nn.Module,
    pair_set: dict,
    batch_size: int = 512,
    device: str | torch.device = "auto",
    bf16: bool | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Representations of both sides of an invariance pair set {"a": tensor set, "b": tensor set}
    with a uint8-input model (e.g. ``training.load_model(checkpoint)``); bf16 on CUDA unless
    ``bf16`` says otherwise (see ``probe.representations``)."""
    if not isinstance(pair_set, dict) or "a" not in pair_set or "b" not in pair_set:
        raise ValueError("pair_set must be a dict {'a': tensor set, 'b': tensor set}")
    a, b = pair_set["a"]["images"], pair_set["b"]["images"]
    if a.shape != b.shape:
        raise ValueError(
            f"pair_set['a'] and pair_set['b'] images must have the same shape, got "
            f"{tuple(a.shape)} and {tuple(b.shape)}"
        )
    size = getattr(getattr(model, "model", model), "image_size", None)
    if size is not None and a.shape[-1] != size:
        raise ValueError(
            f"pair_set images are {a.shape[-1]}x{a.shape[-1]} but the model expects {size}"
        )
    return (
        representations(model, a, batch_size, device, bf16),
        representations(model, b, batch_size, device, bf16),
    )
