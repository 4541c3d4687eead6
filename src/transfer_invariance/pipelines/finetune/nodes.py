"""Thin nodes of the finetune stage."""

from __future__ import annotations

from typing import Any

import pandas as pd
import torch

from transfer_invariance.core.finetune import finetune, finetune_config
from transfer_invariance.core.tracking import nested_run
from transfer_invariance.pipelines.common import seed_of, train_config


def subset(data: dict, n: int, seed: int) -> dict:
    """The first ``n`` samples of a seeded permutation of a tensor set (a small target set)."""
    total = int(data["labels"].numel())
    if not 1 <= n <= total:
        raise ValueError(
            f"finetune.n_samples {n} must be in [1, {total}] (the target's training size)."
        )
    idx = torch.randperm(total, generator=torch.Generator().manual_seed(seed))[:n]
    return {
        "images": data["images"][idx],
        "labels": data["labels"][idx],
        "latents": {k: v[idx] for k, v in data.get("latents", {}).items()},
        "meta": data["meta"],
    }


def finetune_models(
    checkpoints: dict[str, dict],
    probes: dict[str, dict],
    finetune_params: dict[str, Any],
    label: str,
    **targets: dict,
) -> pd.DataFrame:
    """Fine-tune every model from its probe on small subsets of each target (Appendix C.2)."""
    rows = []
    sizes = finetune_params.get("n_samples", [200])
    for key, checkpoint in checkpoints.items():
        seed = seed_of(key)
        config = train_config(finetune_params, seed, finetune_config(), "finetune")
        for target, data in targets.items():
            splits = data[key]
            for n in sizes:
                train = subset(splits["train"], int(n), seed)
                params = {
                    "model": label,
                    "target": target,
                    "seed": seed,
                    "n_samples": n,
                    **config.to_dict(),
                }
                with nested_run(
                    f"{label} | finetune on {target} ({n}) | {key}",
                    params,
                    {"stage": "finetune", "condition": label, "target": target, "seed": key},
                ) as run_id:
                    _, metrics = finetune(
                        checkpoint,
                        probes[key][target]["linear"],
                        train,
                        splits["val"],
                        splits["test"],
                        config,
                        run_id,
                    )
                rows.append(
                    {
                        "model": label.split(".")[-1],
                        "target": target,
                        "seed": seed,
                        "n_samples": n,
                        **{k: metrics[k] for k in ("train_acc", "val_acc", "test_acc")},
                    }
                )
    return pd.DataFrame(rows)
