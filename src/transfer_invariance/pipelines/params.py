"""Typed parameter blocks of the stage pipelines (pydantic models).

A node that takes a block declares its type (``training: TrainingParams``); Kedro then validates the
YAML block and hands the node a typed object before the run starts (Kedro's parameter validation):
a wrong type, an out-of-range value or an unknown key fails at once with the parameter's full name,
the value and what is allowed. Blocks whose check needs the file system (base images, archives)
also define ``check_resources(parameters)``, which ``hooks.ParameterCheckHook`` calls before the
first node runs.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    model_validator,
)

from transfer_invariance.core import base_images
from transfer_invariance.core.finetune import finetune_config
from transfer_invariance.core.models import MODELS
from transfer_invariance.core.probe import probe_config
from transfer_invariance.core.rendering import DatasetSpec, parse_spec
from transfer_invariance.core.training import (
    LR_SCHEDULES,
    NORMALISATIONS,
    OPTIMIZERS,
    TrainConfig,
)
from transfer_invariance.core.training import default_config_for as _default_config_for

_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def _check_device(value: str) -> str:
    if not _DEVICE.match(value):
        raise ValueError(f"must be 'auto', 'cpu', 'cuda' or 'cuda:<index>', got {value!r}")
    if value.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ValueError(
                f"{value!r} asks for a GPU but this machine has no CUDA device; use 'auto' or 'cpu'"
            )
        index = int(value.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise ValueError(
                f"{value!r}: this machine has {torch.cuda.device_count()} CUDA device(s)"
            )
    return value


Device = Annotated[str, AfterValidator(_check_device)]
Seeds = Annotated[list[NonNegativeInt], Field(min_length=1)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class Block(BaseModel):
    """A parameter block: unknown keys and wrong types are errors, values are read-only."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# ------------------------------------------------------------------------------- data generation
class BaseImagesParams(Block):
    """Where objects and background photos come from (``base_images``), for every pipeline."""

    source: Literal["embedded", "si_score"] = "embedded"
    base_dir: str | None = None

    def check_resources(self, parameters: dict[str, Any]) -> None:
        base_images.list_object_files(self.source, self.base_dir)
        base_images.list_photo_files(self.source, self.base_dir)


def base_images_of(parameters: dict[str, Any]) -> BaseImagesParams:
    """The run's ``base_images`` block (typed, or as written), or the default (embedded images)."""
    base = parameters.get("base_images") or BaseImagesParams()
    return BaseImagesParams.model_validate(base) if isinstance(base, dict) else base


class RenderParams(Block):
    """How datasets are rendered (``render``): batch size, device and progress bars.

    ``device``: where the draws and transformations are computed ("auto": CUDA when there is one;
    GPU pixels may differ from CPU ones by one uint8 level, the draws are the same).
    """

    batch_size: PositiveInt = 1024
    device: Device = "auto"
    progress: bool = True


class GalleryParams(Block):
    """The sample gallery drawn for each dataset (``gallery``)."""

    samples_per_class: PositiveInt = 6
    max_classes: PositiveInt = 10


class DatasetParams(Block):
    """A Transforms-2D dataset D(O, T): objects, transformations (in order), split sizes, seed.

    ``objects: k`` takes positions ``object_offset .. object_offset + k`` of a permutation of all
    base objects seeded by ``object_seed``: datasets with the same ``object_seed`` and
    non-overlapping ranges have disjoint objects. A list of class names picks those classes.
    ``pattern_seed`` (``data: random``): the patterns' own seed (default: ``seed``).
    """

    # the defaults are the core's (DatasetSpec); the types add the allowed ranges
    transforms: list[str] = list(DatasetSpec.transforms)
    objects: PositiveInt | list[str] = DatasetSpec.objects
    object_offset: NonNegativeInt = DatasetSpec.object_offset
    object_seed: NonNegativeInt = DatasetSpec.object_seed
    n_train: PositiveInt = DatasetSpec.n_train
    n_val: PositiveInt = DatasetSpec.n_val
    n_test: PositiveInt = DatasetSpec.n_test
    seed: NonNegativeInt = DatasetSpec.seed
    pattern_seed: NonNegativeInt | None = DatasetSpec.pattern_seed
    image_size: Annotated[int, Field(ge=8)] = DatasetSpec.image_size
    data: Literal["images", "random"] = DatasetSpec.data
    n_backgrounds: PositiveInt = DatasetSpec.n_backgrounds
    object_fill: Annotated[float, Field(gt=0, le=1)] = DatasetSpec.object_fill
    transform_params: dict[str, dict[str, float]] = {}

    @model_validator(mode="after")
    def _valid_transforms(self) -> DatasetParams:
        self.spec("dataset")  # unknown transformation or parameter, impossible sizes
        return self

    def spec(self, name: str, base: BaseImagesParams | None = None) -> DatasetSpec:
        """The core's dataset spec, with the base images of ``base`` (default: embedded)."""
        base = base or BaseImagesParams()
        return parse_spec(name, {**self.model_dump(), **base.model_dump()})

    def check_resources(self, parameters: dict[str, Any]) -> None:
        self.spec("dataset", base_images_of(parameters))


