"""What every experiment shares: the one key that shapes its pipeline, ``<experiment>.grid``, and
the binding of its parameter blocks into its namespaces.

Every experiment reads its grid (which namespaces exist: harm's C.3 points, importance's factor
values, transfer's types, mismatch's nested sets) from ``parameters[<experiment>]["grid"]`` through
``read_grid`` when its pipeline is built, so a missing or wrong grid gives the same error for
every experiment, naming the parameter and the file that defines it. Every other block of an
experiment changes values only, never the DAG.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from transfer_invariance.errors import ParameterError

GRID_KEY = "grid"
PROJECT_BLOCKS = ("base_images", "render")  # blocks of the whole project, not of one experiment

Grid = TypeVar("Grid", bound=BaseModel)


def read_grid(parameters: Mapping[str, Any], experiment: str, model: type[Grid]) -> Grid:
    """The typed grid block ``<experiment>.grid`` of the run's ``parameters``.

    Raises ``ParameterError`` naming ``<experiment>.grid`` and its parameter file when the block
    is missing or does not validate.
    """
    where = f"'{experiment}.{GRID_KEY}'"
    block = parameters.get(experiment)
    if not isinstance(block, Mapping) or GRID_KEY not in block:
        raise ParameterError(
            f"parameter {where} is missing: conf/base/parameters_{experiment}.yml defines it "
            f"(it says which namespaces the {experiment} pipeline has)."
        )
    grid = block[GRID_KEY]
    if isinstance(grid, model):
        return grid
    try:
        return model.model_validate(grid)
    except ValidationError as err:
        raise ParameterError(f"parameter {where}: {err}") from None


def blocks(experiment: str, *names: str) -> dict[str, str]:
    """A namespace's parameters: ``params:<name>`` bound to the experiment's block
    ``params:<experiment>.<name>`` (or to the project's ``base_images`` / ``render``)."""
    return {
        f"params:{name}": f"params:{name}"
        if name in PROJECT_BLOCKS
        else f"params:{experiment}.{name}"
        for name in names
    }
