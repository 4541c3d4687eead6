"""What the stage pipelines share: the seed-keyed layout of their artifacts.

Stage artifacts are keyed by seed, ``{"seed_0": ..., "seed_1": ...}``, so the number of seeds is a
parameter and never changes the DAG.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kedro.pipeline import Pipeline, node

from transfer_invariance.pipelines.params import Seeds

__all__ = [
    "key_by_seed",
    "model_template",
    "on_targets",
    "seed_key",
    "seed_of",
    "seeded",
    "target_data",
]

SPLITS = ("train", "val", "test")


def seed_key(seed: int) -> str:
    return f"seed_{seed}"


def seed_of(key: str) -> int:
    """The integer seed of a ``seed_<n>`` key."""
    prefix, _, number = key.partition("_")
    if prefix != "seed" or not number.isdigit():
        raise ValueError(f"expected a key 'seed_<n>', got {key!r}")
    return int(number)


def key_by_seed(
    train: dict[str, Any], val: dict[str, Any], test: dict[str, Any], seeds: Seeds
) -> dict[str, dict]:
    """The splits of one dataset in the stage layout ``{"seed_<s>": {train, val, test}}``.

    A rendered dataset is the same for every seed; the seed varies the trainings that use it.
    """
    return {seed_key(s): {"train": train, "val": val, "test": test} for s in seeds}


def seeded(dataset: str, output: str) -> Pipeline:
    """``output`` = the stored splits of ``generate_data.<dataset>``, keyed by ``pretrain.seeds``.

    Meant to be composed into a namespaced stage pipeline: the splits and the seeds stay global.
    """
    local = [f"{dataset}_{split}" for split in SPLITS]
    return Pipeline(
        [node(key_by_seed, [*local, "params:seeds"], output, name=f"key_{dataset}_by_seed")],
        inputs={
            name: f"generate_data.{dataset}.{split}"
            for name, split in zip(local, SPLITS, strict=True)
        },
        parameters={"params:seeds": "params:pretrain.seeds"},
    )


def model_template(
    func: Callable[..., Any],
    settings: tuple[str, str],
    outputs: str | list[str],
    sets: Mapping[str, str],
) -> Pipeline:
    """A stage template of one node, named after ``func``, applying it to the models of
    ``checkpoints``: ``settings`` = (its argument, the parameter it reads), ``sets`` = {argument:
    dataset}."""
    argument, parameter = settings
    inputs = {"checkpoints": "checkpoints", argument: parameter, **sets}
    return Pipeline([node(func, inputs, outputs, name=func.__name__)])


def target_data(targets: Sequence[str]) -> dict[str, str]:
    """A template's target arguments: each target reads its dataset ``<target>_data``."""
    return {t: f"{t}_data" for t in targets}


def on_targets(
    stage: str, model: str, targets: list[str], template: Pipeline, inputs: dict[str, str]
) -> Pipeline:
    """A study stage that uses ``model`` on the stored ``targets``: ``<stage>.<model>``.

    ``template`` reads each target as ``<target>_data`` (keyed by seed) and its settings as
    ``params:<stage>`` (= ``<stage>.settings``); ``inputs`` maps its other inputs to stored artifacts.
    """
    return Pipeline(
        sum((seeded(t, f"{t}_data") for t in targets), Pipeline([])) + template,
        namespace=f"{stage}.{model}",
        inputs={
            **inputs,
            **{f"generate_data.{t}.{s}": f"generate_data.{t}.{s}" for t in targets for s in SPLITS},
        },
        parameters={
            "params:pretrain.seeds": "params:pretrain.seeds",
            f"params:{stage}": f"params:{stage}.settings",
        },
    )
