"""Thin nodes of the finetune stage."""

from __future__ import annotations

import pandas as pd
import torch

from transfer_invariance.core.finetune import finetune
from transfer_invariance.core.tracking import nested_run, run_name, scope
from transfer_invariance.pipelines.common import seed_of
from transfer_invariance.pipelines.params import FinetuneParams


def subset(data: dict, n: int, seed: int) -> dict:
    """The first ``n`` samples of a seeded permutation of a tensor set (a small target set)."""
    total = int(data["labels"].numel())
    if not 1 <= n <= total:
        raise ValueError(
            f"finetune n_samples {n} must be in [1, {total}] (the target's training size)."
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
    finetune_params: FinetuneParams,
    **targets: dict,
) -> pd.DataFrame:
    """Fine-tune every model from its probe on small subsets of each target (Appendix C.2)."""
    rows = []
    for key, checkpoint in checkpoints.items():
        seed = seed_of(key)
        config = finetune_params.config(seed)
        for target, data in targets.items():
            splits = data[key]
            for n in finetune_params.n_samples:
                train = subset(splits["train"], n, seed)
                name = run_name(f"finetune on {target} ({n}) | {key}")
                params = {
                    "model": scope(),
                    "target": target,
                    "seed": seed,
                    "n_samples": n,
                    **config.to_dict(),
                }
                tags = {"stage": "finetune", "condition": scope(), "target": target, "seed": key}
                with nested_run(name, params, tags) as run_id:
                    _, metrics = finetune(
                        checkpoint,
                        probes[key][target]["linear"],
                        train,
                        splits["val"],
                        splits["test"],
                        config,
                        run_id,
                        desc=name,
                    )
                rows.append(
                    {
                        "target": target,
                        "seed": seed,
                        "n_samples": n,
                        **{k: metrics[k] for k in ("train_acc", "val_acc", "test_acc")},
                    }
                )
    return pd.DataFrame(rows)
