"""Thin nodes of the probe stage."""

from __future__ import annotations

from typing import Any

import pandas as pd

from transfer_invariance.core.probe import probe, probe_config
from transfer_invariance.core.tracking import nested_run
from transfer_invariance.pipelines.common import seed_of, train_config


def probe_models(
    checkpoints: dict[str, dict], probe_params: dict[str, Any], label: str, **targets: dict
) -> tuple[pd.DataFrame, dict]:
    """Linear-probe each seed's model on each target (same seed's data); one nested run each.

    Returns the metrics table (one row per model seed and target) and the probe heads.
    """
    rows, heads = [], {}
    for key, checkpoint in checkpoints.items():
        seed = seed_of(key)
        config = train_config(probe_params, seed, probe_config(), "probe")
        cache: dict = {}  # targets sharing images (e.g. C+O with C or O labels) share representations
        for target, data in targets.items():
            splits = data[key]
            params = {
                "model": label,
                "target": target,
                "seed": seed,
                "arch": checkpoint["arch"],
                **config.to_dict(),
            }
            with nested_run(
                f"{label} | probe on {target} | {key}",
                params,
                {"stage": "probe", "condition": label, "target": target, "seed": key},
            ) as run_id:
                result = probe(
                    checkpoint,
                    splits["train"],
                    splits["val"],
                    splits["test"],
                    config,
                    run_id,
                    cache,
                )
            heads.setdefault(key, {})[target] = {
                "linear": result["linear"],
                "num_classes": result["num_classes"],
            }
            rows.append(
                {
                    "model": label.split(".")[-1],
                    "target": target,
                    "seed": seed,
                    **{k: result[k] for k in ("train_acc", "val_acc", "test_acc", "best_epoch")},
                }
            )
    return pd.DataFrame(rows), heads
