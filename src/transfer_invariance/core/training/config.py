"""Training hyper-parameters: ``TrainConfig``, the paper's default recipes and the lr schedules."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from ..models import MODELS

LR_SCHEDULES = ("constant", "linear_to_zero", "warmup_cosine")
OPTIMIZERS = ("adam", "adamw", "sgd")
NORMALISATIONS = ("dataset", "fixed")
FIXED_MEAN_STD = 0.5  # the original code's normalisation of every Transforms-2D and C+O image


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training (pretraining, probe or fine-tuning).

    ``lr_schedule`` is applied per optimisation step: ``constant``; ``linear_to_zero`` (lr decays
    linearly to 0 over all steps); ``warmup_cosine`` (linear warm-up over ``warmup_epochs`` epochs,
    then cosine decay from ``lr`` to ``cosine_final_lr`` (0 if None)).
    ``device``: "auto" (CUDA if available, else CPU), "cpu", "cuda", "cuda:1", ...
    ``num_threads``: torch CPU threads during the training (restored afterwards); None = unchanged.
    ``progress``: show one progress line per training (epochs, validation accuracy, loss).
    ``normalisation`` (pretraining): "dataset" normalises inputs with the training images' own
    per-channel mean and std; "fixed" with mean 0.5, std 0.5 (the original code's). Either way
    the values travel in the checkpoint, so probes and fine-tunings see the same scaling.
    """

    epochs: int = 50
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adam"
    lr_schedule: str = "constant"
    warmup_epochs: int = 0
    cosine_final_lr: float | None = None
    seed: int = 0
    device: str = "auto"
    num_threads: int | None = None
    progress: bool = True
    normalisation: str = "dataset"

    def __post_init__(self) -> None:
        def bad(field: str, why: str) -> ValueError:
            return ValueError(f"TrainConfig.{field}={getattr(self, field)!r}: {why}")

        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise bad("epochs", "must be an integer >= 1")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise bad("batch_size", "must be an integer >= 1")
        if not self.lr > 0:
            raise bad("lr", "must be > 0")
        if self.weight_decay < 0:
            raise bad("weight_decay", "must be >= 0")
        if self.optimizer not in OPTIMIZERS:
            raise bad("optimizer", f"must be one of {OPTIMIZERS}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise bad("lr_schedule", f"must be one of {LR_SCHEDULES}")
        if not isinstance(self.warmup_epochs, int) or self.warmup_epochs < 0:
            raise bad("warmup_epochs", "must be an integer >= 0")
        if self.cosine_final_lr is not None and not 0 <= self.cosine_final_lr <= self.lr:
            raise bad("cosine_final_lr", "must be None or in [0, lr]")
        if not isinstance(self.seed, int):
            raise bad("seed", "must be an integer")
        if not isinstance(self.device, str) or not self.device:
            raise bad("device", "must be 'auto', 'cpu', 'cuda' or 'cuda:<index>'")
        if self.normalisation not in NORMALISATIONS:
            raise bad("normalisation", f"must be one of {NORMALISATIONS}")
        if self.num_threads is not None and (
            not isinstance(self.num_threads, int) or self.num_threads < 1
        ):
            raise bad("num_threads", "must be None or an integer >= 1")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)


def default_config_for(model_name: str, **overrides: Any) -> TrainConfig:
    """The pretraining config of ``model_name``, with ``overrides`` applied.

    The paper's recipe: CNNs use Adam with a constant lr of 1e-3; the ViT uses Adam with 5 warm-up
    epochs, then cosine decay of the lr from 1e-3 to 1e-5, and weight decay 1e-5.
    """
    if model_name not in MODELS:
        raise ValueError(f"unknown model name {model_name!r}; known names: {sorted(MODELS)}")
    base = TrainConfig()
    if model_name == "vit":
        base = base.replace(
            lr_schedule="warmup_cosine", warmup_epochs=5, cosine_final_lr=1e-5, weight_decay=1e-5
        )
    return base.replace(**overrides)


def lr_factor(config: TrainConfig, step: int, total_steps: int, steps_per_epoch: int) -> float:
    """Multiplier of ``config.lr`` at optimisation step ``step`` (0-based) out of ``total_steps``."""
    if config.lr_schedule == "constant":
        return 1.0
    if config.lr_schedule == "linear_to_zero":
        return max(0.0, 1.0 - step / max(1, total_steps))
    warmup = min(config.warmup_epochs * steps_per_epoch, total_steps)
    if step < warmup:
        return (step + 1) / warmup
    final = (config.cosine_final_lr or 0.0) / config.lr
    progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
    return final + (1.0 - final) * 0.5 * (1.0 + math.cos(math.pi * progress))
