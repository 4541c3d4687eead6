"""Project hooks: check every parameter block a run uses before any node starts.

Bad input (an unknown transformation or architecture, zero epochs, impossible sizes, a missing base
image folder or dataset archive) fails here, before rendering or training, with the parameter named.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.pipeline import Pipeline

from transfer_invariance.core.finetune import finetune_config
from transfer_invariance.core.probe import probe_config
from transfer_invariance.core.rendering import parse_spec
from transfer_invariance.core.training import default_config_for
from transfer_invariance.pipelines.common import require_int, train_config


def check_training(value: dict[str, Any], params: dict[str, Any]) -> None:
    train_config(value, 0, default_config_for(value.get("arch", "resnet18")), "training")
    width = value.get("width", 1.0)
    if isinstance(width, bool) or not isinstance(width, int | float) or width <= 0:
        raise ValueError(f"width must be a number > 0, got {width!r}.")


def check_probe(value: dict[str, Any], params: dict[str, Any]) -> None:
    train_config(value, 0, probe_config(), "probe")


def check_finetune(value: dict[str, Any], params: dict[str, Any]) -> None:
    train_config(value, 0, finetune_config(), "finetune")
    sizes = value.get("n_samples", [200])
    if (
        not isinstance(sizes, list)
        or not sizes
        or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in sizes)
    ):
        raise ValueError(f"n_samples must be a non-empty list of integers >= 1, got {sizes!r}.")


def check_dataset(value: dict[str, Any], params: dict[str, Any], name: str = "dataset") -> None:
    parse_spec(name, {**params.get("base_images", {}), **value})


def check_invariance(value: dict[str, Any], params: dict[str, Any]) -> None:
    require_int(value.get("n_random_pairs", 10000), "n_random_pairs")


def check_pairs(value: dict[str, Any], params: dict[str, Any]) -> None:
    require_int(value.get("n"), "n")
    split = value.get("split", "test")
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be train, val or test, got {split!r}.")


def check_seeds(value: Any, params: dict[str, Any]) -> None:
    if (
        not isinstance(value, list)
        or not value
        or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in value)
    ):
        raise ValueError(f"seeds must be a non-empty list of integers >= 0, got {value!r}.")


CHECKS: dict[str, Callable[[Any, dict[str, Any]], None]] = {
    "training": check_training,
    "probe": check_probe,
    "finetune": check_finetune,
    "dataset": check_dataset,
    "invariance": check_invariance,
    "pairs": check_pairs,
    "seeds": check_seeds,
}


def register_check(suffix: str, check: Callable[[Any, dict[str, Any]], None]) -> None:
    """Experiments add checks for their own parameter blocks (matched on the last name part)."""
    CHECKS[suffix] = check


class ParameterCheckHook:
    """Runs the checks of every ``params:`` input of the pipeline about to run."""

    @hook_impl
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: Any
    ) -> None:
        params = catalog.load("parameters")
        for name in sorted(pipeline.inputs()):
            if not name.startswith("params:"):
                continue
            key = name.removeprefix("params:")
            parts = key.split(".")
            check = CHECKS.get(parts[-1])
            if check is None or "tables" in parts[:-1]:  # report table specs are not stage blocks
                continue
            try:
                check(catalog.load(name), params)
            except (ValueError, FileNotFoundError) as err:
                raise type(err)(f"parameter '{key}': {err}") from err
