"""Parameters of the transformation types: validating names and overrides against the registry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .base import TRANSFORMS, Params


def resolve_params(
    names: Sequence[str],
    overrides: Mapping[str, Params] | None = None,
    image_size: int = 32,
) -> dict[str, dict[str, float]]:
    """Validate transform names and parameter overrides; return the full parameters per transform.

    Raises ValueError naming the offending transform or parameter, before any rendering starts.
    """
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise ValueError(f"transforms must be a list of transform names, got {names!r}.")
    unknown = [n for n in names if n not in TRANSFORMS]
    if unknown:
        raise ValueError(
            f"transforms: unknown transformation(s) {unknown}. Known: {sorted(TRANSFORMS)}."
        )
    if len(set(names)) != len(names):
        raise ValueError(f"transforms: {list(names)} lists a transformation twice.")
    overrides = dict(overrides or {})
    for name in overrides:
        if name not in TRANSFORMS:
            raise ValueError(
                f"transform_params: unknown transformation {name!r}. Known: {sorted(TRANSFORMS)}."
            )
    out: dict[str, dict[str, float]] = {}
    for name in names:
        params = dict(TRANSFORMS[name].defaults)
        for key, value in dict(overrides.get(name) or {}).items():
            if key not in params:
                raise ValueError(
                    f"transform_params.{name}: unknown parameter {key!r}; known: {sorted(params)}."
                )
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"transform_params.{name}.{key} must be a number, got {value!r}.")
            params[key] = value
        TRANSFORMS[name].check(params, image_size)
        out[name] = params
    return out


def check_transform_sets(sets: Mapping[str, Sequence[str]], disjoint: bool = False) -> None:
    """Check named transform sets: known names, none empty and, if required, pairwise disjoint."""
    for key, names in sets.items():
        if not names:
            raise ValueError(f"transform set '{key}' is empty; give at least one transformation.")
        try:
            resolve_params(list(names))
        except ValueError as err:
            raise ValueError(f"transform set '{key}': {err}") from err
    if disjoint:
        keys = list(sets)
        for i, a in enumerate(keys):
            for b in keys[i + 1 :]:
                common = sorted(set(sets[a]) & set(sets[b]))
                if common:
                    raise ValueError(
                        f"transform sets '{a}' and '{b}' overlap in {common}; this experiment needs "
                        "disjoint sets."
                    )
