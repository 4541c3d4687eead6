"""Thin nodes of the probe stage."""

from __future__ import annotations

import pandas as pd

from transfer_invariance.core.probe import probe
from transfer_invariance.core.tracking import nested_run, run_name, scope
from transfer_invariance.core.training import resolve_device
from transfer_invariance.pipelines.common import seed_of
from transfer_invariance.pipelines.params import ProbeParams


def probe_models(
    checkpoints: dict[str, dict], probe_params: ProbeParams, **targets: dict
) -> tuple[pd.DataFrame, dict]:
    """Linear-probe each seed's model on each target (same seed's data); one nested run each.

    Returns the metrics table (one row per model seed and target) and the probe heads.
    """
    rows, heads = [], {}
    for key, checkpoint in checkpoints.items():
        seed = seed_of(key)
        config = probe_params.config(seed)
        cache: dict = {}  # targets sharing images (e.g. C+O with C or O labels) share representations
        for target, data in targets.items():
            splits = data[key]
            name = run_name(f"probe on {target} | seed {seed}")
            params = {
                "model": scope(),
                "target": target,
                "seed": seed,
                "arch": checkpoint["arch"],
                **config.to_dict(),
                "device": str(resolve_device(config.device)),
            }
            tags = {"stage": "probe", "condition": scope(), "target": target, "seed": str(seed)}
            with nested_run(name, params, tags) as run_id:
                result = probe(
                    checkpoint,
                    splits["train"],
                    splits["val"],
                    splits["test"],
                    config,
                    run_id,
                    cache,
                    desc=name,
                )
            heads.setdefault(key, {})[target] = {
                "linear": result["linear"],
                "num_classes": result["num_classes"],
            }
            rows.append(
                {
                    "target": target,
                    "seed": seed,
                    **{k: result[k] for k in ("train_acc", "val_acc", "test_acc", "best_epoch")},
                }
            )
    return pd.DataFrame(rows), heads