class PairsParams(Block):
    """Invariance pairs of a dataset: ``n`` pairs from one split (same content, two draws)."""

    split: Literal["train", "val", "test"] = "test"
    n: PositiveInt


# -------------------------------------------------------------------------------------- training
class _Recipe(Block):
    """Fields shared by every training; unset ones keep the stage's own recipe."""

    epochs: PositiveInt | None = None
    batch_size: PositiveInt | None = None
    lr: PositiveFloat | None = None
    weight_decay: NonNegativeFloat | None = None
    optimizer: Literal[OPTIMIZERS] | None = None  # type: ignore[valid-type]
    lr_schedule: Literal[LR_SCHEDULES] | None = None  # type: ignore[valid-type]
    warmup_epochs: NonNegativeInt | None = None
    cosine_final_lr: NonNegativeFloat | None = None
    device: Device = "auto"
    num_threads: PositiveInt | None = None
    progress: bool = True

    def _config(self, base: TrainConfig, seed: int) -> TrainConfig:
        fields = set(TrainConfig.__dataclass_fields__)
        given = {k: v for k, v in self.model_dump(exclude_unset=True).items() if k in fields}
        return base.replace(**{k: v for k, v in given.items() if v is not None}, seed=seed)

    def as_dict(self) -> dict[str, Any]:
        """The block as written (for fingerprints and MLflow)."""
        return self.model_dump(exclude_unset=True)

    @model_validator(mode="after")
    def _valid_config(self) -> _Recipe:
        self.config(0)  # cross-field rules, e.g. cosine_final_lr <= lr
        return self


class TrainingParams(_Recipe):
    """A pretraining: architecture, width and the training recipe (defaults: the paper's).

    ``normalisation``: ``dataset`` (the training images' own per-channel mean and std) or
    ``fixed`` (mean 0.5, std 0.5, as the original code); see ``docs/deviations.md``.
    """

    arch: Literal[tuple(MODELS)] = "resnet18"  # type: ignore[valid-type]
    width: PositiveFloat = 1.0
    normalisation: Literal[NORMALISATIONS] = "dataset"  # type: ignore[valid-type]

    def config(self, seed: int) -> TrainConfig:
        return self._config(_default_config_for(self.arch), seed)


class ProbeParams(_Recipe):
    """A linear probe on a frozen backbone (defaults: Adam, lr 1e-3, 200 epochs).

    ``max_batched``: at most this many probes of one node that share their shape (feature width,
    sample counts, classes, recipe up to the seed) train as one batched problem; 1 trains them
    one after the other. Either way each probe's result is its own, up to float rounding. The
    node holds the representations of all its probes on the device, about probes x (train + val +
    test samples) x feature width x 4 bytes (mismatch at the paper's size: 80 x 70,000 x 512 x 4
    = 11.5 GB), plus one batched copy of at most ``max_batched`` probes' train and val sets.
    """

    max_batched: PositiveInt = 64

    def config(self, seed: int) -> TrainConfig:
        return self._config(probe_config(), seed)


class FinetuneParams(_Recipe):
    """Full fine-tuning on ``n_samples`` target samples (one run per size), each starting from a
    linear probe trained on the same samples for ``probe_epochs`` epochs.

    The starting probe keeps the probe recipe's optimisation (``probe_config``: Adam, lr 1e-3,
    constant lr, no weight decay) with ``probe_epochs`` epochs; it shares this block's batch size,
    seed, device, threads and progress. ``lr``, ``optimizer``, ``lr_schedule``, ``weight_decay``
    etc. of this block are those of the fine-tuning of the whole network only.
    """

    n_samples: Annotated[list[PositiveInt], Field(min_length=1)] = [200]
    probe_epochs: PositiveInt = 100

    def config(self, seed: int) -> TrainConfig:
        return self._config(finetune_config(), seed)

    def start_probe_config(self, seed: int) -> TrainConfig:
        """The recipe of the starting probe (see the class docstring)."""
        tuning = self.config(seed)
        shared = ("batch_size", "seed", "device", "num_threads", "progress")
        return probe_config(epochs=self.probe_epochs, **{k: getattr(tuning, k) for k in shared})


class InvarianceParams(Block):
    """The sensitivity score: random pairs for the normaliser, batch size, device."""

    n_random_pairs: PositiveInt = 10000
    batch_size: PositiveInt = 512
    device: Device = "auto"


# ---------------------------------------------------------------------------------------- report
class TableParams(Block):
    """One report table: mean ± sd over seeds of ``value`` by ``rows`` x ``columns`` of the
    metrics of one stage (``metrics``: probe, finetune or measure_invariance)."""

    metrics: Literal["probe", "finetune", "measure_invariance"]
    rows: str
    columns: str
    value: str
    scale: float = 1.0
    format: str = "{:.1f}"
    title: str | None = None
    row_order: list[str] | None = None
    column_order: list[str] | None = None
