"""Nodes making mismatch's data: the per-seed draw of the nested sets, the pretraining sets and
the targets.

``plan_sets`` draws each seed's order of types and writes, for every nested set T_k, the specs of
its pretraining set and of its target for every seed; the namespace of T_k renders its pretraining
set, and ``mismatch`` renders each target once (every model is probed on all of them).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from transfer_invariance.core.rendering import render_splits
from transfer_invariance.core.transforms import TRANSFORMS
from transfer_invariance.experiments.mismatch.params import GridParams, MismatchDataParams
from transfer_invariance.pipelines.common import seed_key
from transfer_invariance.pipelines.params import BaseImagesParams, RenderParams, Seeds


def plan_sets(
    design: GridParams, data: MismatchDataParams, seeds: Seeds, base_images: BaseImagesParams
) -> dict[str, dict[str, dict[str, Any]]]:
    """``{t<k>: {seed_<s>: {"transforms", "pretraining", "target"}}}``: for every nested set and
    seed, its types (the first k of the seed's order) and the specs of its two datasets."""
    out: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in design.set_names()}
    for seed in seeds:
        order = design.order(seed)
        for k, name in enumerate(design.set_names(), start=1):
            out[name][seed_key(seed)] = {
                "transforms": order[:k],
                **{
                    role: data.spec(f"{prefix}{name}", order[:k], role, seed, base_images)
                    for role, prefix in (("pretraining", ""), ("target", "target_"))
                },
            }
    return out


def types_table(design: GridParams, seeds: Seeds) -> pd.DataFrame:
    """The drawn order of each seed: one row per seed and position k (T_k adds that type)."""
    return pd.DataFrame(
        [
            {"seed": s, "k": k, "type": t, "category": TRANSFORMS[t].category}
            for s in seeds
            for k, t in enumerate(design.order(s), start=1)
        ]
    )


def _render(sets: dict[str, dict[str, Any]], role: str, render: RenderParams) -> dict[str, dict]:
    return {
        key: render_splits(entry[role], render.batch_size, render.progress, render.device)
        for key, entry in sets.items()
    }


def make_pretraining_data(sets: dict[str, dict[str, Any]], render: RenderParams) -> dict[str, dict]:
    """The pretraining set D(O, T_k) of every seed (train / val / test)."""
    return _render(sets, "pretraining", render)


def make_target_data(sets: dict[str, dict[str, Any]], render: RenderParams) -> dict[str, dict]:
    """The target D(O_target, T_j) of every seed (train / val / test for the linear probes)."""
    return _render(sets, "target", render)
