"""Thin nodes of the finetune stage."""

from __future__ import annotations

import pandas as pd

from transfer_invariance.core.finetune import finetune
from transfer_invariance.core.probe import probe
from transfer_invariance.core.tensor_sets import subset
from transfer_invariance.core.tracking import nested_run, run_name, scope
from transfer_invariance.core.training import resolve_device
from transfer_invariance.pipelines.common import seed_of
from transfer_invariance.pipelines.params import FinetuneParams


def finetune_models(
    checkpoints: dict[str, dict], finetune_params: FinetuneParams, **targets: dict
) -> pd.DataFrame:
    """Fine-tune every model fully on small subsets of each target (Appendix C.2).

    For each size ``n`` the subset is the seeded ``subset(train, n, seed)``; a linear probe on the
    frozen backbone is trained on that subset only (``FinetuneParams.start_probe_config``) and the
    whole network is then fine-tuned from it on the same subset, so a small target set never sees
    the rest of the target's training split. Validation and test are the target's full splits.
    One nested MLflow run per fine-tuning holds both (the probe's metrics prefixed ``probe/``).

    Returns one row per model seed, target and size, with the starting probe's accuracies
    (``probe_*_acc``) next to the fine-tuned ones.
    """
    rows = []
    for key, checkpoint in checkpoints.items():
        seed = seed_of(key)
        config = finetune_params.config(seed)
        probe_cfg = finetune_params.start_probe_config(seed)
        cache: dict = {}  # representations of the val/test splits are shared by every size
        for target, data in targets.items():
            splits = data[key]
            for n in finetune_params.n_samples:
                train = subset(splits["train"], n, seed)
                name = run_name(f"finetune on {target} ({n}) | seed {seed}")
                params = {
                    "model": scope(),
                    "target": target,
                    "seed": seed,
                    "n_samples": n,
                    **config.to_dict(),
                    "device": str(resolve_device(config.device)),
                    "probe": probe_cfg.to_dict(),
                }
                tags = {
                    "stage": "finetune",
                    "condition": scope(),
                    "target": target,
                    "seed": str(seed),
                }
                with nested_run(name, params, tags) as run_id:
                    start = probe(
                        checkpoint,
                        train,
                        splits["val"],
                        splits["test"],
                        probe_cfg,
                        run_id,
                        cache,
                        desc=f"{name} | probe",
                    )
                    _, metrics = finetune(
                        checkpoint,
                        start["linear"],
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
                        **{f"probe_{k}": start[k] for k in ("train_acc", "val_acc", "test_acc")},
                    }
                )
    return pd.DataFrame(rows)
