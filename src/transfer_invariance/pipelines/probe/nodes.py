"""Thin nodes of the probe stage."""

from __future__ import annotations

from contextlib import ExitStack

import pandas as pd

from transfer_invariance.core.probe import ProbeJob, probe_many
from transfer_invariance.core.tracking import nested_run, run_name, scope
from transfer_invariance.core.training import resolve_device
from transfer_invariance.pipelines.common import seed_of
from transfer_invariance.pipelines.params import ProbeParams


def probe_models(
    checkpoints: dict[str, dict], probe_params: ProbeParams, **targets: dict
) -> tuple[pd.DataFrame, dict]:
    """Linear-probe each seed's model on each target (same seed's data); one nested run each.

    The probes of every seed and target that share their shape train as one batched problem
    (``core.probe.probe_many``, at most ``probe_params.max_batched`` at a time).
    Returns the metrics table (one row per model seed and target) and the probe heads.
    """
    jobs, cells = [], []
    with ExitStack() as runs:
        for key, checkpoint in checkpoints.items():
            seed = seed_of(key)
            config = probe_params.config(seed)
            cache: dict = {}  # targets sharing images (e.g. C+O with C or O labels) share them
            for target, data in targets.items():
                splits = data[key]
                params = {
                    "model": scope(),
                    "target": target,
                    "seed": seed,
                    "arch": checkpoint["arch"],
                    **config.to_dict(),
                    "device": str(resolve_device(config.device)),
                }
                tags = {"stage": "probe", "condition": scope(), "target": target, "seed": str(seed)}
                name = run_name(f"probe on {target} | seed {seed}")
                run_id = runs.enter_context(nested_run(name, params, tags))
                jobs.append(
                    ProbeJob(
                        checkpoint,
                        splits["train"],
                        splits["val"],
                        splits["test"],
                        config,
                        run_id,
                        cache,
                    )
                )
                cells.append((key, target, seed))
        results = probe_many(jobs, probe_params.max_batched, desc=run_name("probe"))
    rows, heads = [], {}
    for (key, target, seed), result in zip(cells, results, strict=True):
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
