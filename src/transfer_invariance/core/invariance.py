"""Sensitivity (inverse invariance) of representations to a transformation: paper eq. 1.

    sensitivity = mean_i d(r(a_i), r(b_i)) / mean_{(i, j) random, i != j} d(r(p_i), r(p_j))

with d the L2 (or cosine) distance, (a_i, b_i) the pairs differing by the transformation and p the
pool of representations of the same dataset (by default a and b concatenated). 0 = fully invariant,
about 1 = pairs are as different as unrelated inputs.
"""

from __future__ import annotations

import torch
from torch import nn

from .probe import representations


def random_pairs(n: int, n_pairs: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n_pairs`` seeded random index pairs (i, j) over 0..n-1 with i != j guaranteed."""
    if n < 2:
        raise ValueError(f"random pairs need a pool of at least 2 representations, got {n}")
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
    pool = torch.cat([a, b], 0) if reps_pool is None else reps_pool.detach().to(a.device).double()
    if pool.ndim != 2 or pool.shape[1] != a.shape[1]:
        raise ValueError(f"reps_pool must be [M, {a.shape[1]}], got {tuple(pool.shape)}")
    i, j = random_pairs(pool.shape[0], n_random_pairs, seed)
    i, j = i.to(pool.device), j.to(pool.device)
    paired = dist(a, b).mean()
    baseline = dist(pool[i], pool[j]).mean()
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
    """Mean L2 distance of the pairs / mean L2 distance of ``n_random_pairs`` random pairs of the
    pool (default: ``cat(reps_a, reps_b)``; seeded, no self-pairs). Computed in float64."""
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
) -> tuple[torch.Tensor, torch.Tensor]:
    """Representations of both sides of an invariance pair set {"a": tensor set, "b": tensor set}
    with a uint8-input model (e.g. ``training.load_model(checkpoint)``)."""
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
        representations(model, a, batch_size, device),
        representations(model, b, batch_size, device),
    )
