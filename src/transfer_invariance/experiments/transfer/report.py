"""Nodes reporting transfer: Table 2, the heatmaps of Figures 16-17 and the findings in words.

All are written to ``data/08_reporting/transfer/`` and logged as MLflow artifacts of the run.
Sensitivities are L2 sensitivity scores of the penultimate representation (0 = invariant, about
1 = as different as unrelated inputs): lower means more invariant.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from transfer_invariance.core.plotting import heatmap_figure
from transfer_invariance.core.reporting import (
    long_table,
    markdown_table,
    mean_sd,
    normalisation_note,
)
from transfer_invariance.experiments import paper_reference as paper
from transfer_invariance.experiments.transfer.findings import findings
from transfer_invariance.experiments.transfer.params import (
    FAMILIES,
    FAMILY_NAMES,
    KIND_NAMES,
    KINDS,
    REFERENCE,
    RELATIONS,
    VALUE,
    GridParams,
    TransferDataParams,
)
from transfer_invariance.pipelines.params import InvarianceParams, TrainingParams


def heatmap_name(family: str, kind: str) -> str:
    """The report name of a heatmap: ``heatmap_<family>_<kind>``."""
    return f"heatmap_{family}_{kind}"


def tidy(sensitivity: pd.DataFrame) -> pd.DataFrame:
    """One row per family, trained type, kind of data, measured type and seed.

    ``sensitivity`` is the collected measure_invariance output: ``model`` = ``<family>_<type>``,
    ``pairs`` = ``<kind>__<type>``.
    """
    model = sensitivity["model"].str.partition("_")
    pairs = sensitivity["pairs"].str.partition("__")
    return pd.DataFrame(
        {
            "family": model[0].to_numpy(),
            "trained_on": model[2].to_numpy(),
            "kind": pairs[0].to_numpy(),
            "transformation": pairs[2].to_numpy(),
            "seed": sensitivity["seed"].to_numpy(),
            VALUE: sensitivity[VALUE].to_numpy(),
            "sensitivity_cosine": sensitivity["sensitivity_cosine"].to_numpy(),
        }
    )


def relations(tidy_table: pd.DataFrame, types: list[str]) -> pd.DataFrame:
    """Table 2's rows per family, kind and seed: Same (model t on t), Other (mean of the other
    types' models on t), None (the ``none`` model on t), each averaged over the types t."""
    rows = []
    for (family, kind, seed), part in tidy_table.groupby(["family", "kind", "seed"]):
        grid = part.pivot_table(index="trained_on", columns="transformation", values=VALUE)
        same = np.mean([grid.loc[t, t] for t in types])
        other = np.mean([grid.loc[[u for u in types if u != t], t].mean() for t in types])
        none = np.mean([grid.loc[REFERENCE, t] for t in types])
        for relation, value in zip(RELATIONS, (same, other, none), strict=True):
            rows.append(
                {"family": family, "kind": kind, "seed": seed, "relation": relation, VALUE: value}
            )
    return pd.DataFrame(rows)


def pretraining_accuracy(pretrain_metrics: pd.DataFrame) -> pd.DataFrame:
    """Each model's pretraining test accuracy per seed, from the pretrain stage's metrics of every
    model (``model`` = ``<family>_<type>``): whether a model learned its task says how much
    invariance it could learn."""
    family, _, trained_on = pretrain_metrics["model"].str.partition("_").T.to_numpy()
    return pd.DataFrame(
        {
            "family": family,
            "trained_on": trained_on,
            "seed": pretrain_metrics["seed"].astype(int),
            "test_acc": pretrain_metrics["test_acc"].astype(float),
        }
    )


def paper_table2(family: str, kinds: list[str]) -> pd.DataFrame:
    """The paper's Table 2 rows of ``family`` under our column names of ``kinds`` (a stand-in
    such as ``scenes`` gets the column of the data set it stands in for)."""
    theirs = paper.TABLE2.means().loc[family]
    out = theirs.reindex(columns=[paper.TABLE2_STAND_IN.get(k, k) for k in kinds])
    out.columns = [KIND_NAMES[k] for k in kinds]
    return out


