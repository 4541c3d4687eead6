"""Typed parameter blocks of the mismatch experiment (``conf/<env>/parameters_mismatch.yml``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import torch
from pydantic import Field, NonNegativeInt, PositiveInt, model_validator

from transfer_invariance.core import base_images
from transfer_invariance.core.rendering import DatasetSpec, parse_spec
from transfer_invariance.core.rng import stable_hash
from transfer_invariance.core.transforms import TRANSFORM_NAMES, resolve_params
from transfer_invariance.pipelines.params import BaseImagesParams, Block, base_images_of


class GridParams(Block):
    """The nested sets: ``n_types`` distinct types drawn per seed, in a seeded random order, from
    the 18 Transforms-2D types minus ``exclude``; the set T_k is the first k of them.

    ``n_types`` is the number of pretraining sets and of targets, so it shapes the pipeline (one
    namespace ``mismatch.t<k>`` per set).
    """

    n_types: Annotated[int, Field(ge=2)] = 8
    exclude: list[str] = ["erasing", "noise", "pixelate", "elastic"]

    @model_validator(mode="after")
    def _enough_types(self) -> GridParams:
        unknown = [t for t in self.exclude if t not in TRANSFORM_NAMES]
        if unknown:
            raise ValueError(
                f"exclude lists unknown transformation type(s) {unknown}; the types are "
                f"{list(TRANSFORM_NAMES)}."
            )
        available = len(self.pool())
        if self.n_types > available:
            raise ValueError(
                f"n_types = {self.n_types} but only {available} of the {len(TRANSFORM_NAMES)} "
                f"transformation types are left after exclude = {self.exclude}; lower n_types or "
                "exclude fewer types."
            )
        return self

    def pool(self) -> tuple[str, ...]:
        """The types the draw picks from (the registry's order, minus ``exclude``)."""
        return tuple(t for t in TRANSFORM_NAMES if t not in set(self.exclude))

    def order(self, seed: int) -> list[str]:
        """The ``n_types`` types of ``seed`` in their drawn order (the same seed, the same order)."""
        pool = self.pool()
        generator = torch.Generator().manual_seed(stable_hash("mismatch types", seed))
        return [pool[i] for i in torch.randperm(len(pool), generator=generator)[: self.n_types]]

    def set_names(self) -> list[str]:
        """The names of the nested sets, ``t1`` .. ``t<n_types>`` (namespaces and targets alike)."""
        return [f"t{k}" for k in range(1, self.n_types + 1)]


class SplitSizes(Block):
    """Samples per split of a rendered dataset."""

    n_train: PositiveInt
    n_val: PositiveInt
    n_test: PositiveInt


class MismatchDataParams(Block):
    """The pretraining sets D(O, T_k) and the targets D(O_target, T_j), per seed.

    Each seed draws its objects from a permutation of all base objects seeded by the seed: the
    pretraining objects O are positions 0 .. n_objects; the targets show O too (``same``, as the
    original code, which probes every model on the other models' datasets) or the next
    ``n_objects`` (``disjoint``, the object split of Section 4.1). All sets of a seed share one
    sampling seed for pretraining and another for the targets, so T_(k+1)'s samples are T_k's
    with one more transformation applied, and a target is a fresh sample of its set.
    """

    n_objects: PositiveInt = 10
    target_objects: Literal["same", "disjoint"] = "same"
    pretraining: SplitSizes = SplitSizes(n_train=16000, n_val=300, n_test=300)
    target: SplitSizes = SplitSizes(n_train=400, n_val=100, n_test=300)
    image_size: Annotated[int, Field(ge=8)] = DatasetSpec.image_size
    n_backgrounds: PositiveInt = DatasetSpec.n_backgrounds
    object_fill: Annotated[float, Field(gt=0, le=1)] = DatasetSpec.object_fill
    transform_params: dict[str, dict[str, float]] = {}

    @model_validator(mode="after")
    def _valid_transform_params(self) -> MismatchDataParams:
        resolve_params(list(self.transform_params), self.transform_params, self.image_size)
        return self

    def objects_needed(self) -> int:
        return 2 * self.n_objects if self.target_objects == "disjoint" else self.n_objects

    def spec(
        self,
        name: str,
        transforms: list[str],
        role: Literal["pretraining", "target"],
        seed: NonNegativeInt,
        base: BaseImagesParams,
    ) -> DatasetSpec:
        """The spec of the pretraining set or the target with ``transforms`` for ``seed``."""
        sizes = self.pretraining if role == "pretraining" else self.target
        disjoint = role == "target" and self.target_objects == "disjoint"
        return parse_spec(
            name,
            {
                "transforms": list(transforms),
                "objects": self.n_objects,
                "object_offset": self.n_objects if disjoint else 0,
                "object_seed": seed,
                **sizes.model_dump(),
                "seed": stable_hash("mismatch", role, seed),
                "image_size": self.image_size,
                "n_backgrounds": self.n_backgrounds,
                "object_fill": self.object_fill,
                "transform_params": self.transform_params,
                **base.model_dump(),
            },
        )

    def check_resources(self, parameters: dict[str, Any]) -> None:
        """The base images hold enough objects for the pretraining and the target objects."""
        base = base_images_of(parameters)
        available = len(base_images.list_object_files(base.source, base.base_dir))
        if self.objects_needed() > available:
            raise ValueError(
                f"n_objects = {self.n_objects} with target_objects = {self.target_objects!r} needs "
                f"{self.objects_needed()} objects but the base images (base_images.source = "
                f"{base.source!r}) have {available}; lower n_objects or use target_objects: same."
            )
