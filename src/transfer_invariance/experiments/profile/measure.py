"""Nodes building the profiled models and measuring them: the random-initialisation weights of
the example, the check every model passes before any pair is rendered, and the sensitivity of one
model to every type on one kind of data.

The score is the paper's L2 sensitivity (``core.invariance.sensitivity_l2``, eq. 1) of the
representation at the model's layer. Its precision over the pair sample is the standard error of
the mean pair distance, on the score's scale: ``se = s * sd(d_i) / (sqrt(n) * mean(d_i))`` with
``d_i`` the L2 distances of the n pairs (the reference distance is taken as fixed; see
``docs/profile.md``).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from transfer_invariance.core.invariance import (
    pair_representations,
    sensitivity_cosine,
    sensitivity_l2,
)
from transfer_invariance.core.tracking import log_metrics, nested_run, run_name, scope
from transfer_invariance.core.training import resolve_device
from transfer_invariance.datasets.atomic import save_tensors
from transfer_invariance.errors import ParameterError
from transfer_invariance.experiments.profile.params import GridParams, ProfileDataParams
from transfer_invariance.pipelines.params import InvarianceParams

logger = logging.getLogger(__name__)


def write_random_weights(grid: GridParams) -> dict[str, str]:
    """Write the state dict of every model with ``random_init`` to its ``weights`` file when the
    file is missing (an existing file must be that initialisation); ``{model: file}``."""
    written = {}
    for name, model in grid.models.items():
        if model.random_init is None:
            continue
        try:
            state_dict = model.random_weights()
        except ValueError as err:
            raise ParameterError(f"parameter 'profile.grid.models.{name}': {err}") from None
        file = Path(str(model.weights))
        if not file.exists():
            save_tensors(state_dict, file)
            logger.info(
                "Wrote %s: torchvision %s, random initialisation (seed %d), not trained",
                file,
                model.arch,
                model.random_init,
            )
        written[name] = str(file)
    return written


def check_models(
    grid: GridParams, random_weights: dict[str, str] | None = None, **checkpoints: dict
) -> dict[str, Any]:
    """Build every model and run one blank image through it, before any pair is rendered.

    ``checkpoints``: the stored checkpoints of the models named by a namespace (by model name);
    ``random_weights`` (``write_random_weights``'s output) only makes this node run after it.
    Returns each model's description under its name (``label``, ``source``, ``image_size``,
    ``layer``, ``feature_dim``, ``spec``), ``models`` (all of them, for the report) and ``sizes``
    (the distinct image sizes, the sizes the pairs are made at).
    """
    models = {}
    for name, spec in grid.models.items():
        try:
            size, width, layer = spec.check(checkpoints.get(name))
        except (ValueError, FileNotFoundError) as err:
            raise ParameterError(f"parameter 'profile.grid.models.{name}': {err}") from None
        models[name] = {
            "name": name,
            "label": spec.label or name,
            "source": spec.describe(),
            "random_init": spec.random_init is not None,
            "image_size": size,
            "layer": f"penultimate (input of {layer})" if spec.layer is None else layer,
            "feature_dim": width,
            "spec": spec,
        }
    sizes = sorted({m["image_size"] for m in models.values()})
    return {**models, "models": {n: _public(m) for n, m in models.items()}, "sizes": sizes}


def _public(model: dict[str, Any]) -> dict[str, Any]:
    """A model's description without its spec object (what the report reads)."""
    return {k: v for k, v in model.items() if k != "spec"}


def pair_scores(
    a: torch.Tensor, b: torch.Tensor, n_random_pairs: int, seed: int
) -> dict[str, float]:
    """L2 sensitivity, its standard error over the pairs, and the cosine sensitivity."""
    l2 = sensitivity_l2(a, b, n_random_pairs=n_random_pairs, seed=seed)
    distances = (a.double() - b.double()).norm(dim=1)
    mean = float(distances.mean())
    n = distances.numel()
    se = l2 * float(distances.std()) / (math.sqrt(n) * mean) if mean > 0 and n > 1 else 0.0
    return {
        "sensitivity_l2": l2,
        "se": se,
        "sensitivity_cosine": sensitivity_cosine(a, b, n_random_pairs=n_random_pairs, seed=seed),
    }


def sensitivities(
    representation: torch.nn.Module,
    image_size: int,
    invariance: InvarianceParams,
    seed: int,
    **pair_sets: dict,
) -> list[dict[str, Any]]:
    """The scores (``pair_scores``) of ``representation`` on every pair set (named
    ``<kind>__<type>``, keyed by image size) at ``image_size``: one row per set. Both members of
    a set go through the network in batches of ``invariance.batch_size``."""
    device = resolve_device(invariance.device)
    rows = []
    for name, by_size in pair_sets.items():
        pairs = by_size[f"size_{image_size}"]
        n = int(pairs["a"]["images"].shape[0])
        a, b = pair_representations(representation, pairs, invariance.batch_size, device)
        kind, _, transformation = name.partition("__")
        scores = pair_scores(a.cpu(), b.cpu(), invariance.n_random_pairs, seed)
        rows.append(
            {"kind": kind, "transformation": transformation, **scores, "n_pairs": n}
            | {"image_size": image_size}
        )
    return rows


def profile_sensitivity(
    model: dict[str, Any],
    invariance: InvarianceParams,
    data: ProfileDataParams,
    checkpoints: dict | None = None,
    **pair_sets: dict,
) -> pd.DataFrame:
    """The sensitivity of one model to every type on one kind of data (``pair_sets``, named
    ``<kind>__<type>``, each keyed by image size): one row per type, one nested MLflow run."""
    representation, size = model["spec"].representation(checkpoints)
    kind = next(iter(pair_sets)).partition("__")[0]
    params = {
        "model": model["name"],
        "source": model["source"],
        "kind": kind,
        "image_size": size,
        "layer": model["layer"],
        "n_pairs": data.n_pairs,
        **invariance.model_dump(),
    }
    tags = {"stage": "profile", "condition": scope(), "kind": kind}
    with nested_run(run_name(f"profile on {kind}"), params, tags) as run_id:
        rows = sensitivities(representation, size, invariance, data.seed, **pair_sets)
        log_metrics(
            run_id,
            {
                f"{column}/{row['transformation']}": row[column]
                for row in rows
                for column in ("sensitivity_l2", "se")
            },
        )
    return pd.DataFrame([{"model": model["name"], **row} for row in rows])
