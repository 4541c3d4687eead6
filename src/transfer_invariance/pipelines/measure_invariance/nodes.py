"""Thin nodes of the measure_invariance stage."""

from __future__ import annotations

import pandas as pd

from transfer_invariance.core.invariance import (
    pair_representations,
    sensitivity_cosine,
    sensitivity_l2,
)
from transfer_invariance.core.training import load_model, resolve_device
from transfer_invariance.pipelines.common import seed_of
from transfer_invariance.pipelines.params import InvarianceParams


def measure_sensitivity(
    checkpoints: dict[str, dict], invariance: InvarianceParams, **pair_sets: dict
) -> pd.DataFrame:
    """Sensitivity (L2 and cosine) of each seed's model to each pair set (paper eq. 1)."""
    rows = []
    device = resolve_device(invariance.device)
    for key, checkpoint in checkpoints.items():
        seed = seed_of(key)
        model = load_model(checkpoint, device=device)
        for name, pairs in pair_sets.items():
            a, b = pair_representations(model, pairs, invariance.batch_size, device)
            rows.append(
                {
                    "pairs": name,
                    "seed": seed,
                    "sensitivity_l2": sensitivity_l2(
                        a, b, n_random_pairs=invariance.n_random_pairs, seed=seed
                    ),
                    "sensitivity_cosine": sensitivity_cosine(
                        a, b, n_random_pairs=invariance.n_random_pairs, seed=seed
                    ),
                }
            )
    return pd.DataFrame(rows)
