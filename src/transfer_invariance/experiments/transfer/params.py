"""Typed parameter blocks of the transfer experiment (``conf/<env>/parameters_transfer.yml``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, NonNegativeInt, PositiveInt, field_validator, model_validator

from transfer_invariance.core import base_images
from transfer_invariance.core.cifar import check_cifar_available
from transfer_invariance.core.scenes import scene_max_classes
from transfer_invariance.core.transforms import TRANSFORM_NAMES
from transfer_invariance.pipelines.params import Block, base_images_of

FAMILIES = ("images", "random")
REFERENCE = "none"
# the kinds of data every model is measured on (one column of Table 2 each, with the real-world sets);
# see data.py for the table of sources
KINDS = ("in_distribution", "mild_ood", "strong_ood")
SYNTHETIC = ("objects", "other_objects", "patterns", "other_patterns")
PER_SEED = ("objects", "other_objects", "patterns")
SOURCE_OF_KIND = {
    "images": {"in_distribution": "objects", "mild_ood": "other_objects", "strong_ood": "patterns"},
    "random": {
        "in_distribution": "patterns",
        "mild_ood": "other_patterns",
        "strong_ood": "objects",
    },
}
RealWorld = Literal["scenes", "cifar10", "cifar100"]

# names in the reports
RELATIONS = ("Same", "Other", "None")
FAMILY_NAMES = {"images": "Image", "random": "Random"}
KIND_NAMES = {
    "in_distribution": "In-distribution",
    "mild_ood": "Mild OOD",
    "strong_ood": "Strong OOD",
    "scenes": "Scenes (CIFAR stand-in)",
    "cifar10": "CIFAR-10",
    "cifar100": "CIFAR-100",
}
VALUE = "sensitivity_l2"


class GridParams(Block):
    """What is trained and measured (read when the pipelines are registered: it shapes the DAG).

    ``types``: the transformations, one model per type and data family, each measured on every
    type; ``none`` is always trained as well, as the reference. ``real_world``: the real-world
    data sets (CIFAR-10, CIFAR-100, or the embedded scene stand-in), one column each.
    """

    types: list[str]
    real_world: Annotated[list[RealWorld], Field(min_length=1)] = ["scenes"]

    @field_validator("types")
    @classmethod
    def _known_types(cls, types: list[str]) -> list[str]:
        unknown = [t for t in types if t not in TRANSFORM_NAMES]
        if REFERENCE in types:
            raise ValueError(
                f"'{REFERENCE}' is always trained as the reference model; leave it out of the list"
            )
        if unknown:
            raise ValueError(
                f"unknown transformation(s) {unknown}; choose from {list(TRANSFORM_NAMES)}"
            )
        if len(types) < 2:
            raise ValueError(
                f"got {types}: give at least 2 transformation types (Table 2's 'Other' row is the "
                "mean of the other types' models)"
            )
        if len(set(types)) != len(types):
            raise ValueError(f"{types} lists a transformation twice")
        return types

    @field_validator("real_world")
    @classmethod
    def _unique_sources(cls, sources: list[str]) -> list[str]:
        if len(set(sources)) != len(sources):
            raise ValueError(f"{sources} lists a data set twice")
        return sources

    def models(self) -> tuple[str, ...]:
        """Every pretrained model's transformation: the types, then the ``none`` reference."""
        return (*self.types, REFERENCE)


class TransferDataParams(Block):
    """The pretraining data (per seed), the sizes of the pair sets and where real-world data is.

    Image models see ``n_objects`` objects drawn per seed (``objects_of_seed``); their mild-OOD
    data are ``n_objects`` other objects of the same draw. Random models see ``n_objects`` random
    patterns drawn per seed; their mild-OOD data are patterns of ``other_pattern_seed`` (positions
    after the first ``n_objects``, so they never coincide with a seed's own patterns).
    """

    n_objects: PositiveInt = 30
    n_train: PositiveInt = 4000
    n_val: PositiveInt = 150
    n_test: PositiveInt = 150
    image_size: Annotated[int, Field(ge=8)] = 32
    n_pairs: Annotated[int, Field(ge=2)] = 120
    other_pattern_seed: NonNegativeInt = 1_000_000
    scene_classes: Annotated[int, Field(ge=2)] = 10
    scene_seed: NonNegativeInt = 0
    cifar_root: str = "data/01_raw"
    download: bool = False

    @model_validator(mode="after")
    def _scene_classes(self) -> TransferDataParams:
        if self.scene_classes > scene_max_classes():
            raise ValueError(
                f"scene_classes = {self.scene_classes} but the scene stand-in has "
                f"{scene_max_classes()} classes"
            )
        return self

    def check_resources(self, parameters: dict[str, Any]) -> None:
        """The base images hold the objects and the other objects; the CIFAR archives exist."""
        base = base_images_of(parameters)
        available = len(base_images.list_object_files(base.source, base.base_dir))
        if 2 * self.n_objects > available:
            raise ValueError(
                f"n_objects = {self.n_objects} needs {2 * self.n_objects} objects (the pretraining "
                f"objects and as many others for the mild-OOD data) but the base images "
                f"(base_images.source = {base.source!r}) have {available}; lower n_objects"
            )
        grid = GridParams.model_validate(parameters["transfer"]["grid"])
        for source in grid.real_world:
            if source != "scenes":
                check_cifar_available(self.cifar_root, source, self.download)
                if self.image_size != 32:
                    raise ValueError(
                        f"image_size = {self.image_size} but {source} images are 32 px; the models "
                        "are measured on them, so set image_size: 32"
                    )
