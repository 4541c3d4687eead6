"""Thin nodes of the measure_invariance stage."""

from __future__ import annotations

from typing import Any

import pandas as pd

from transfer_invariance.core.invariance import (
    pair_representations,
    sensitivity_cosine,
    sensitivity_l2,
)
from transfer_invariance.core.training import load_model, resolve_device
from transfer_invariance.pipelines.common import seed_of


def measure_sensitivity(
    checkpoints: dict[str, dict], invariance: dict[str, Any], label: str, **pair_sets: dict
) -> pd.DataFrame:
    """Sensitivity (L2 and cosine) of each seed's model to each pair set (paper eq. 1)."""
    rows = []
    device = resolve_device(invariance.get("device", "auto"))
    n_random = int(invariance.get("n_random_pairs", 10000))
    for key, checkpoint in checkpoints.items():
        model = load_model(checkpoint, device=device)
        for name, pairs in pair_sets.items():
            a, b = pair_representations(
                model, pairs, int(invariance.get("batch_size", 512)), device
            )
            rows.append(
                {
                    "model": label.split(".")[-1],
                    "pairs": name,
                    "seed": seed_of(key),
                    "sensitivity_l2": sensitivity_l2(
                        a, b, n_random_pairs=n_random, seed=seed_of(key)
                    ),
                    "sensitivity_cosine": sensitivity_cosine(
                        a, b, n_random_pairs=n_random, seed=seed_of(key)
                    ),
                }
            )
    return pd.DataFrame(rows)