def run_size(
    n_seeds: int,
    grid: GridParams,
    data: TransferDataParams,
    training: TrainingParams,
    invariance: InvarianceParams,
) -> dict[str, int | float | str]:
    """This run's value of every size of ``paper_reference.TRANSFER_SIZES``."""
    return {
        "seeds": n_seeds,
        "types": len(grid.types),
        "real_world": ", ".join(
            "scene stand-in" if r == "scenes" else KIND_NAMES[r] for r in grid.real_world
        ),
        "n_train": data.n_train,
        "n_pairs": data.n_pairs,
        "n_random_pairs": invariance.n_random_pairs,
        **paper.recipe_size(training),
    }


def table2(
    sensitivity: pd.DataFrame,
    pretraining: pd.DataFrame,
    grid: GridParams,
    training: TrainingParams,
    data: TransferDataParams,
    invariance: InvarianceParams,
) -> tuple[pd.DataFrame, str, Figure, pd.DataFrame]:
    """Table 2 (mean ± sd over seeds, each cell beside the paper's), its bar chart, the findings
    in words (and the input normalisation of ``training``), how far the run's size is from the
    paper's, and every sensitivity per model, type, kind of data and seed (``sensitivity.csv``)."""
    tidy_table = tidy(sensitivity)
    rel = relations(tidy_table, grid.types)
    columns = [*KINDS, *grid.real_world]
    names = [KIND_NAMES[k] for k in columns]
    means, sds = {}, {}
    for family in FAMILIES:
        part = rel[rel["family"] == family].assign(kind=lambda d: d["kind"].map(KIND_NAMES))
        means[family], sds[family] = mean_sd(part, "relation", "kind", VALUE, RELATIONS, names)
    n_seeds = tidy_table["seed"].nunique()
    theirs = {f: paper_table2(f, columns) for f in FAMILIES}
    stood_for = {
        KIND_NAMES[k]: KIND_NAMES[paper.TABLE2_STAND_IN[k]]
        for k in grid.real_world
        if k in paper.TABLE2_STAND_IN
    }
    stand_ins = [f"beside {k}: the paper's {v} value" for k, v in stood_for.items()]
    csv = pd.concat(
        [
            long_table(means[f], sds[f], "sensitivity").assign(family=FAMILY_NAMES[f])
            for f in FAMILIES
        ],
        ignore_index=True,
    )[["family", "relation", "kind", "sensitivity_mean", "sensitivity_sd"]]
    md = (
        "## Table 2: how far invariance transfers\n\n"
        "L2 sensitivity of the penultimate representation (0 = invariant, about 1 = as different as "
        "unrelated inputs; lower = more invariant). Same: the model trained on transformation t, "
        "measured on t; Other: the mean of the other types' models on t; None: the model trained "
        "without transformations. Each averaged over the types t = "
        f"{', '.join(grid.types)}; mean ± sd over {n_seeds} seed(s). "
        f"{normalisation_note(training.normalisation)}\n\n"
        "In brackets: the paper's Table 2 (all 18 types, ResNet-18, 10 seeds; its sd over seeds is "
        f"{paper.TABLE2.sds().min().min():.2f} to {paper.TABLE2.sds().max().max():.2f}"
        + "".join(f"; {line}" for line in stand_ins)
        + "; `experiments/paper_reference.py` says where its numbers come from).\n\n"
        + paper.size_line(paper.TRANSFER_SIZES, run_size(n_seeds, grid, data, training, invariance))
        + "\n"
        + "".join(
            f"**{FAMILY_NAMES[f]} models** (pretrained on "
            f"{'objects' if f == 'images' else 'random patterns'})\n\n"
            + markdown_table(
                paper.beside(
                    means[f],
                    sds[f],
                    theirs[f],
                    "{:.3f}",
                    "{:.2f}",
                    labels={k: f"paper {v}" for k, v in stood_for.items()},
                ),
                fmt="{}",
                corner="relation \\ data",
            )
            + "\n"
            for f in FAMILIES
        )
        + findings(means, sds, tidy_table, grid.types)
        + _accuracy_table(pretraining, grid)
    )
    legend = "paper" + "".join(f" ({v} at {k})" for k, v in stood_for.items())
    return csv, md, _bars(means, sds, theirs, legend, n_seeds), tidy_table


