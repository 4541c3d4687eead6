"""Nodes reporting the profile: the table (model x transformation x kind of data), the figure, each
model's ranking of transformations, and the findings in words.

All are written to ``data/08_reporting/profile/`` and logged as MLflow artifacts of the run. The
value is the L2 sensitivity of the measured representation (0 = invariant, about 1 = pairs as far
apart as unrelated inputs); ``se`` its standard error over the pairs (``measure.pair_scores``).
Two values differ *clearly* when they are more than ``CLEAR_SE`` combined standard errors apart.
"""

from __future__ import annotations

import math
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from transfer_invariance.core.reporting import markdown_table, mean_sd_text
from transfer_invariance.core.transforms import CATEGORIES
from transfer_invariance.experiments.profile.params import FLOOR, GridParams

VALUE = "sensitivity_l2"
CLEAR_SE = 2.0
TOP = 3  # transformations named as most / least invariant per model and kind
FMT = "{:.3f}"
KIND_NAMES = {
    "objects": "Objects on backgrounds",
    "other_objects": "Other objects",
    "patterns": "Random patterns",
    "other_patterns": "Other random patterns",
    "scenes": "Scenes (CIFAR stand-in)",
    "cifar10": "CIFAR-10",
    "cifar100": "CIFAR-100",
    "folder": "Your images (folder)",
}
CATEGORY_OF = {t: c for c, types in CATEGORIES.items() for t in types} | {FLOOR: "floor"}
SCORE_NOTE = (
    f"L2 sensitivity of each model's representation (paper eq. 1): 0 = invariant, about 1 = the "
    f"two members of a pair are as far apart as unrelated inputs; ± = standard error over the "
    f"pairs (`docs/profile.md`). `{FLOOR}` pairs are identical images (the floor: 0 for a "
    "deterministic model)."
)


def _ordered(table: pd.DataFrame, grid: GridParams) -> pd.DataFrame:
    """Rows in the grid's order: model, kind, then ``none`` and the types."""
    order = {
        "model": list(grid.models),
        "kind": list(grid.kinds),
        "transformation": list(grid.all_types()),
    }
    keys = [table[c].map({v: i for i, v in enumerate(o)}) for c, o in order.items()]
    index = np.lexsort([k.to_numpy() for k in reversed(keys)])
    return table.iloc[index].reset_index(drop=True)


def _pivot(table: pd.DataFrame, kind: str, value: str, grid: GridParams) -> pd.DataFrame:
    """``value`` of one kind as transformation x model label, in the grid's order."""
    part = table[table["kind"] == kind]
    pivot = part.pivot(index="transformation", columns="label", values=value)
    labels = list(dict.fromkeys(part.sort_values("model_order")["label"]))
    return pivot.reindex(index=list(grid.all_types()), columns=labels)


def sensitivity_table(
    models: dict[str, dict[str, Any]], grid: GridParams, **tables: pd.DataFrame
) -> tuple[pd.DataFrame, str]:
    """One row per model, kind and transformation (CSV), and the same as one Markdown table per
    kind (transformations x models), after the list of the models and where they come from."""
    table = pd.concat(tables.values(), ignore_index=True)
    table = _ordered(table, grid)
    table.insert(1, "label", table["model"].map(lambda m: models[m]["label"]))
    table.insert(4, "category", table["transformation"].map(CATEGORY_OF))
    md = ["# Invariance profile\n", SCORE_NOTE + "\n", _models_md(models)]
    shown = table.assign(model_order=table["model"].map(list(grid.models).index))
    for kind in grid.kinds:
        n = int(shown.loc[shown["kind"] == kind, "n_pairs"].min())
        md.append(f"## {KIND_NAMES[kind]} (`{kind}`, {n} pairs per transformation)\n")
        md.append(
            markdown_table(
                _pivot(shown, kind, VALUE, grid),
                _pivot(shown, kind, "se", grid),
                FMT,
                corner="transformation \\ model",
            )
        )
    return table, "\n".join(md)


def _models_md(models: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| model | label | source | image size | layer | width |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {m['name']} | {m['label']} | {m['source']} | {m['image_size']} | {m['layer']} "
        f"| {m['feature_dim']} |"
        for m in models.values()
    ]
    return "\n".join(lines) + "\n"


