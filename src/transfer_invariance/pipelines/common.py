"""Helpers shared by the stage nodes: seed keys and training configurations from parameters.

Stage artifacts are keyed by seed: ``{"seed_0": ..., "seed_1": ...}``, so the number of seeds is
a parameter and never changes the DAG.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from transfer_invariance.core.fingerprint import fingerprint
from transfer_invariance.core.training import TrainConfig

__all__ = ["bind", "fingerprint", "require_int", "seed_key", "seed_of", "train_config"]

TRAIN_FIELDS = set(TrainConfig.__dataclass_fields__) - {"seed"}


def require_int(value: Any, name: str, minimum: int = 1) -> int:
    """``value`` if it is an integer >= ``minimum`` (not a bool); otherwise a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return value


def seed_key(seed: int) -> str:
    return f"seed_{seed}"


def seed_of(key: str) -> int:
    """The integer seed of a ``seed_<n>`` key."""
    prefix, _, number = key.partition("_")
    if prefix != "seed" or not number.isdigit():
        raise ValueError(f"expected a key 'seed_<n>', got {key!r}")
    return int(number)


def train_config(raw: Mapping[str, Any], seed: int, base: TrainConfig, what: str) -> TrainConfig:
    """A TrainConfig from a parameters mapping; unknown keys name the parameter block."""
    unknown = set(raw) - TRAIN_FIELDS - {"arch", "width", "n_samples"}
    if unknown:
        raise ValueError(
            f"{what}: unknown parameter(s) {sorted(unknown)}; known: {sorted(TRAIN_FIELDS)}."
        )
    return base.replace(seed=seed, **{k: v for k, v in raw.items() if k in TRAIN_FIELDS})


def bind(func: Callable[..., Any], **bound: Any) -> Callable[..., Any]:
    """``func`` with some keyword arguments fixed, keeping its name and the remaining signature.

    Used to give a template node the condition it serves (e.g. for MLflow run names).
    """
    sig = inspect.signature(func)
    remaining = [p for name, p in sig.parameters.items() if name not in bound]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs, **bound)

    wrapper.__signature__ = sig.replace(parameters=remaining)  # type: ignore[attr-defined]
    del wrapper.__wrapped__
    return wrapper
