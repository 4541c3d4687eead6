"""Transfer's findings (a)-(c) in words, each checked against Table 2 per family of models in the
one verdict vocabulary of ``core.reporting``."""

from __future__ import annotations

import pandas as pd

from transfer_invariance.core.reporting import Verdict, combine, compare, findings_section
from transfer_invariance.experiments.transfer.params import (
    FAMILIES,
    FAMILY_NAMES,
    KIND_NAMES,
    VALUE,
)


def findings(
    means: dict[str, pd.DataFrame],
    sds: dict[str, pd.DataFrame],
    data: pd.DataFrame,
    types: list[str],
) -> str:
    """The paper's findings (a)-(c), each checked against Table 2 per family of models, in the
    one verdict vocabulary of ``core.reporting``.

    The advantage of a model on its own transformation is ``Other - Same`` (positive = it is less
    sensitive to its own transformation). Margins are in standard deviations over seeds of the
    difference (sqrt(sd_a^2 + sd_b^2)).
    """
    lines = []
    n_seeds = int(data["seed"].nunique())
    for family in FAMILIES:
        lines += _family_findings(family, means[family], sds[family], data, types, n_seeds)
    return findings_section(lines)


def _family_findings(
    family: str,
    mean: pd.DataFrame,
    sd: pd.DataFrame,
    data: pd.DataFrame,
    types: list[str],
    n_seeds: int,
) -> list[str]:
    ind, mild = KIND_NAMES["in_distribution"], KIND_NAMES["mild_ood"]
    name = FAMILY_NAMES[family]

    def lower(kind: str, versus: str = "Other") -> Verdict:
        """Same below ``versus`` on ``kind``: the advantage on the own transformation."""
        return compare(
            mean.loc["Same", kind],
            mean.loc[versus, kind],
            sd.loc["Same", kind],
            sd.loc[versus, kind],
            n_seeds,
            (f"Same on {kind}", f"{versus} on {kind}"),
        )

    v_other, v_none = lower(ind), lower(ind, "None")
    diagonal = _diagonal_minima(data, family, "in_distribution", types)
    listed = f" ({', '.join(diagonal)})" if diagonal else ""
    a = (
        f"- **{name} models, (a)** in distribution a model is least sensitive to the "
        f"transformation it was trained on: Same {mean.loc['Same', ind]:.3f} vs Other "
        f"{mean.loc['Other', ind]:.3f} ({v_other.margin('{:.3f}')}) and vs None "
        f"{mean.loc['None', ind]:.3f} ({v_none.margin('{:.3f}')}); per type, "
        f"the model trained on t is the least sensitive of all models to t for {len(diagonal)} of "
        f"{len(types)} types{listed}: {combine({'vs Other': v_other, 'vs None': v_none})}."
    )

    def smaller_but_kept(kind: str) -> dict[str, Verdict]:
        """The advantage on ``kind`` is below the in-distribution one, and still above zero."""
        g_kind = lower(kind)
        shrink = compare(
            g_kind.effect,
            v_other.effect,
            g_kind.spread,
            v_other.spread,
            n_seeds,
            (f"advantage on {kind}", f"advantage on {ind}"),
        )
        return {f"smaller on {kind}": shrink, f"above zero on {kind}": g_kind}

    b_parts = smaller_but_kept(mild)
    g_in, g_mild = v_other.effect, b_parts[f"above zero on {mild}"].effect
    b = (
        f"- **{name} models, (b)** the advantage (Other - Same) shrinks from in-distribution to "
        f"mild OOD data ({g_in:.3f} -> {g_mild:.3f}: {b_parts[f'smaller on {mild}'].margin('{:.3f}')}) "
        f"but does not vanish on mild OOD data ({b_parts[f'above zero on {mild}'].margin('{:.3f}')}): "
        f"{combine(b_parts)}."
    )
    far = [k for k in mean.columns if k not in (ind, mild)]
    c_parts: dict[str, Verdict] = {}
    states = []
    for kind in far:
        parts = smaller_but_kept(kind)
        c_parts.update(parts)
        kept = parts[f"above zero on {kind}"]
        states.append(f"{kind} {kept.effect:.3f} ({kept.margin('{:.3f}')}; {combine(parts).state})")
    c = (
        f"- **{name} models, (c)** the advantage is reduced further from the pretraining data but "
        f"kept: smaller than in distribution ({g_in:.3f}) and still above zero on strong-OOD and "
        f"real-world data: {'; '.join(states)}: {combine(c_parts)}."
    )
    return [a, b, c]


def _diagonal_minima(data: pd.DataFrame, family: str, kind: str, types: list[str]) -> list[str]:
    """The types t whose model is (on the mean over seeds) the least sensitive of all models to t."""
    part = data[(data["family"] == family) & (data["kind"] == kind)]
    grid = part.pivot_table(index="trained_on", columns="transformation", values=VALUE)
    return [t for t in types if grid[t].idxmin() == t]