def profile_figure(table: pd.DataFrame, grid: GridParams) -> Figure:
    """One panel per kind of data: the transformations down the side (grouped by category), one
    bar per model side by side, the standard error over the pairs as error bars; one x scale."""
    types = list(grid.all_types())
    labels = list(dict.fromkeys(table["label"]))
    fig, axes = plt.subplots(
        1,
        len(grid.kinds),
        figsize=(3.6 * len(grid.kinds) + 1.6, 0.14 * len(types) * max(2, len(labels)) + 2.2),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    height = 0.8 / len(labels)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    y = np.arange(len(types))
    right = max(1.05, float((table[VALUE] + table["se"]).max()) * 1.05)
    categories = [CATEGORY_OF[t] for t in types]
    breaks = [i - 0.5 for i in range(1, len(types)) if categories[i] != categories[i - 1]]
    for ax, kind in zip(axes[0], grid.kinds, strict=True):
        part = table[table["kind"] == kind]
        for i, label in enumerate(labels):
            rows = part[part["label"] == label].set_index("transformation").reindex(types)
            ax.barh(
                y + (i - (len(labels) - 1) / 2) * height,
                rows[VALUE].to_numpy(),
                height,
                xerr=rows["se"].to_numpy(),
                color=colours[i % len(colours)],
                error_kw={"elinewidth": 0.8, "capsize": 1.5},
                label=label,
            )
        for b in breaks:
            ax.axhline(b, color="grey", linewidth=0.6, linestyle=":")
        ax.axvline(1.0, color="grey", linestyle="--", linewidth=0.8)
        ax.set_title(KIND_NAMES[kind], fontsize=10)
        ax.set_xlabel("L2 sensitivity (lower = more invariant)", fontsize=8)
        ax.set_xlim(0, right)
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].set_yticks(y, types, fontsize=8)
    axes[0][0].invert_yaxis()
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    fig.suptitle(
        "Invariance profile: sensitivity ± standard error over the pairs "
        "(dotted lines: geometric | photometric | corruption; dashed: unrelated inputs)",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def _measured(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of the transformation types (the floor left out)."""
    return table[table["transformation"] != FLOOR]


def ranking(table: pd.DataFrame, grid: GridParams) -> tuple[pd.DataFrame, str]:
    """Each model's transformations from the most invariant (rank 1, lowest sensitivity) to the
    least, per kind (CSV); the first and last ``TOP`` of each in Markdown."""
    ranked = _measured(table).sort_values(["model", "kind", VALUE], kind="stable").copy()
    ranked["rank"] = ranked.groupby(["model", "kind"]).cumcount() + 1
    ranked = _ordered_by(ranked, grid)
    columns = ["model", "label", "kind", "rank", "transformation", "category", VALUE, "se"]
    out = ranked[columns].reset_index(drop=True)
    md = ["# Most and least invariant transformations per model\n", SCORE_NOTE + "\n"]
    for model in grid.models:
        part = out[out["model"] == model]
        md.append(f"## {part['label'].iloc[0]} (`{model}`)\n")
        md.append(
            f"| kind of data | most invariant ({TOP}) | least invariant ({TOP}) |\n|---|---|---|"
        )
        for kind in grid.kinds:
            rows = part[part["kind"] == kind]
            md.append(
                f"| {KIND_NAMES[kind]} | {_named(rows.head(TOP))} | "
                f"{_named(rows.tail(TOP).iloc[::-1])} |"
            )
        md.append("")
    return out, "\n".join(md)


def _ordered_by(ranked: pd.DataFrame, grid: GridParams) -> pd.DataFrame:
    """``ranked`` with its models and kinds in the grid's order, each by rank."""
    model = ranked["model"].map(list(grid.models).index)
    kind = ranked["kind"].map(list(grid.kinds).index)
    return ranked.iloc[np.lexsort([ranked["rank"], kind, model])]


def _named(rows: pd.DataFrame) -> str:
    return ", ".join(
        f"{r.transformation} {mean_sd_text(getattr(r, VALUE), r.se, FMT)}"
        for r in rows.itertuples()
    )


def _gap(best: pd.Series, other: pd.Series) -> float:
    """How many combined standard errors ``other`` lies above ``best`` (inf without error)."""
    se = math.hypot(best["se"], other["se"])
    diff = other[VALUE] - best[VALUE]
    return diff / se if se > 0 else (math.inf if diff > 0 else 0.0)


def least_sensitive(table: pd.DataFrame) -> pd.DataFrame:
    """Per kind and transformation: the least sensitive model, the runner-up and the gap between
    them in combined standard errors (``clear`` when more than ``CLEAR_SE``)."""
    rows = []
    for (kind, t), part in _measured(table).groupby(["kind", "transformation"], sort=False):
        part = part.sort_values(VALUE, kind="stable")
        best = part.iloc[0]
        row = {"kind": kind, "transformation": t, "model": best["model"], "label": best["label"]}
        row |= {VALUE: best[VALUE], "se": best["se"]}
        if len(part) > 1:
            second = part.iloc[1]
            gap = _gap(best, second)
            row |= {"next": second["label"], "next_value": second[VALUE], "next_se": second["se"]}
            row |= {"gap_se": gap, "clear": bool(gap > CLEAR_SE)}
        rows.append(row)
    return pd.DataFrame(rows)


def findings(table: pd.DataFrame, models: dict[str, dict[str, Any]], grid: GridParams) -> str:
    """The profile in words: which model is least sensitive to which transformation (and whether
    clearly), how each model's sensitivity changes across the kinds of data, and the floor."""
    md = ["# Findings\n", SCORE_NOTE + "\n"]
    md += _comparison(table, grid)
    md += _across_kinds(table, grid)
    md += _floor(table)
    random = [m["label"] for m in models.values() if m["random_init"]]
    if random:
        md.append(
            f"\nNot trained (random initialisation): {', '.join(random)}. A reference for what "
            "the architecture alone does, not a pretrained model.\n"
        )
    return "\n".join(md)


def _comparison(table: pd.DataFrame, grid: GridParams) -> list[str]:
    md = ["## Which model is least sensitive to which transformation\n"]
    if len(grid.models) < 2:
        return [*md, "One model: nothing to compare.\n"]
    best = least_sensitive(table)
    md.append(
        f"A model is **clearly** least sensitive when the next model lies more than {CLEAR_SE:g} "
        "combined standard errors above it; otherwise the two are within the pair-sampling "
        "precision.\n"
    )
    for kind in grid.kinds:
        part = best[best["kind"] == kind]
        md.append(f"**{KIND_NAMES[kind]}** (`{kind}`):\n")
        for label in dict.fromkeys(table["label"]):
            won = part[part["label"] == label]
            clear = won[won["clear"]]
            if won.empty:
                md.append(f"- {label}: least sensitive to none of the {len(part)} types.")
                continue
            md.append(
                f"- {label}: least sensitive to {len(won)} of {len(part)} types, clearly to "
                f"{len(clear)}" + (f": {_wins(clear)}." if len(clear) else ".")
            )
        md.append("")
    return md


def _wins(rows: pd.DataFrame) -> str:
    return "; ".join(
        f"{r.transformation} {mean_sd_text(getattr(r, VALUE), r.se, FMT)} (next {r.next} "
        f"{mean_sd_text(r.next_value, r.next_se, FMT)}, {r.gap_se:.1f} SE)"
        for r in rows.itertuples()
    )


def _across_kinds(table: pd.DataFrame, grid: GridParams) -> list[str]:
    md = ["## From one kind of data to another\n"]
    if len(grid.kinds) < 2:
        return [*md, "One kind of data: nothing to compare.\n"]
    first = grid.kinds[0]
    md.append(
        f"Mean sensitivity over the {len(grid.types)} types per kind of data, and the type whose "
        f"sensitivity changes most from `{first}` to another kind.\n"
    )
    measured = _measured(table)
    for model in grid.models:
        part = measured[measured["model"] == model]
        means = part.groupby("kind")[VALUE].mean()
        wide = part.pivot(index="transformation", columns="kind", values=VALUE)
        change = wide.drop(columns=first).sub(wide[first], axis=0)
        t, kind = change.abs().stack().idxmax()
        md.append(
            f"- {part['label'].iloc[0]}: "
            + ", ".join(f"{means[k]:.3f} on `{k}`" for k in grid.kinds)
            + f"; largest change: {t} {wide.loc[t, first]:.3f} on `{first}` -> "
            f"{wide.loc[t, kind]:.3f} on `{kind}`."
        )
    md.append("")
    return md


def _floor(table: pd.DataFrame) -> list[str]:
    floor = table[table["transformation"] == FLOOR]
    worst = floor[VALUE].abs().max()
    if worst < 1e-6:
        return [
            f"## The floor\n\n`{FLOOR}` scores {worst:.1e} at most for every model and kind: "
            "identical images give identical representations (the models are deterministic in "
            "eval mode).\n"
        ]
    rows = floor[floor[VALUE].abs() >= 1e-6]
    named = ", ".join(f"{r.label} on {r.kind} {getattr(r, VALUE):.3g}" for r in rows.itertuples())
    return [
        f"## The floor\n\n`{FLOOR}` is not 0 for {named}: identical images give different "
        "representations, so those models are not deterministic (dropout or batch statistics "
        "left on?) and their scores carry that noise.\n"
    ]
