"""Typed parameter blocks of the toy experiment (``conf/<env>/parameters_toy.yml``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from transfer_invariance.core.transforms import TRANSFORM_NAMES
from transfer_invariance.pipelines.params import Block

REFERENCE = "none"  # the model pretrained without transformations, always in the grid


class GridParams(Block):
    """``toy.grid``: one model per type (namespace ``toy.<type>``), plus ``toy.none``."""

    types: Annotated[list[str], Field(min_length=1)]

    @field_validator("types")
    @classmethod
    def _known(cls, types: list[str]) -> list[str]:
        unknown = [t for t in types if t not in TRANSFORM_NAMES]
        if unknown:
            raise ValueError(f"unknown type(s) {unknown}; the types are {list(TRANSFORM_NAMES)}")
        return types

    def models(self) -> list[str]:
        return [*self.types, REFERENCE]
