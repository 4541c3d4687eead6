"""The findings of the importance experiment, checked against the numbers in the one verdict
vocabulary of ``core.reporting``: differences are paired by seed (a seed's same and different
models share objects, target, samples and initialisation seed).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from transfer_invariance.core.reporting import combine, findings_section, paired_verdict
from transfer_invariance.experiments import paper_reference as paper
from transfer_invariance.experiments.importance.params import FACTOR_NAMES, INVARIANCES

LABELS = {"same": "same transformations", "different": "different transformations"}
# Section 4.1: the invariance gap is larger than every other factor's spread "with the exception of
# the different-transformation model for class-relationship, where it is comparable"
COMPARABLE_WITHIN_DIFFERENT = ("classes",)


def paired_differences(metrics: pd.DataFrame, value: str, by: list[str]) -> dict[tuple, pd.Series]:
    """Same minus different, paired by seed (a seed's two models share objects, target and
    samples), per group of ``by``: one value per seed of the table, NaN where a side lacks it."""
    seeds = sorted(metrics["seed"].unique())
    out = {}
    for key, part in metrics.groupby(by, sort=False):
        wide = part.pivot_table(index="seed", columns="invariance", values=value)
        wide = wide.reindex(index=seeds, columns=list(INVARIANCES))
        out[key if isinstance(key, tuple) else (key,)] = wide["same"] - wide["different"]
    return out


def shown(diffs: pd.Series) -> str:
    """``12.3 ± 4.5 points`` (mean ± sd over seeds, paired), or the value alone with one seed."""
    values = diffs.dropna()
    if values.empty:
        return "missing"
    sd = f" ± {values.std(ddof=1):.1f}" if len(values) > 1 else ""
    return f"{values.mean():.1f}{sd} points"


def findings(metrics: pd.DataFrame, spread: pd.DataFrame, explain: bool = True) -> str:
    """Findings (a) and (b), each checked against the numbers in the one verdict vocabulary of
    ``core.reporting`` (differences paired by seed).

    (a) same minus different transfer accuracy > 0 at every factor value;
    (b) per factor, the same-vs-different gap minus the larger of the spreads within same and
        within different (Figure 3's quantities, per seed) > 0; for the class relationship the
        gap minus the spread within same, as the paper excepts the spread within different.
    ``explain`` (Transforms-2D) adds why a failing class-relationship part fails at a reduced size.
    """
    lines = []
    gaps = {
        f"{FACTOR_NAMES[f]} = {v}": d
        for (f, v), d in paired_differences(metrics, "transfer_acc", ["factor", "value"]).items()
    }
    parts = {name: paired_verdict(d, f"{name},") for name, d in gaps.items()}
    holding = sum(v.holds for v in parts.values())
    weakest = min(parts, key=lambda k: -np.inf if np.isnan(parts[k].effect) else parts[k].effect)
    lines.append(
        "(a) Same-invariance pretraining transfers better than different-invariance pretraining at "
        f"every factor value: it holds at {holding} of {len(parts)} values. Smallest gap: "
        f"{shown(gaps[weakest])} at {weakest} ({parts[weakest].margin()}): {combine(parts)}."
    )
    wide = spread.pivot_table(index=["factor", "seed"], columns="quantity", values="value")
    seeds = sorted(spread["seed"].unique())
    b_parts, texts = {}, []
    for factor in dict.fromkeys(spread["factor"]):
        name = FACTOR_NAMES[factor]
        table = wide.loc[factor].reindex(seeds)
        compared = ["spread within same"] + (
            [] if factor in COMPARABLE_WITHIN_DIFFERENT else ["spread within different"]
        )
        other = table[compared].max(axis=1, skipna=False)
        b_parts[name] = paired_verdict(table["same - different gap"] - other, f"{name},")
        text = (
            f"{name} (gap {table['same - different gap'].mean():.1f} vs spread "
            f"{other.mean():.1f}: {b_parts[name].state}"
        )
        if factor in COMPARABLE_WITHIN_DIFFERENT:
            text += (
                "; within different, which the paper calls comparable to the gap, "
                f"{table['spread within different'].mean():.1f}"
            )
        texts.append(text + ")")
    lines.append(
        "\n(b) The same-vs-different gap is larger than the spread caused by each other factor "
        "(Section 4.1: except the different-transformation model's spread over class "
        f"relationships, which is comparable): {'; '.join(texts)}: {combine(b_parts)}."
    )
    classes = FACTOR_NAMES["classes"]
    if explain and classes in b_parts and not b_parts[classes].holds:
        ours = wide.loc["classes"]["spread within same"].mean()
        theirs = 100 * paper.FIGURE3.means().loc["classes", "spread within same"]
        lines.append(
            f"    Here the same-invariance model's transfer depends on the class relationship far "
            f"more than in the paper (spread within same {ours:.1f} points, the paper's "
            f"{theirs:.0f}): a small model pretrained on few objects represents objects it has "
            "not seen poorly, which the paper's size does not (docs/deviations.md, importance)."
        )
    return findings_section(lines)
