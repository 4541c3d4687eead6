"""Typed parameter blocks of the harm experiment (``conf/<env>/parameters_harm.yml``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, NonNegativeInt, PositiveInt, model_validator

from transfer_invariance.core import base_images
from transfer_invariance.core.cifar import check_cifar_available
from transfer_invariance.core.scenes import scene_max_classes
from transfer_invariance.pipelines.params import Block, Seeds, base_images_of

Unit = Annotated[float, Field(ge=0.0, le=1.0)]

# the four pretraining conditions of Table 1 (one namespace harm.<condition> each)
CONDITIONS = ("c_c", "co_c", "co_o", "o_o")
CONDITION_NAMES = {"c_c": "C/C", "co_c": "C+O/C", "co_o": "C+O/O", "o_o": "O/O"}


class HarmDataParams(Block):
    """C (CIFAR-10 or the embedded scene stand-in) and O (small objects from ``base_images``)."""

    c_source: Literal["scenes", "cifar10"] = "scenes"
    cifar_root: str = "data/01_raw"
    download: bool = False
    n_classes: Annotated[int, Field(ge=2)] = 10
    c_seed: NonNegativeInt = 0
    n_train: PositiveInt = 1500
    n_val: PositiveInt = 400
    n_test: PositiveInt = 600
    n_objects: PositiveInt = 10
    object_offset: NonNegativeInt = 0
    object_size: Annotated[int, Field(ge=1, le=32)] = 16
    n_pairs: PositiveInt = 500

    @model_validator(mode="after")
    def _scene_classes(self) -> HarmDataParams:
        if self.c_source == "scenes" and self.n_classes > scene_max_classes():
            raise ValueError(
                f"n_classes = {self.n_classes} but the scene stand-in has {scene_max_classes()} classes"
            )
        return self

    def check_resources(self, parameters: dict[str, Any]) -> None:
        """The CIFAR archive is there (for cifar10) and the base images hold enough objects."""
        if self.c_source == "cifar10":
            check_cifar_available(self.cifar_root, "cifar10", self.download)
        base = base_images_of(parameters)
        available = len(base_images.list_object_files(base.source, base.base_dir))
        if self.object_offset + self.n_objects > available:
            raise ValueError(
                f"n_objects = {self.n_objects} (from object_offset {self.object_offset}) but the "
                f"base images (base_images.source = {base.source!r}) have {available} objects."
            )


class ConditionParams(Block):
    """A pretraining set: which label (C or O), whether and where objects are pasted, on what.

    ``beta``: probability that an object is pasted (default 1 with objects, 0 without);
    ``rho``: probability that the object is the one assigned to the C class (None = independent).
    """

    label: Literal["c", "o"]
    objects: bool = True
    background: Literal["c", "black"] = "c"
    placement: Literal["uniform", "upper_right"] = "uniform"
    beta: Unit | None = None
    rho: Unit | None = None

    @property
    def paste_probability(self) -> float:
        if self.beta is not None:
            return self.beta
        return 1.0 if self.objects else 0.0


class GridParams(Block):
    """Appendix C.3: the rho (relevance) and beta (availability) grids, objects upper right."""

    rhos: Annotated[list[Unit], Field(min_length=1)]
    betas: list[Unit] = []
    seeds: Seeds = [0, 1]
    label_sources: Annotated[list[Literal["c", "o"]], Field(min_length=1)] = ["c"]

    def points(self) -> dict[str, ConditionParams]:
        """Every grid point by name (``rho_0_50_c``, ``beta_0_20_c``, ...): one pretraining set each."""
        out = {}
        for label in self.label_sources:
            for axis, values in (("rho", self.rhos), ("beta", self.betas)):
                for v in values:
                    out[point_name(axis, v, label)] = ConditionParams(
                        label=label, placement="upper_right", **{axis: v}
                    )
        return out


def point_name(axis: str, value: float, label: str) -> str:
    """The namespace of a C.3 grid point: ``rho_0_85_c`` is rho = 0.85, pretrained to predict C."""
    return f"{axis}_{value:.2f}_{label}".replace(".", "_")