def _accuracy_table(pretraining: pd.DataFrame, grid: GridParams) -> str:
    acc = pretraining.assign(
        family=pretraining["family"].map(FAMILY_NAMES), test_acc=pretraining["test_acc"] * 100
    )
    mean, sd = mean_sd(
        acc, "trained_on", "family", "test_acc", list(grid.models()), list(FAMILY_NAMES.values())
    )
    return (
        "\n### Pretraining test accuracy (%)\n\nOn the model's own pretraining task (30-way "
        "classification of its objects resp. patterns under its transformation), mean ± sd over "
        "seeds: a model that has not learned its task has had little reason to become invariant.\n\n"
        + markdown_table(mean, sd, "{:.1f}", corner="trained on \\ family")
    )


def _bars(
    means: dict[str, pd.DataFrame],
    sds: dict[str, pd.DataFrame],
    theirs: dict[str, pd.DataFrame],
    legend: str,
    n_seeds: int,
) -> Figure:
    """Table 2 as bars per family (mean ± sd over seeds), the paper's values (``theirs``) as
    black marks named ``legend``."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(FAMILIES), figsize=(13, 4.2), sharey=True)
    for ax, family in zip(axes, FAMILIES, strict=True):
        mean, sd = means[family], sds[family]
        x = np.arange(len(mean.columns))
        for k, relation in enumerate(RELATIONS):
            ax.bar(
                x + (k - 1) * 0.27,
                mean.loc[relation],
                0.27,
                yerr=sd.loc[relation],
                capsize=3,
                label=relation,
            )
            paper.mark_paper(
                ax,
                x + (k - 1) * 0.27,
                theirs[family].loc[relation, list(mean.columns)].to_numpy(),
                label=legend if k == 0 else "_nolegend_",
            )
        ax.set_xticks(x, mean.columns, rotation=15)
        ax.set_title(f"{FAMILY_NAMES[family]} models", fontsize=10)
        ax.set_ylabel("L2 sensitivity (lower = more invariant)")
        ax.legend(fontsize=8)
    fig.suptitle(
        f"Table 2: invariance transfer, mean ± sd over {n_seeds} seed(s); black: the paper's",
        fontsize=11,
    )
    fig.tight_layout()
    return fig


def heatmaps(sensitivity: pd.DataFrame, grid: GridParams) -> dict[str, Figure]:
    """Figures 16-17: sensitivity of every model (row) to every transformation (column), one
    heatmap per family and kind of data (mean ± sd over seeds)."""
    data = tidy(sensitivity)
    out = {}
    for family in FAMILIES:
        for kind in (*KINDS, *grid.real_world):
            part = data[(data["family"] == family) & (data["kind"] == kind)]
            mean, sd = mean_sd(
                part, "trained_on", "transformation", VALUE, list(grid.models()), grid.types
            )
            out[heatmap_name(family, kind)] = heatmap_figure(
                mean.to_numpy(),
                [f"trained on {m}" for m in mean.index],
                list(mean.columns),
                f"{FAMILY_NAMES[family]} models on {KIND_NAMES[kind]} data\nL2 sensitivity "
                f"(lower = more invariant),\nmean ± sd over {part['seed'].nunique()} seed(s)",
                errors=sd.to_numpy(),
                xlabel="transformation measured",
                ylabel="model",
                fmt="{:.2f}",
                vmin=0.0,
            )
    return out
