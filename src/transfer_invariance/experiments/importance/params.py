"""Typed parameter blocks of the importance experiment (``conf/<env>/parameters_importance.yml``).

The grid: two invariance conditions (``same``: the target's transformations, ``different``: a
disjoint draw) x pretraining points. A point is the reference configuration with one factor changed
(pretraining samples, architecture, class relationship); the reference itself is one point, trained
once and shared by every factor. The fourth factor, the target's probe samples, re-probes the
reference models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, PositiveInt, ValidationError, model_validator

from transfer_invariance.core import base_images
from transfer_invariance.core.cifar import check_cifar_available
from transfer_invariance.core.models import MODELS
from transfer_invariance.core.scenes import scene_max_classes
from transfer_invariance.core.transforms import TRANSFORMS
from transfer_invariance.errors import ParameterError
from transfer_invariance.pipelines.params import (
    Block,
    FinetuneParams,
    ProbeParams,
    Seeds,
    TrainingParams,
    base_images_of,
)

INVARIANCES = ("same", "different")
CATEGORIES = ("geometric", "photometric", "corruption")
RELATIONSHIPS = ("subset", "same", "disjoint", "superset")
FACTORS = ("pretrain_samples", "arch", "classes", "probe_samples")
FACTOR_NAMES = {
    "pretrain_samples": "pretraining samples",
    "arch": "architecture",
    "classes": "class relationship",
    "probe_samples": "target (probe) samples",
}
Arch = Literal[tuple(MODELS)]  # type: ignore[valid-type]
Relationship = Literal[RELATIONSHIPS]  # type: ignore[valid-type]


def check_exclude(exclude: list[str]) -> None:
    """Known names, and two types left per category (one for same, one for different)."""
    unknown = sorted(set(exclude) - set(TRANSFORMS))
    if unknown:
        raise ValueError(
            f"exclude: unknown transformation(s) {unknown}; known: {sorted(TRANSFORMS)}"
        )
    for category in CATEGORIES:
        left = [n for n, t in TRANSFORMS.items() if t.category == category and n not in exclude]
        if len(left) < 2:
            raise ValueError(
                f"exclude leaves {len(left)} {category} transformation(s) ({left}); the same and "
                "different conditions need two distinct types per category"
            )


def check_subset(subset_size: int, n_target: int, name: str) -> None:
    if subset_size > n_target:
        raise ValueError(f"subset_size = {subset_size} exceeds {name} = {n_target}")


class ImportanceDataParams(Block):
    """The Transforms-2D data of every seed: objects split into target and other, splits, sizes.

    ``n_target_objects`` objects (the target task's classes) and ``n_other_objects`` further ones
    are drawn per seed from the base objects. The class relationship of a pretraining set to the
    target: ``subset`` (the first ``subset_size`` target objects), ``same`` (the target objects),
    ``disjoint`` (the other objects) or ``superset`` (target and other objects).
    """

    n_target_objects: Annotated[int, Field(ge=2)] = 30
    n_other_objects: Annotated[int, Field(ge=2)] = 30
    subset_size: Annotated[int, Field(ge=2)] = 10
    exclude: list[str] = []
    image_size: Annotated[int, Field(ge=8)] = 32
    n_val: PositiveInt = 500
    n_test: PositiveInt = 1000
    target_n_train: PositiveInt = 2000

    @model_validator(mode="after")
    def _check(self) -> ImportanceDataParams:
        check_exclude(self.exclude)
        check_subset(self.subset_size, self.n_target_objects, "n_target_objects")
        return self

    def check_resources(self, parameters: dict[str, Any]) -> None:
        """The base images hold the target and other objects (the superset needs both)."""
        base = base_images_of(parameters)
        available = len(base_images.list_object_files(base.source, base.base_dir))
        needed = self.n_target_objects + self.n_other_objects
        if needed > available:
            raise ValueError(
                f"n_target_objects + n_other_objects = {needed} but the base images "
                f"(base_images.source = {base.source!r}) have {available} objects; lower them."
            )


class RealWorldDataParams(Block):
    """A real-world dataset whose classes are split per seed into target and other classes, with
    the transformations as whole-image augmentations (drawn afresh per epoch for pretraining,
    one fixed draw for the evaluation sets and the probe's target).

    ``dataset``: ``cifar10`` / ``cifar100`` (archives under ``cifar_root``) or ``scenes`` (the
    embedded natural-scene stand-in, offline).
    """

    dataset: Literal["cifar10", "cifar100", "scenes"]
    cifar_root: str = "data/01_raw"
    download: bool = False
    n_target_objects: Annotated[int, Field(ge=2)] = 5
    n_other_objects: Annotated[int, Field(ge=2)] = 5
    subset_size: PositiveInt = 2
    exclude: list[str] = []
    val_per_class: PositiveInt = 500  # carved from the training split, for checkpoint selection
    scene_samples: PositiveInt = 6000  # scenes only: training images rendered

    @model_validator(mode="after")
    def _check(self) -> RealWorldDataParams:
        check_exclude(self.exclude)
        check_subset(self.subset_size, self.n_target_objects, "n_target_objects")
        needed = self.n_target_objects + self.n_other_objects
        available = {"cifar10": 10, "cifar100": 100, "scenes": scene_max_classes()}[self.dataset]
        if needed > available:
            raise ValueError(
                f"n_target_objects + n_other_objects = {needed} classes but {self.dataset} has "
                f"{available}"
            )
        return self

    def check_resources(self, parameters: dict[str, Any]) -> None:
        """The CIFAR archive is there (and readable) before any work starts."""
        if self.dataset != "scenes":
            check_cifar_available(self.cifar_root, self.dataset, self.download)


class ReferenceParams(Block):
    """The reference value of every factor: the configuration each factor departs from."""

    pretrain_samples: PositiveInt = 3000
    arch: Arch = "resnet18"
    classes: Relationship = "disjoint"
    probe_samples: PositiveInt = 2000


class FactorsParams(Block):
    """The values each factor takes (the reference value is added when missing)."""

    pretrain_samples: list[PositiveInt] = []
    arch: list[Arch] = []
    classes: list[Relationship] = []
    probe_samples: list[PositiveInt] = []


class PointParams(Block):
    """One pretraining configuration (the reference with at most one factor changed)."""

    invariance: Literal[INVARIANCES] = "same"  # type: ignore[valid-type]
    pretrain_samples: PositiveInt
    arch: Arch
    classes: Relationship


class _Grid(Block):
    """A reference configuration, the values of each factor, and the namespaces they make."""

    reference: ReferenceParams = ReferenceParams()
    factors: FactorsParams = FactorsParams()

    def values(self, factor: str) -> list:
        """The values of ``factor`` in order, the reference value included."""
        given = list(getattr(self.factors, factor))
        ref = getattr(self.reference, factor)
        out = given if ref in given else [*given, ref]
        if factor == "classes":
            return [r for r in RELATIONSHIPS if r in out]
        if factor == "arch":
            return given if ref in given else [ref, *given]
        return sorted(out)

    def points(self) -> dict[str, PointParams]:
        """Every pretraining configuration by namespace name (``reference``, ``samples_1000``,
        ``arch_vgg11_bn``, ``classes_same``, ...); the reference is listed once."""
        ref = self.reference
        out = {
            "reference": PointParams(
                pretrain_samples=ref.pretrain_samples, arch=ref.arch, classes=ref.classes
            )
        }
        for factor in ("pretrain_samples", "arch", "classes"):
            for value in self.values(factor):
                if value != getattr(ref, factor):
                    out[point_name(factor, value)] = out["reference"].model_copy(
                        update={factor: value}
                    )
        return out

    def probe_points(self) -> list[int]:
        """The probe-sample values other than the reference one (each re-probes the reference)."""
        return [n for n in self.values("probe_samples") if n != self.reference.probe_samples]

    def grid(self) -> list[dict[str, Any]]:
        """Every (factor, value) with the namespace of its models and its probe's sample count."""
        rows = []
        for factor in FACTORS:
            for value in self.values(factor):
                is_ref = value == getattr(self.reference, factor)
                if factor == "probe_samples":
                    point, probe = ("reference" if is_ref else f"probe_{value}"), value
                else:
                    point = "reference" if is_ref else point_name(factor, value)
                    probe = self.reference.probe_samples
                rows.append({"factor": factor, "value": str(value), "point": point, "probe": probe})
        return rows


class RealWorldParams(_Grid):
    """Appendix C.1 on one real-world dataset: its data and its own grid of factor values.
    Here ``pretrain_samples`` counts images per class (the paper's sample counts per class) and
    ``probe_samples`` target images in total (the paper's probe fractions times the target's
    training size)."""

    data: RealWorldDataParams
    finetune: FinetuneParams | None = None


class ImportanceParams(_Grid):
    """The whole experiment block ``importance`` (checked as one, so cross-field errors show early)."""

    seeds: Seeds
    data: ImportanceDataParams = ImportanceDataParams()
    training: dict[str, TrainingParams]
    probe: ProbeParams = ProbeParams()
    finetune: FinetuneParams | None = None
    real_world: dict[str, RealWorldParams] = {}

    def grids(self) -> dict[str, _Grid]:
        """Every grid by namespace prefix: ``""`` for Transforms-2D, ``"<dataset>."`` for each
        real-world dataset."""
        return {"": self, **{f"{name}.": rw for name, rw in self.real_world.items()}}

    @model_validator(mode="after")
    def _check(self) -> ImportanceParams:
        for name, rw in self.real_world.items():
            if name != rw.data.dataset:
                raise ValueError(
                    f"real_world.{name}: the key must be its data.dataset ({rw.data.dataset!r})"
                )
        archs = {a for g in self.grids().values() for a in (g.reference.arch, *g.factors.arch)}
        for arch in sorted(archs):
            if arch not in self.training:
                raise ValueError(
                    f"training: no recipe for architecture {arch!r}; add 'importance.training.{arch}' "
                    f"(recipes given: {sorted(self.training)})"
                )
        for name, recipe in self.training.items():
            if recipe.arch != name:
                raise ValueError(f"training.{name}: its arch is {recipe.arch!r}; use arch: {name}")
        probe = {self.reference.probe_samples, *self.factors.probe_samples}
        if max(probe) > self.data.target_n_train:
            raise ValueError(
                f"factors.probe_samples / reference.probe_samples: {max(probe)} target samples asked "
                f"but the target's training split has data.target_n_train = {self.data.target_n_train}"
            )
        if self.finetune is not None and max(self.finetune.n_samples) > self.data.target_n_train:
            raise ValueError(
                f"finetune.n_samples: {max(self.finetune.n_samples)} exceeds data.target_n_train = "
                f"{self.data.target_n_train}"
            )
        return self


def point_name(factor: str, value: Any) -> str:
    """The namespace of a pretraining point: ``samples_1000``, ``arch_vgg11_bn``, ``classes_same``."""
    prefix = {"pretrain_samples": "samples", "arch": "arch", "classes": "classes"}[factor]
    return f"{prefix}_{value}"


def parse_importance(block: Mapping[str, Any] | ImportanceParams) -> ImportanceParams:
    """The ``importance`` block, validated as a whole (errors name the parameter).

    Nodes take the block as a plain mapping and parse it here: Kedro's own validation of a typed
    block cannot hold both ``importance`` and its sub-blocks (``importance.training.<arch>``).
    """
    if isinstance(block, ImportanceParams):
        return block
    try:
        return ImportanceParams.model_validate(dict(block))
    except ValidationError as err:
        raise ParameterError(f"parameter 'importance': {err}") from None
