"""Thin nodes of the measure_invariance stage."""

from __future__ import annotations

import pandas as pd

from transfer_invariance.core.invariance import (
    pair_representations,
    sensitivity_cosine,
    sensitivity_l2,
)
from transfer_invariance.core.tracking import log_metrics, nested_run, run_name, scope
from transfer_invariance.core.training import load_model, resolve_device
from transfer_invariance.pipelines.common import seed_of
from transfer_invariance.pipelines.params import InvarianceParams


def measure_sensitivity(
    checkpoints: dict[str, dict], invariance: InvarianceParams, **pair_sets: dict
) -> pd.DataFrame:
    """Sensitivity (L2 and cosine) of each seed's model to each pair set (paper eq. 1); one
    nested MLflow run per seed and pair set.

    A pair set is shared by every seed (``{"a", "b"}``) or has one per seed (``{"seed_<s>": ...}``,
    when the data differ per seed, as harm's objects do).
    """
    rows = []
    device = resolve_device(invariance.device)
    for key, checkpoint in checkpoints.items():
        seed = seed_of(key)
        model = load_model(checkpoint, device=device)
        for name, pairs in pair_sets.items():
            seed_pairs = pairs[key] if key in pairs else pairs
            params = {
                "model": scope(),
                "pairs": name,
                "seed": seed,
                "n_pairs": int(seed_pairs["a"]["images"].shape[0]),
                **invariance.model_dump(),
            }
            tags = {
                "stage": "measure_invariance",
                "condition": scope(),
                "pairs": name,
                "seed": str(seed),
            }
            with nested_run(
                run_name(f"sensitivity to {name} | seed {seed}"), params, tags
            ) as run_id:
                a, b = pair_representations(model, seed_pairs, invariance.batch_size, device)
                scores = {
                    "sensitivity_l2": sensitivity_l2(
                        a, b, n_random_pairs=invariance.n_random_pairs, seed=seed
                    ),
                    "sensitivity_cosine": sensitivity_cosine(
                        a, b, n_random_pairs=invariance.n_random_pairs, seed=seed
                    ),
                }
                log_metrics(run_id, scores)
            rows.append({"pairs": name, "seed": seed, **scores})
    return pd.DataFrame(rows)
