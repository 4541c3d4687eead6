"""Typed parameter blocks of the importance experiment (``conf/<env>/parameters_importance.yml``).

``importance.grid`` (``GridParams``) is the one key that shapes the pipeline: two
invariance conditions (``same``: the target's transformations, ``different``: a disjoint draw) x
pretraining points, per grid. A point is the reference configuration with one factor changed
(pretraining samples, architecture, class relationship); the reference itself is one point, trained
once and shared by every factor. The fourth factor, the target's probe samples, re-probes the
reference models. Every other block (``seeds``, ``data``, ``training.<arch>``, ``probe``,
``finetune``, ``real_world.<dataset>``) changes values only.
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
RealWorld = Literal["cifar10", "cifar100", "scenes"]


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

    n_target_objects: Annotated[int, Field(ge=2)] = 10
    n_other_objects: Annotated[int, Field(ge=2)] = 10
    subset_size: Annotated[int, Field(ge=2)] = 5
    exclude: list[str] = []
    image_size: Annotated[int, Field(ge=8)] = 32
    n_val: PositiveInt = 300
    n_test: PositiveInt = 500
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

    dataset: RealWorld
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


class FactorGridParams(Block):
    """One grid: a reference configuration, the values of each factor, and whether the reference
    models are fine-tuned (Appendix C.2, with the dataset's ``finetune`` recipe); the namespaces
    they make."""

    reference: ReferenceParams = ReferenceParams()
    factors: FactorsParams = FactorsParams()
    finetune: bool = False

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

    def probe_sizes(self) -> list[int]:
        """Every probe-sample value, the reference one included."""
        return self.values("probe_samples")

    def cells(self) -> list[dict[str, Any]]:
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


class GridParams(FactorGridParams):
    """``importance.grid``, read when the pipelines are registered: it shapes the DAG.

    The Transforms-2D grid (``reference``, ``factors``, ``finetune``) and one grid per real-world
    dataset of Appendix C.1 (``real_world.<dataset>``; its data and fine-tuning recipe are
    ``importance.real_world.<dataset>``). On real images ``pretrain_samples`` counts images per
    class (the paper's sample counts per class) and ``probe_samples`` target images in total (the
    paper's probe fractions times the target's training size).
    """

    real_world: dict[RealWorld, FactorGridParams] = {}

    def grids(self) -> dict[str, FactorGridParams]:
        """Every grid by namespace prefix: ``""`` for Transforms-2D, ``"<dataset>."`` for each
        real-world dataset."""
        return {"": self, **{f"{name}.": grid for name, grid in self.real_world.items()}}

    def of(self, dataset: str | None) -> FactorGridParams:
        """The grid of a real-world ``dataset``, or the Transforms-2D grid (``None``)."""
        return self if dataset is None else self.real_world[dataset]  # type: ignore[index]

    def architectures(self) -> list[str]:
        """Every architecture some grid pretrains (each needs ``importance.training.<arch>``)."""
        return list(dict.fromkeys(a for g in self.grids().values() for a in g.values("arch")))

    def check_resources(self, parameters: dict[str, Any]) -> None:
        """The target's training split (``importance.data.target_n_train``) holds every probe size
        of the Transforms-2D grid and, when it is fine-tuned, every ``importance.finetune`` size."""
        block = parameters["importance"]
        data = ImportanceDataParams.model_validate(block.get("data") or {})
        largest = max(self.probe_sizes())
        if largest > data.target_n_train:
            raise ValueError(
                f"factors.probe_samples / reference.probe_samples: {largest} target samples asked "
                f"but the target's training split has importance.data.target_n_train = "
                f"{data.target_n_train}"
            )
        if self.finetune:
            finetune = FinetuneParams.model_validate(block["finetune"])
            if max(finetune.n_samples) > data.target_n_train:
                raise ValueError(
                    f"finetune: importance.finetune.n_samples asks {max(finetune.n_samples)} target "
                    f"samples but importance.data.target_n_train = {data.target_n_train}"
                )


class RealWorldParams(Block):
    """``importance.real_world.<dataset>``: the data and the fine-tuning recipe of the grid
    ``importance.grid.real_world.<dataset>`` (the recipe is used when that grid says
    ``finetune: true``)."""

    data: RealWorldDataParams
    finetune: FinetuneParams | None = None


def point_name(factor: str, value: Any) -> str:
    """The namespace of a pretraining point: ``samples_1000``, ``arch_vgg11_bn``, ``classes_same``."""
    prefix = {"pretrain_samples": "samples", "arch": "arch", "classes": "classes"}[factor]
    return f"{prefix}_{value}"


BLOCKS = {"grid", "seeds", "data", "training", "probe", "finetune", "real_world"}


def check_bound_blocks(block: Mapping[str, Any], grid: GridParams) -> None:
    """The blocks the grid binds its namespaces to are there, each for what it is bound to.

    Every architecture of a grid has its recipe ``importance.training.<arch>`` (with that arch),
    every real-world grid its ``importance.real_world.<dataset>`` (data of that dataset), and every
    fine-tuned grid its ``finetune`` recipe. Raises ``ParameterError`` naming the parameter (Kedro
    validates the blocks' own values when the run starts).
    """
    unknown = sorted(set(block) - BLOCKS)
    if unknown:
        moved = [k for k in unknown if k in GridParams.model_fields]
        raise ParameterError(
            f"parameter 'importance' has unknown key(s) {unknown}; its keys are {sorted(BLOCKS)}"
            + (f" ({', '.join(moved)}: now under 'importance.grid')" if moved else "")
        )
    training = block.get("training") or {}
    for arch in grid.architectures():
        if arch not in training:
            raise ParameterError(
                f"parameter 'importance.training': no recipe for architecture {arch!r} (used by "
                f"importance.grid); add 'importance.training.{arch}' (recipes given: "
                f"{sorted(training)})"
            )
        recipe = training[arch]
        given = (
            recipe.get("arch", TrainingParams.model_fields["arch"].default)
            if isinstance(recipe, Mapping)
            else getattr(recipe, "arch", None)
        )
        if given != arch:
            raise ParameterError(
                f"parameter 'importance.training.{arch}': its arch is {given!r}; use arch: {arch}"
            )
    if grid.finetune and block.get("finetune") is None:
        raise ParameterError(
            "parameter 'importance.finetune' is missing: importance.grid.finetune is true "
            "(set the recipe, or finetune: false in importance.grid)"
        )
    given_rw = block.get("real_world") or {}
    for name, sub in grid.real_world.items():
        where = f"importance.real_world.{name}"
        if name not in given_rw:
            raise ParameterError(
                f"parameter '{where}' is missing: importance.grid.real_world has {name!r}; give its "
                f"data (and finetune recipe) there (given: {sorted(given_rw)})"
            )
        try:
            values = RealWorldParams.model_validate(given_rw[name])
        except ValidationError as err:
            raise ParameterError(f"parameter '{where}': {err}") from None
        if values.data.dataset != name:
            raise ParameterError(
                f"parameter '{where}.data.dataset' is {values.data.dataset!r}: the key must be its "
                f"dataset ({name!r})"
            )
        if sub.finetune and values.finetune is None:
            raise ParameterError(
                f"parameter '{where}.finetune' is missing: importance.grid.real_world.{name}.finetune "
                "is true (set the recipe, or finetune: false in the grid)"
            )
